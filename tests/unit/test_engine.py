# The CAP engine over an APDU-level scripted card (transport seam), with the
# openauth Identify vector's card answers: the code must be 42511495.
from unitcheck import h, raises
from sesame.reader import app
from sesame.emv import cap, des, tlv
from sesame.errors import NoApplication, PinBlocked, PinWrong, ProtocolError

CDOL1 = "9F02069F03069F1A0295055F2A029A039C019F3704"
IPB = "00001F00000000000FFFFF00000000008000"


def rec(*objs):
    # READ RECORD response template 70 around (tag, hex value) pairs
    body = b"".join(tlv.encode(t, h(v)) for t, v in objs)
    return tlv.encode(0x70, body).hex()


REC1 = rec((0x5A, "5413339000001513"))
REC2 = rec((0x8C, CDOL1), (0x9F56, IPB))
GENAC = "80 12 80 00B4 7F32A79FDA945643 06770A03A48000"


class Card:
    # Answers by command prefix; records every APDU it receives.
    def __init__(self, tries=3, verify_sw="9000"):
        self.log = []
        self.answers = [
            ("00A4040007A0000000038002", "6A82"),
            ("00A4040007A0000000048002", "6F 09 84 07 A0000000048002 9000"),
            ("80A8000002830000", "77 0A 82 02 1000 94 04 08010200 9000"),
            ("00B2010C00", REC1 + " 9000"),
            ("00B2020C00", REC2 + " 9000"),
            ("80CA9F1704", "9F17 01 %02X 9000" % tries),
            ("0020008008", verify_sw),
            ("80AE8000", GENAC + " 9000"),
            ("80AE0000", "80 12 00 00B4 0000000000000000 06770A03A48000 9000"),
        ]

    def transmit(self, apdu):
        x = bytes(apdu).hex().upper()
        self.log.append(x)
        for prefix, reply in self.answers:
            if x.startswith(prefix.replace(" ", "")):
                return h(reply)
        return h("6D00")


def pin(digits):
    b = bytearray(12)
    for i, d in enumerate(digits):
        b[i] = ord(d) - 48
    return b, len(digits)


def test_identify_vector_through_engine():
    card = Card()
    p, n = pin("1234")
    r = cap.Cap(card).run(p, n)
    assert r.code == "42511495"
    assert r.atc == 0xB4 and r.aid == cap.AID_MC_CAP and r.tries == 3 and r.label == b""
    # VERIFY: plaintext PIN block, no Le
    verify = [x for x in card.log if x.startswith("00200080")][0]
    assert verify == "0020008008241234FFFFFFFFFF"
    # first GENERATE AC asks for an ARQC with CDOL1 filled (MasterCard CAP: date 000000)
    gen1 = [x for x in card.log if x.startswith("80AE8000")][0]
    assert gen1 == "80AE80001D" + "00" * 14 + "8000000000" + "0000" + "000000" + "00" + "00000000" + "00"
    # the second one closes with an AAC and ARC Z3 (CDOL1 layout reused here as CDOL2: none)
    assert p == bytearray(12), "PIN buffer wiped"


def test_second_record_cdol_and_close_with_aac():
    card = Card()
    card.answers[4] = ("00B2020C00", rec((0x8C, CDOL1), (0x8D, "8A02 9F3704"), (0x9F56, IPB)) + "9000")
    p, n = pin("1234")
    cap.Cap(card).run(p, n)
    gen2 = [x for x in card.log if x.startswith("80AE0000")][0]
    assert gen2 == "80AE000006" + "5A33" + "00000000" + "00"


def test_wrong_pin_tries_left():
    card = Card(verify_sw="63C2")
    p, n = pin("9999")
    e = raises(PinWrong, cap.Cap(card).run, p, n)
    assert e.tries == 2
    assert "9999" not in str(e)
    assert p == bytearray(12)
    assert not [x for x in card.log if x.startswith("80AE")], "no GENERATE AC after a wrong PIN"


def test_blocked_pin_never_verified():
    card = Card(tries=0)
    p, n = pin("1234")
    raises(PinBlocked, cap.Cap(card).run, p, n)
    assert not [x for x in card.log if x.startswith("0020")]
    assert p == bytearray(12)
    raises(PinBlocked, cap.Cap(Card(verify_sw="6983")).run, *pin("1234"))


def test_no_cap_application():
    card = Card()
    card.answers = []
    raises(NoApplication, cap.Cap(card).run, *pin("1234"))


# -- selection
PSE_SELECT = "00A404000E315041592E5359532E444446303100"
PSE_FCI = "6F 15 84 0E 315041592E5359532E4444463031 A5 03 88 01 02 9000"


def entry(aid, prio):
    e = tlv.encode(0x4F, h(aid)) + tlv.encode(0x50, b"APP") + tlv.encode(0x87, bytes((prio,)))
    return tlv.encode(0x61, e)


def test_known_cap_aids_before_the_pse():
    card = Card()
    d1 = tlv.encode(0x70, entry("A0000000041010", 1)).hex()
    d2 = tlv.encode(0x70, entry("A0000000048002", 2)).hex()
    card.answers[:0] = [(PSE_SELECT, PSE_FCI), ("00B2011400", d1 + "9000"),
                        ("00B2021400", d2 + "9000"), ("00B2031400", "6A83")]
    r = cap.Cap(card).run(*pin("1234"))
    assert r.code == "42511495"
    selects = [x for x in card.log if x.startswith("00A404")]
    # a known CAP AID answers: the PSE is never read
    assert selects == ["00A4040007A000000003800200", "00A4040007A000000004800200"], selects
    assert not [x for x in card.log if x.endswith("1400")]


def test_pse_directory_when_no_known_cap_aid_answers():
    card = Card()
    maestro = "A0000000043060"
    d1 = tlv.encode(0x70, entry("A0000000041010", 2)).hex()
    d2 = tlv.encode(0x70, entry(maestro, 1)).hex()
    card.answers[1] = ("00A4040007A0000000048002", "6A82")
    card.answers[:0] = [(PSE_SELECT, PSE_FCI), ("00B2011400", d1 + "9000"),
                        ("00B2021400", d2 + "9000"), ("00B2031400", "6A83"),
                        ("00A4040007" + maestro, "6F 09 84 07 %s 9000" % maestro)]
    r = cap.Cap(card).run(*pin("1234"))
    assert r.code == "42511495" and r.aid == h(maestro)
    selects = [x for x in card.log if x.startswith("00A404")]
    # CAP AIDs, Bancontact, then the PSE, whose directory says Maestro first (priority 1)
    assert selects == ["00A4040007A000000003800200", "00A4040007A000000004800200",
                       "00A4040008D05600066611101000", PSE_SELECT,
                       "00A4040007%s00" % maestro], selects


def test_candidates_answering_errors_are_skipped():
    # PSE 6D00 (Credit Cooperatif cards), Visa DPA 6A82, MC CAP selects but GPO 6985,
    # Visa payment: 6283 (blocked); Visa Electron works
    card = Card()
    card.answers = [
        (PSE_SELECT, "6D00"),
        ("00A4040007A0000000038002", "6A82"),
        ("00A4040007A0000000048002", "6F 09 84 07 A0000000048002 9000"),
        ("00A4040007A0000000031010", "6283"),
        ("00A4040007A0000000032010", "6F 12 84 07 A0000000032010 A5 07 50 05 5649534145 9000"),
    ]
    log = card.log
    seq = {"gpo": 0}

    def transmit(apdu, base=Card.transmit):
        x = bytes(apdu).hex().upper()
        if x.startswith("80A8"):
            log.append(x)
            seq["gpo"] += 1
            return h("6985") if seq["gpo"] == 1 else h("80 06 1000 08010200 9000")
        return base(card, apdu)

    card.answers += Card().answers[3:]
    card.transmit = transmit
    r = cap.Cap(card).run(*pin("1234"))
    assert r.aid == h("A0000000032010") and r.label == b"VISAE"
    assert r.code == "42511495"
    gen1 = [x for x in log if x.startswith("80AE8000")][0]
    assert gen1[10 + 2 * 21:10 + 2 * 24] == "010101", "Visa AID: date 010101"


def test_pdol_filled_and_gpo_format1_many_sfis():
    card = Card()
    card.answers[1] = ("00A4040007A0000000048002",
                       "6F 11 84 07 A0000000048002 A5 06 9F38 03 9F35 01 9000")
    # AFL: SFI 1 rec 1, SFI 3 recs 1-2; CDOL1 sits in the last one
    card.answers[2] = ("80A8000003830134", "80 0A 1000 08010100 18010200 9000")
    rec31 = tlv.encode(0x70, h("00 00") + tlv.encode(0xDF8101, bytes(200)) + h("FF")
                       + tlv.encode(0x9F55, h("80"))).hex()
    card.answers[3:5] = [("00B2010C00", REC1 + "9000"), ("00B2011C00", rec31 + "9000"),
                         ("00B2021C00", REC2 + "9000")]
    r = cap.Cap(card).run(*pin("1234"))
    assert r.code == "42511495"
    reads = [x for x in card.log if x.startswith("00B2")]
    assert reads == ["00B2010C00", "00B2011C00", "00B2021C00"]


def test_records_read_until_every_needed_tag():
    def run(recs, iaf="80"):
        card = Card()
        card.answers[2] = ("80A8000002830000", "80 06 1000 08010300 9000")
        bodies = [rec((0x8C, CDOL1), (0x8D, "8A02"), (0x9F55, iaf), (0x9F56, IPB)), REC1,
                  rec((0x5F34, "01"))]
        card.answers[3:5] = [("00B2%02X0C00" % (i + 1), bodies[j] + "9000") for i, j in
                             enumerate(recs)]
        cap.Cap(card).run(*pin("1234"))
        return [x for x in card.log if x.startswith("00B2")]

    # CDOL1, CDOL2, IAF and IPB in the first record: records 2 and 3 are never read
    assert run([0, 1, 2]) == ["00B2010C00"]
    # the IAF puts the PSN in the token: read on until it comes
    assert run([0, 1, 2], iaf="C0") == ["00B2010C00", "00B2020C00", "00B2030C00"]
    # they sit in the last record: every record is read
    assert run([1, 2, 0]) == ["00B2010C00", "00B2020C00", "00B2030C00"]


def test_no_cdol1_anywhere():
    card = Card()
    card.answers[4] = ("00B2020C00", rec((0x9F56, IPB)) + "9000")
    raises(NoApplication, cap.Cap(card).run, *pin("1234"))
    assert not [x for x in card.log if x.startswith("0020")], "no VERIFY without an application"


# -- PIN
def test_last_try_asks_for_confirmation():
    from sesame.emv.cap import Cancelled
    asked = []
    card = Card(tries=1)
    p, n = pin("1234")
    e = raises(Cancelled, cap.Cap(card).run, p, n, confirm=lambda: asked.append(1) or False)
    assert asked == [1] and p == bytearray(12)
    assert not [x for x in card.log if x.startswith("0020")], "declined: no VERIFY"
    card = Card(tries=1)
    r = cap.Cap(card).run(*pin("1234"), confirm=lambda: True)
    assert r.code == "42511495" and r.tries == 1
    card = Card(tries=2)
    r = cap.Cap(card).run(*pin("1234"), confirm=lambda: asked.append(2) or False)
    assert asked == [1], "asked only on the last try"


def test_status_words_of_verify():
    e = raises(PinWrong, cap.Cap(Card(verify_sw="63C1")).run, *pin("1111"))
    assert e.tries == 1
    raises(PinBlocked, cap.Cap(Card(verify_sw="63C0")).run, *pin("1111"))
    e = raises(PinBlocked, cap.Cap(Card(verify_sw="6984")).run, *pin("1111"))
    assert "invalid" in str(e) and app.error_text(e) == "PIn OFF"
    e = raises(PinBlocked, cap.Cap(Card(verify_sw="6983")).run, *pin("1111"))
    assert app.error_text(e) == "bLOCKEd"


# -- modes, through the engine with the openauth-sim cards' answers
def test_respond_vector_through_engine():
    card = Card()
    card.answers[7] = ("80AE8000", "80 12 80 00B5 B1FA3935AA491B75 06770A03A48000 9000")
    r = cap.Cap(card).run(*pin("1234"), mode=cap.RESPOND, challenge="11223344")
    assert r.code == "45233899"
    gen1 = [x for x in card.log if x.startswith("80AE8000")][0]
    assert gen1.endswith("11223344" + "00"), "challenge -> UN (BCD)"


def test_sign_vector_through_engine():
    card = Card()
    card.answers[7] = ("80AE8000", "80 12 80 01A4 3F758937C03A6189 06770A03A48000 9000")
    r = cap.Cap(card).run(*pin("1234"), mode=cap.SIGN, challenge="445566", amount="123456")
    assert r.code == "09749267"
    gen1 = [x for x in card.log if x.startswith("80AE8000")][0]
    assert gen1[10:22] == "000000123456", "amount -> 9F02 (BCD cents)"
    assert gen1.endswith("00445566" + "00"), "reference -> UN"


def test_sign_mode2_tds_through_engine():
    card = Card()
    r = cap.Cap(card).run(*pin("1234"), mode=cap.SIGN, data=("1234567890", "42"))
    ac = des.tds(h("7F32A79FDA945643"), ("1234567890", "42"))
    v, _ = cap.extract(cap.token(h("80"), h("00B4"), ac, h("06770A03A48000")), h(IPB))
    assert r.code == cap.code_text(v) and r.code != "42511495"
    gen1 = [x for x in card.log if x.startswith("80AE8000")][0]
    assert gen1 == "80AE80001D" + "00" * 14 + "8000000000" + "0000" + "000000" + "00" + "00000000" + "00"


# -- the python-emv Barclays vectors (DESIGN.md section 7), through the engine
BARCLAYS_IPB = "8000FF000000000001FFFF00000000000000"


def barclays_card(genac, ipb=BARCLAYS_IPB):
    card = Card()
    card.answers[4] = ("00B2020C00", rec((0x8C, CDOL1), *([(0x9F56, ipb)] if ipb else ())) + "9000")
    card.answers[7] = ("80AE8000", genac + " 9000")
    return card


def test_barclays_vectors_through_engine():
    # format 1 (tag 80) and format 2 (tag 77) GENERATE AC responses
    r = cap.Cap(barclays_card("80 12 80 095F 0F9D3798E93F129A 060A0A03A49000")).run(*pin("1234"))
    assert (r.code, r.atc) == ("46076570", 0x095F)
    f2 = "77 1E 9F27 01 80 9F36 02 0016 9F26 08 299CC8F10B9BC830 9F10 07 060B0A03A49000"
    r = cap.Cap(barclays_card(f2)).run(*pin("1234"))
    assert (r.code, r.atc) == ("36554800", 0x0016)


def test_card_without_ipb_uses_static_visa_ipb_long_code():
    genac = "80 12 80 095F 0F9D3798E93F129A 060A0A03A49000"
    r = cap.Cap(barclays_card(genac, ipb=None)).run(*pin("1234"))
    v, bits = cap.extract(h("80 095F 0F9D3798E93F129A 060A0A03A49000"), cap.VISA_IPB)
    assert bits == 33 and r.code == cap.code_text(v)
    assert r.code == "3189717920", "a 10-digit code, shown whole"


def test_verify_apdu_for_4_to_12_digits():
    for digits, block in (("0000", "240000FFFFFFFFFF"), ("123456789012", "2C123456789012FF"),
                          ("12345", "2512345FFFFFFFFF")):
        card = Card()
        cap.Cap(card).run(*pin(digits))
        verify = [x for x in card.log if x.startswith("00200080")]
        assert verify == ["0020008008" + block], verify  # Lc 08, no Le


def test_long_pdol_data_has_a_two_byte_length():
    # 150 bytes of PDOL data: GPO data is 83 81 96 <data> (BER long form), Lc 99
    card = Card()
    card.answers[1] = ("00A4040007A0000000048002", tlv.encode(0x6F, h("84 07 A0000000048002")
                       + tlv.encode(0xA5, tlv.encode(0x9F38, h("DF01 7F DF02 17")))).hex() + "9000")
    card.answers[2] = ("80A80000998381960000", "77 0A 82 02 1000 94 04 08010200 9000")
    r = cap.Cap(card).run(*pin("1234"))
    assert r.code == "42511495"


def test_huge_cdol_is_a_typed_error():
    # CDOL1 asking for 381 bytes (more than a command carries): no ValueError, no MemoryError
    card = Card()
    card.answers[4] = ("00B2020C00", rec((0x8C, "9F02 7F 9F03 7F 9F04 7F"), (0x9F56, IPB)) + "9000")
    raises(ProtocolError, cap.Cap(card).run, *pin("1234"))


def test_a_line_failure_is_not_a_reason_to_try_the_next_application():
    # malformed data skips to the next candidate (above); a broken line ends the run with
    # its own error at once, instead of selecting candidates on a dead line
    card = Card()
    base = card.transmit

    def transmit(apdu):
        if bytes(apdu[:2]) == b"\x80\xA8":
            card.log.append("GPO")
            raise ProtocolError("T=0: unexpected procedure byte")
        return base(apdu)

    card.transmit = transmit
    e = raises(ProtocolError, cap.Cap(card).run, *pin("1234"))
    assert "procedure" in str(e), e
    assert card.log[-1] == "GPO", card.log
