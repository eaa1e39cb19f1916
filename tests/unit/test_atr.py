from unitcheck import h
from sesame import atr


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
