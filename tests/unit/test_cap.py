# CAP token and digits, against the public vectors of DESIGN.md section 7.
from unitcheck import h, raises
from sesame.emv import cap, des, pse, tlv

BARCLAYS_IPB = h("8000FF000000000001FFFF00000000000000")
OPENAUTH_IPB = h("00001F00000000000FFFFF00000000008000")
OPENAUTH_IAD = h("06770A03A48000")


def code(cid, atc, ac, iad, ipb):
    v, _ = cap.extract(cap.token(h(cid), h(atc), h(ac), iad if isinstance(iad, bytes) else h(iad)), ipb)
    return cap.code_text(v)


def test_python_emv_barclays_format1():
    r = cap.split_genac(h("80 12 80 095F 0F9D3798E93F129A 060A0A03A49000"))
    assert r == (h("80"), h("095F"), h("0F9D3798E93F129A"), h("060A0A03A49000"))
    assert code("80", "095F", "0F9D3798E93F129A", "060A0A03A49000", BARCLAYS_IPB) == "46076570"


def test_python_emv_barclays_format2():
    resp = h("77 1E 9F27 01 80 9F36 02 0016 9F26 08 299CC8F10B9BC830 9F10 07 060B0A03A49000")
    cid, atc, ac, iad = cap.split_genac(resp)
    v, _ = cap.extract(cap.token(cid, atc, ac, iad), BARCLAYS_IPB)
    assert cap.code_text(v) == "36554800"


def test_openauth_vectors():
    assert code("80", "00B4", "7F32A79FDA945643", OPENAUTH_IAD, OPENAUTH_IPB) == "42511495"
    assert code("80", "00B5", "B1FA3935AA491B75", OPENAUTH_IAD, OPENAUTH_IPB) == "45233899"
    assert code("80", "01A4", "3F758937C03A6189", OPENAUTH_IAD, OPENAUTH_IPB) == "09749267"


def test_extract_counts_bits_and_pads():
    v, bits = cap.extract(h("FF00"), h("F00F"))
    assert (v, bits) == (0xF0, 8)
    v, bits = cap.extract(h("FF"), h("FFFF"))  # token shorter than IPB: zeros
    assert (v, bits) == (0xFF00, 16)


def test_psn_only_with_iaf_bit7():
    t = cap.token(h("80"), h("0001"), bytes(8), h("06"), psn=h("02"), iaf=0x40)
    assert t[:2] == h("02 80")
    t = cap.token(h("80"), h("0001"), bytes(8), h("06"), psn=h("02"), iaf=0x80)
    assert t[:1] == h("80")


def test_code_text():
    assert cap.code_text(0) == "00000000"
    assert cap.code_text(9749267) == "09749267"
    assert cap.code_text(1234567890) == "1234567890"


def test_bcd():
    assert cap.bcd("1234", 4) == h("00001234")
    assert cap.bcd("123456", 6) == h("000000123456")
    assert cap.bcd("", 4) == bytes(4)
    assert cap.bcd("123", 2) == h("0123")


def test_terminal_data_per_aid_and_mode():
    v = cap.terminal_data(cap.AID_VISA_DPA)
    assert v[0x9A] == h("010101") and v[0x95] == h("8000000000")
    assert v[0x9F37] == bytes(4) and v[0x9F02] == bytes(6)
    m = cap.terminal_data(cap.AID_MC_CAP, cap.SIGN, "445566", "123456")
    assert m[0x9A] == h("000000")
    assert m[0x9F37] == h("00445566") and m[0x9F02] == h("000000123456")


def test_fill_dol_zero_fills_unknown_tags():
    cdol = [(0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2), (0x9A, 3),
            (0x9C, 1), (0x9F37, 4)]
    d = cap.fill_dol(cdol, cap.terminal_data(cap.AID_MC_CAP, cap.RESPOND, "11223344"))
    assert d == bytes(14) + h("8000000000") + bytes(2) + h("000000") + bytes(1) + h("11223344")
    assert len(d) == 29
    # shorter request: keeps the rightmost bytes; longer: left zero padding
    assert cap.fill_dol([(0x9F37, 2), (0x9F35, 2)], {0x9F37: h("11223344"), 0x9F35: h("34")}) \
        == h("3344 0034")


# -- single DES (Mode-2 TDS), known answers; tests/host/test_modes_des.py compares it
# with an independent DES on random data.
def test_des_known_answers():
    assert des.encrypt(h("133457799BBCDFF1"), h("0123456789ABCDEF")) == h("85E813540F0AB405")
    # FIPS 81 CBC example: "Now is the time for all "
    d = des.DES(h("0123456789ABCDEF"))
    ct = d.cbc(b"Now is the time for all ", iv=h("1234567890ABCDEF"))
    assert ct == h("E5C7CDDE872BF27C 43E934008C389C0F 683788499A7C05F6")
    assert des.cbc_last(h("0123456789ABCDEF"), bytes(8)) == des.encrypt(h("0123456789ABCDEF"), bytes(8))
    raises(ValueError, des.DES, bytes(7))
    raises(ValueError, d.cbc, bytes(5))


def test_tds_data_layout():
    assert des.tds_data(("123", "45")) == h("123F45 80 00000000")
    assert des.tds_data(("1", "2")) == h("1F2F 80 0000000000")
    assert des.tds_data(("1234567890", "123456")) == h("1234567890 F123456F 80 000000000000")
    # exactly 8 bytes of data: the 80 starts a second block
    assert des.tds_data(("1234567890", "12345")) == h("1234567890F12345 8000000000000000")
    t = des.tds(h("0123456789ABCDEF"), ("1",))
    assert t == des.encrypt(h("0123456789ABCDEF"), h("1F80000000000000"))


def test_tds_replaces_ac_before_the_ipb():
    card = {0x9F56: OPENAUTH_IPB}
    ac = h("7F32A79FDA945643")
    plain = cap.code_from(card, h("80"), h("00B4"), ac, OPENAUTH_IAD)
    assert plain == "42511495"
    signed = cap.code_from(card, h("80"), h("00B4"), ac, OPENAUTH_IAD, ("1234", "5678"))
    want, _ = cap.extract(cap.token(h("80"), h("00B4"), des.tds(ac, ("1234", "5678")), OPENAUTH_IAD),
                          OPENAUTH_IPB)
    assert signed == cap.code_text(want) and signed != plain


def test_static_visa_ipb_and_psn_in_code_from():
    ac = h("0F9D3798E93F129A")
    iad = h("060A0A03A49000")
    v, bits = cap.extract(cap.token(h("80"), h("095F"), ac, iad), cap.VISA_IPB)
    assert bits == 33
    assert cap.code_from({}, h("80"), h("095F"), ac, iad) == cap.code_text(v)
    ipb = h("FF") + BARCLAYS_IPB[:-1]  # PSN byte first, then the token
    card = {0x9F56: ipb, 0x9F55: h("C0"), 0x5F34: h("03")}
    v, _ = cap.extract(h("03") + cap.token(h("80"), h("095F"), ac, iad), ipb)
    assert cap.code_from(card, h("80"), h("095F"), ac, iad) == cap.code_text(v)
    card[0x9F55] = h("80")  # IAF b7 clear: no PSN in the token
    v, _ = cap.extract(cap.token(h("80"), h("095F"), ac, iad), ipb)
    assert cap.code_from(card, h("80"), h("095F"), ac, iad) == cap.code_text(v)


def test_candidate_order_prefers_cap_aids():
    visa_pay = h("A0000000031010")
    mc_pay = h("A0000000041010")
    odd = h("A00000004210")
    # tried first, before the PSE is read: the CAP AIDs, then Bancontact
    assert cap.FIRST_AIDS == (cap.AID_VISA_DPA, cap.AID_MC_CAP, h("D056000666111010"))
    # then: the PSE's CAP AIDs (longer than the known ones), its others, the payment AIDs
    o = pse.order_candidates([mc_pay, odd, cap.AID_MC_CAP, h("A000000004800201")])
    assert o[:1] == [h("A000000004800201")]
    assert o[1:3] == [mc_pay, odd]
    assert o[3:] == [visa_pay, h("A0000000032010"), h("A0000000043060")]
    assert pse.order_candidates([]) == list(cap.PAYMENT_AIDS)


def test_date_by_aid_type():
    assert cap.terminal_data(cap.AID_VISA_DPA)[0x9A] == h("010101")
    assert cap.terminal_data(h("A0000000031010"))[0x9A] == h("010101")
    assert cap.terminal_data(cap.AID_MC_CAP)[0x9A] == h("000000")
    assert cap.terminal_data(h("A0000000041010"))[0x9A] == h("000000")


def test_split_genac_format2_checks_lengths():
    from sesame.errors import ProtocolError
    raises(ProtocolError, cap.split_genac, h("77 09 9F27 01 80 9F36 02 0016"))
    raises(ProtocolError, cap.split_genac, h("77 0E 9F27 01 80 9F36 01 16 9F26 04 01020304"))
    raises(ProtocolError, cap.split_genac, h("80 05 8000160102"))
    raises(ProtocolError, cap.split_genac, h("6F 00"))
    raises(ProtocolError, cap.split_genac, b"")


# -- Belgian cards (DESIGN.md section 5, from doegox/EMV-CAP)
def bf0c(nationality="0056", df07=b"BKS056XX"):
    inner = tlv.encode(0x5F2C, h(nationality)) + tlv.encode(0xDF07, df07)
    return tlv.encode(0x6F, tlv.encode(0x84, h("A0000000043060"))
                      + tlv.encode(0xA5, tlv.encode(0x50, b"MAESTRO") + tlv.encode(0xBF0C, inner)))


def test_belgian_card_detection():
    assert cap.belgian(bf0c())
    assert not cap.belgian(bf0c("0250"))  # France
    assert not cap.belgian(bf0c(df07=b"BKS05"))
    assert not cap.belgian(bf0c(df07=b"XKS056"))
    assert not cap.belgian(h("6F 0B 84 07 A0000000043060 A5 00"))
    assert not cap.belgian(h("6F 08 A5 06 BF0C 03 5F2C 81"))  # truncated: not Belgian, no error


def test_belgian_terminal_data():
    for aid in ("D056000666111010", "A0000000043060", "A0000000031010", "A0000000032010"):
        v = cap.terminal_data(h(aid), cap.IDENTIFY, be=True)
        assert (v[0x95], v[0x8A], v[0x9A]) == (h("8000000800"), b"Z1", bytes(3)), aid
        v = cap.terminal_data(h(aid))
        assert (v[0x95], v[0x8A]) == (h("8000000000"), b"Z3"), aid
    # a Belgian card's CAP applications keep the usual values
    v = cap.terminal_data(cap.AID_VISA_DPA, be=True)
    assert (v[0x95], v[0x8A], v[0x9A]) == (h("8000000000"), b"Z3", h("010101"))
    assert cap.terminal_data(h("A0000000043060"), cap.SIGN, "42", "1999", be=True)[0x9F02] \
        == h("000000001999")


def test_belgian_code_function():
    # v = (AC[5..6] & 3FF) << 16 | ATC[1] << 8 | AC[7]; v += (v % 10) * 10^7; v %= 10^8
    def be(atc, ac, data=()):
        return cap.code_from({}, h("80"), h(atc), h(ac) if isinstance(ac, str) else ac, b"",
                             data, True)

    # 0x166 << 16 | 0x2A << 8 | 0x77 = 23472759; + 9 * 10^7 wraps past 8 digits: 13472759
    assert be("002A", "0011223344556677") == "13472759"
    # the high 6 bits of AC[5] and ATC[0] are dropped: 67108863 + 3 * 10^7
    assert be("FFFF", "FFFFFFFFFFFFFFFF") == be("00FF", "000000000003FFFF") == "97108863"
    assert be("0000", "0000000000000000") == "00000000"
    assert be("0000", "0000000000000005") == "50000005"
    # TDS replaces the AC first
    ac = h("7F32A79FDA945643")
    assert be("0001", ac, ("12", "34")) == be("0001", des.tds(ac, ("12", "34")))
    assert be("0001", ac, ("12", "34")) != be("0001", ac)


def test_belgian_code_applies():
    bc, maestro = h("D056000666111010"), h("A0000000043060")
    ipb = {0x9F56: OPENAUTH_IPB}
    assert cap.be_code(bc, ipb, True)  # Bancontact: always, even with an IPB
    assert cap.be_code(maestro, {}, True) and not cap.be_code(maestro, ipb, True)
    assert not cap.be_code(bc, {}, False) and not cap.be_code(maestro, {}, False)
