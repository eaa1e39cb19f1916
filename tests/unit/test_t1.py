# T=1 reader side and the shared block codec (ISO 7816-3 section 11).
from unitcheck import ScriptedLine, Ticks, h, raises
from sesame.iso7816 import atr, edc
from sesame.errors import ProtocolError
from sesame.iso7816.t1 import T1

ATR = atr.Atr(h("3B 80 81 31 FE 45 8B"))


def blk(pcb, inf=b"", crc=False):
    return edc.block(0, pcb, inf, crc).hex()


def test_lrc_and_crc():
    b = bytearray(h("00 00 00"))
    assert edc.lrc(b, 0, 3) == 0
    assert edc.crc(bytearray(b"123456789"), 0, 9) == 0x6F91  # CRC-16/X-25 register, unfinalised
    for crc in (False, True):
        raw = edc.block(0, 0x40, b"\x01\x02", crc)
        assert edc.decode(raw, crc) == (0, 0x40, b"\x01\x02")
        bad = raw[:-1] + bytes((raw[-1] ^ 1,))
        assert edc.decode(bad, crc) is None


def test_ifs_then_simple_exchange():
    line = ScriptedLine([(blk(0xC1, b"\xfe"), blk(0xE1, b"\xfe")),
                         (blk(0x00, h("00B2010C00")), blk(0x00, h("7003 9000")))])
    t = T1(line, ATR)
    t.start()
    assert t.transmit(h("00B2010C00")) == h("7003 9000")
    assert (t.ns, t.nr) == (1, 1)


def test_bad_edc_asks_again():
    good = blk(0x00, h("9000"))
    bad = good[:-2] + "%02x" % (int(good[-2:], 16) ^ 0xFF)
    line = ScriptedLine([(blk(0x00, h("00200080")), bad),
                         (blk(0x81), good)])
    t = T1(line, ATR)
    assert t.transmit(h("00200080")) == h("9000")
    assert t.retransmits == 1


def test_wtx_and_card_chaining():
    line = ScriptedLine([(blk(0x00, h("80CA9F1700")), blk(0xC3, b"\x02")),
                         (blk(0xE3, b"\x02"), blk(0x20, h("9F17"))),
                         (blk(0x90), blk(0x40, h("0103 9000")))])
    t = T1(line, ATR)
    assert t.transmit(h("80CA9F1700")) == h("9F17 0103 9000")


def test_reader_chaining_at_ifsc():
    a = atr.Atr(h("3B 80 81 31 04 45") + bytes((0x80 ^ 0x81 ^ 0x31 ^ 0x04 ^ 0x45,)))
    assert a.IFSC == 4, a.errors
    line = ScriptedLine([(blk(0x20, h("00A40400")), blk(0x90)),
                         (blk(0x40, h("02A000")), blk(0x00, h("9000")))])
    t = T1(line, a)
    assert t.transmit(h("00A40400 02A000")) == h("9000")


def test_silent_card_ends_in_typed_error():
    line = ScriptedLine([])
    t = T1(line, ATR)
    raises(ProtocolError, t.transmit, h("00B2010C00"))


def test_lost_answer_then_repeat():
    # the card's answer is lost (silence): R(N(R)=0, other error), the card sends it again
    line = ScriptedLine([(blk(0x00, h("80CA9F1700")), ""),
                         (blk(0x82), blk(0x00, h("9F170103 9000")))])
    t = T1(line, ATR)
    assert t.transmit(h("80CA9F1700")) == h("9F170103 9000")


def test_card_asks_for_our_block_again():
    # the card got our block garbled: R(N(R)=0, EDC error) -> we send the same I-block
    line = ScriptedLine([(blk(0x00, h("80CA9F1700")), blk(0x81)),
                         (blk(0x00, h("80CA9F1700")), blk(0x00, h("6A88")))])
    t = T1(line, ATR)
    assert t.transmit(h("80CA9F1700")) == h("6A88")


def test_card_ifs_request_is_answered():
    line = ScriptedLine([(blk(0x00, h("80CA9F1700")), blk(0xC1, b"\x40")),
                         (blk(0xE1, b"\x40"), blk(0x00, h("9000")))])
    t = T1(line, ATR)
    assert t.transmit(h("80CA9F1700")) == h("9000") and t.ifsc == 0x40


def test_resynch_after_repeated_errors_then_resend():
    bad = blk(0x00, h("9000"))[:-2] + "00"
    script = [(blk(0x00, h("80CA9F1700")), bad)]
    for _ in range(3):
        script.append((blk(0x81), bad))
    script.append((blk(0xC0), blk(0xE0)))  # RESYNCH: both sequence numbers back to 0
    script.append((blk(0x00, h("80CA9F1700")), blk(0x00, h("9000"))))
    t = T1(ScriptedLine(script), ATR)
    assert t.transmit(h("80CA9F1700")) == h("9000")
    assert t.retransmits == 4


def test_crc_blocks():
    a = atr.Atr(h("3B 80 81 71 FE 45 01") + bytes((0x80 ^ 0x81 ^ 0x71 ^ 0xFE ^ 0x45 ^ 0x01,)))
    assert a.edc == "crc", a.errors
    line = ScriptedLine([(blk(0x00, h("00B2010C00"), True), blk(0x00, h("9000"), True))])
    assert T1(line, a).transmit(h("00B2010C00")) == h("9000")


def test_card_that_never_resynchs_is_a_typed_error():
    bad = blk(0x00, h("9000"))[:-2] + "00"
    script = [(blk(0x00, h("80CA9F1700")), bad)]
    for _ in range(3):
        script.append((blk(0x81), bad))
    for _ in range(9):
        script.append((blk(0xC0), bad))
    raises(ProtocolError, T1(ScriptedLine(script), ATR).transmit, h("80CA9F1700"))


def test_pin_block_wiped_from_the_block_buffer():
    verify = h("0020008008 241234FFFFFFFFFF")
    line = ScriptedLine([(blk(0x00, verify), blk(0x00, h("63C2")))])
    tx = bytearray(edc.MAX_BLOCK)
    t = T1(line, ATR, bufs=(tx, bytearray(edc.MAX_BLOCK), bytearray(260)))
    assert t.transmit(verify) == h("63C2")
    assert tx == bytearray(edc.MAX_BLOCK), tx  # nothing of the PIN block is left


def wtx_card(n, m):
    # A card answering READ RECORD with S(WTX request, m), again after each of n grants.
    wtx = blk(0xC3, bytes((m,)))
    return ScriptedLine([(blk(0x00, h("00B2010C00")), wtx)] +
                        [(blk(0xE3, bytes((m,))), wtx)] * n)


def test_endless_wtx_requests_give_up():
    t = T1(wtx_card(80, 1), ATR)
    raises(ProtocolError, t.transmit, h("00B2010C00"))


def test_wtx_multipliers_are_bounded_per_apdu():
    # one large request is granted; the sum over one APDU is bounded (the card cannot
    # stretch the wait forever with ever-new requests)
    line = ScriptedLine([(blk(0x00, h("80CA9F1700")), blk(0xC3, b"\xc8")),
                         (blk(0xE3, b"\xc8"), blk(0x00, h("9F17 0103 9000")))])
    assert T1(line, ATR).transmit(h("80CA9F1700")) == h("9F17 0103 9000")
    e = raises(ProtocolError, T1(wtx_card(2, 100), ATR).transmit, h("00B2010C00"))
    assert "more time" in str(e), e


def test_wtx_is_bounded_in_time_too():
    # small requests, but the card has been working for more than a minute (a clock moving
    # 25 s per reading here)
    t = T1(wtx_card(5, 1), ATR)
    t.ticks = Ticks(25000)
    e = raises(ProtocolError, t.transmit, h("00B2010C00"))
    assert "more time" in str(e) and t.ticks.now == 100000, (e, t.ticks.now)


def test_wtx_during_ifs_request_is_granted_then_the_answer_read():
    line = ScriptedLine([(blk(0xC1, b"\xfe"), blk(0xC3, b"\x02")),
                         (blk(0xE3, b"\x02"), blk(0xE1, b"\xfe"))])
    t = T1(line, ATR)
    t.start()
    assert t.retransmits == 0 and not line.script
