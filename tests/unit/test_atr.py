from unitcheck import h
from sesame.iso7816 import atr


def test_t0_only_no_tck():
    a = atr.Atr(h("3B 65 00 00 20 63 CB 68 00"))
    assert a.valid, a.errors
    assert a.convention == "direct"
    assert a.protocols == [0]
    assert a.tck == "absent"
    assert a.historical == h("20 63 CB 68 00")
    assert (a.Fi, a.Di, a.N, a.WI) == (372, 1, 0, 10)


def test_t1_with_tck_and_interface_bytes():
    # TA1=96 (Fi 512, Di 32), TD1=81 -> T=1, TD2=31 -> TA3 TB3 for T=1, IFSC FE, BWI 4 CWI 5
    body = h("3B F8 96 00 00 81 31 FE 45") + b"JCOP41V2"
    tck = 0
    for b in body[1:]:
        tck ^= b
    a = atr.Atr(body + bytes((tck,)))
    assert a.valid, a.errors
    assert a.protocols == [1]
    assert (a.Fi, a.Di) == (512, 32)
    assert (a.IFSC, a.BWI, a.CWI) == (254, 4, 5)
    assert a.tck == "ok"
    bad = atr.Atr(body + bytes((tck ^ 1,)))
    assert not bad.valid and bad.tck == "bad"


def test_malformed_never_raise():
    for raw in (b"", h("3B"), h("3B 65 00"), h("12 00"), bytes(40), h("3B 80"), h("3B 00 00")):
        a = atr.Atr(raw)
        assert not a.valid, raw


def test_inverse_ts_recognised():
    assert atr.Atr(h("3F 00")).convention == "inverse"


def test_remaining_counts_down_to_zero():
    raw = h("3B 65 00 00 20 63 CB 68 00")
    buf = bytearray(33)
    n = 0
    buf[0] = raw[0]
    n = 1
    while True:
        more = atr.remaining(buf, n)
        if more == 0:
            break
        buf[n] = raw[n]
        n += 1
    assert n == len(raw)
    assert atr.remaining(h("12"), 1) == -1


def _tck(body):
    x = 0
    for b in body[1:]:
        x ^= b
    return body + bytes((x,))


def test_inverse_atr_read_in_direct_convention():
    # 3F 65 00 00 20 63 CB 68 00 sent in the inverse convention, read in the direct one
    from sesame.iso7816.inverse import INVERSE
    raw = bytes(INVERSE[b] for b in h("3F 65 00 00 20 63 CB 68 00"))
    assert raw[0] == 0x03
    a = atr.Atr(raw)
    assert a.valid and a.convention == "inverse", a.errors
    assert a.raw == h("3F 65 00 00 20 63 CB 68 00")
    assert a.historical == h("20 63 CB 68 00")


def test_global_bytes_specific_mode_class_and_t1_defaults():
    # TA1 13 (Fi 372 fmax 5, Di 4), TC1 FF, TD1 -> TA2 11 (specific, T=1, implicit), TC2?
    # no: TD1 = 90 (TA2 + TD2, T=0), TA2 = 11, TD2 = 1F (TA3 for T=15), TA3 = 03 (class AB)
    a = atr.Atr(_tck(h("3B D0 13 FF 90 11 1F 03")))
    assert a.valid, a.errors
    assert (a.Fi, a.Di, a.fmax_mhz, a.N) == (372, 4, 5, 255)
    assert a.specific_mode and a.specific_protocol == 1 and a.specific_implicit
    assert a.class_indicator == 3
    assert (a.IFSC, a.BWI, a.CWI, a.edc) == (32, 4, 13, "lrc")
    assert a.tck == "ok"


def test_t1_crc_and_wi():
    # TD1 = 81? TC2 present: TD1 = C1 -> TC2, TD2 (T=1); TC2 = 14; TD2 = 71 -> TA3 TB3 TC3
    a = atr.Atr(_tck(h("3B 80 C1 14 71 20 55 01")))
    assert a.valid, a.errors
    assert (a.WI, a.IFSC, a.BWI, a.CWI, a.edc) == (20, 0x20, 5, 5, "crc")


def test_reported_malformations():
    assert "bad TS 12" in atr.Atr(h("12 00")).errors
    assert atr.Atr(h("3B 65 00")).errors == ["truncated"]
    long = atr.Atr(h("3B 0F") + bytes(15) + bytes(20))
    assert not long.valid and any("too long" in e or "extra" in e for e in long.errors)
    assert any("reserved TA1" in e for e in atr.Atr(h("3B 10 77")).errors)
    assert "reserved TC2 00" in atr.Atr(h("3B 80 40 00")).errors  # WWT 0: unusable
    assert atr.Atr(_tck(h("3B 80 81 31 FE 45"))[:-1] + b"\x00").tck == "bad"
    assert atr.Atr(h("3B 80 81 31 FE 45")).errors == ["truncated"]  # TCK missing


def test_truncated_atr_keeps_what_came():
    a = atr.Atr(h("3B 9F 96 80 1F C7 80 31 E0"))  # 3 of 15 historical bytes, no TCK
    assert a.errors == ["truncated"] and a.historical == h("80 31 E0")
    assert (a.Fi, a.Di, a.protocols, a.class_indicator) == (512, 32, [0], 7)
    a = atr.Atr(h("3B F8 13 00 00 81 31 FE"))  # TB3 missing: the groups that came
    assert a.errors == ["truncated"] and a.protocols == [1] and a.IFSC == 254
    assert (a.Fi, a.Di) == (372, 4) and a.historical == b""
