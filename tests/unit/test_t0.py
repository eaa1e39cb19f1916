# T=0 reader side against a scripted byte-level card (ISO 7816-3 section 10).
from unitcheck import ScriptedLine, Ticks, h, raises
from sesame.iso7816 import atr
from sesame.errors import CardTimeout, ProtocolError
from sesame.iso7816.t0 import T0

ATR = atr.Atr(h("3B 65 00 00 20 63 CB 68 00"))


def t0(script):
    line = ScriptedLine(script)
    return T0(line, ATR), line


def test_case1_p3_zero():
    t, _ = t0([("80 E6 00 00 00", "90 00")])
    assert t.transmit(h("80E60000")) == h("9000")


def test_case2_wrong_le_resend_with_6cxx():
    # READ RECORD with Le 00 -> 6C 05 -> resend with P3 05 -> ACK + data + SW
    t, _ = t0([("00 B2 01 0C 00", "6C 05"),
               ("00 B2 01 0C 05", "B2 70 03 5A 01 11 90 00")])
    assert t.transmit(h("00B2010C00")) == h("7003 5A0111 9000")


def test_case3_ack_and_null_bytes():
    # VERIFY: no Le; NULL bytes while the card works
    t, line = t0([("00 20 00 80 08", "60 20"),
                  ("24 12 34 FF FF FF FF FF", "60 60 90 00")])
    assert t.transmit(h("0020008008 241234FFFFFFFFFF")) == h("9000")


def test_case4_61xx_get_response():
    t, _ = t0([("00 A4 04 00 07", "A4"),
               ("A0 00 00 00 03 80 02", "61 04"),
               ("00 C0 00 00 04", "C0 6F 02 84 00 90 00")])
    assert t.transmit(h("00A4040007 A0000000038002 00")) == h("6F028400 9000")


def test_case3_61xx_is_the_answer_no_get_response():
    # GENERATE AC sent without Le (the closing AAC, whose answer is unused): the 61xx is
    # returned as is, and nothing more goes to the card (ISO/IEC 7816-3 12.2.3)
    t, line = t0([("80 AE 00 00 02", "AE"), ("5A 33", "61 14")])
    assert t.transmit(h("80AE000002 5A33")) == h("6114")
    assert not line.sent, "no GET RESPONSE"
    # the same command with Le 00 (case 4) fetches the data
    t, _ = t0([("80 AE 00 00 02", "AE"), ("5A 33", "61 02"), ("00 C0 00 00 02", "C0 80 00 90 00")])
    assert t.transmit(h("80AE000002 5A33 00")) == h("8000 9000")


def test_repeated_61xx_accumulates():
    t, _ = t0([("80 A8 00 00 02", "A8"), ("83 00", "61 02"),
               ("00 C0 00 00 02", "C0 80 06 61 02"),
               ("00 C0 00 00 02", "C0 10 00 90 00")])
    assert t.transmit(h("80A8000002 8300 00")) == h("8006 1000 9000")


def test_one_byte_at_a_time_procedure():
    # INS xor FF: send one byte, then wait for the next procedure byte
    t, _ = t0([("00 20 00 80 02", "DF"), ("12", "DF"), ("34", "90 00")])
    assert t.transmit(h("0020008002 1234")) == h("9000")
    t, _ = t0([("00 CA 9F 17 01", "35"), ("", "04 CA"), ("", "90 00")])
    # 35 = CA xor FF: one byte comes; then CA: the rest (none left); then the SW
    assert t.transmit(h("00CA9F1701")) == h("04 9000")


def test_error_status_without_data():
    t, _ = t0([("00 A4 04 00 07", "6A 82")])
    assert t.transmit(h("00A4040007 A0000000048002 00")) == h("6A82")


def test_bad_procedure_byte_is_typed_error():
    t, _ = t0([("00 B2 01 0C 00", "42")])
    raises(ProtocolError, t.transmit, h("00B2010C00"))


def test_silence_is_a_timeout():
    t, _ = t0([("00 B2 01 0C 00", "")])
    raises(CardTimeout, t.transmit, h("00B2010C00"))


def test_endless_61xx_gives_up():
    script = [("00 B2 01 0C 00", "61 01")]
    for _ in range(20):
        script.append(("00 C0 00 00 01", "C0 00 61 01"))
    t, _ = t0(script)
    raises(ProtocolError, t.transmit, h("00B2010C00"))


def test_wwt_from_atr():
    t, _ = t0([])
    assert t.wwt == 9600


def test_ins_xor_01_and_xor_fe_procedure_bytes():
    # INS xor 01 = all remaining; INS xor FE = one byte (ISO 7816-3 10.3.3)
    t, _ = t0([("00 20 00 80 02", "21"), ("12 34", "90 00")])
    assert t.transmit(h("0020008002 1234")) == h("9000")
    t, _ = t0([("00 20 00 80 02", "DE"), ("12", "21"), ("34", "90 00")])
    assert t.transmit(h("0020008002 1234")) == h("9000")


def test_endless_null_bytes_give_up():
    # NULL bytes each buy a work waiting time, but a card sending only those is broken
    # for more than a minute (a clock moving 1 s per NULL here)
    t, _ = t0([("00 B2 01 0C 00", "60" * 70)])
    t.ticks = Ticks(1000)
    e = raises(ProtocolError, t.transmit, h("00B2010C00"))
    assert "more time" in str(e), e
    # fast NULLs are no reason to give up: 500 of them, then the answer
    t, _ = t0([("00 B2 01 0C 01", "60" * 500 + "B2 AA 90 00")])
    assert t.transmit(h("00B2010C01")) == h("AA 9000")


def test_ins_with_nothing_left_is_typed_error():
    # case 1: the card asks for "all remaining bytes" when there are none, forever
    t, _ = t0([("00 20 00 80 00", "20" * 250)])
    raises(ProtocolError, t.transmit, h("00200080"))


def test_last_get_response_round_may_end_the_exchange():
    # the 8th GET RESPONSE round answering 9000 is a normal end, not "keeps answering"
    script = [("00 B2 01 0C 00", "61 01")]
    for _ in range(7):
        script.append(("00 C0 00 00 01", "C0 AA 61 01"))
    script.append(("00 C0 00 00 01", "C0 BB 90 00"))
    t, _ = t0(script)
    assert t.transmit(h("00B2010C00")) == h("AA" * 7 + "BB 9000")
