# Card session: ATR reading (both conventions), warm reset, protocol choice, PPS.
from unitcheck import ScriptedLine, h, raises
from sesame.iso7816 import edc
from sesame.errors import CardAbsent, ProtocolError
from sesame.iso7816.inverse import INVERSE
from sesame.iso7816.session import open_session, read_atr
from sesame.iso7816.t0 import T0
from sesame.iso7816.t1 import T1


def inv(hexs):
    return bytes(INVERSE[b] for b in h(hexs)).hex()


class RateLine(ScriptedLine):
    # A line that can run any rate, remembering what it was told.
    def __init__(self, script):
        super().__init__(script)
        self.rate = None
        self.resets = []
        self.proto = None

    def supports_rate(self, f, d):
        return True

    def set_rate(self, f, d):
        self.rate = (f, d)

    def set_protocol(self, t):
        self.proto = t

    def cold_reset(self):
        self.resets.append("cold")
        self.reset = True

    def warm_reset(self):
        self.resets.append("warm")
        self.reset = True


def test_inverse_atr_decoded_by_the_session():
    line = ScriptedLine([("", inv("3F 65 00 00 20 63 CB 68 00"))])
    a, l2 = read_atr(line)
    assert a.valid and a.convention == "inverse", a.errors
    assert a.raw == h("3F 65 00 00 20 63 CB 68 00")
    assert l2 is not line  # the session translates every byte from now on
    l2.write(h("00 B2"))
    assert bytes(line.sent) == bytes(INVERSE[b] for b in h("00 B2"))


def test_t0_card_default_rate():
    line = RateLine([("", "3B 65 00 00 20 63 CB 68 00")])
    a, t = open_session(line)
    assert isinstance(t, T0) and line.rate is None


def test_t1_only_card_gets_t1_and_ifs():
    line = RateLine([("", "3B 80 81 31 FE 45 8B"),
                     (edc.block(0, 0xC1, b"\xfe", False).hex(), edc.block(0, 0xE1, b"\xfe", False).hex())])
    a, t = open_session(line)
    assert isinstance(t, T1) and line.proto == 1


def test_pps_to_ta1():
    line = RateLine([("", "3B 15 96 20 63 CB 68 00"), ("FF 10 96 79", "FF 10 96 79")])
    a, t = open_session(line)
    assert line.rate == (512, 32) and isinstance(t, T0)
    assert t.wwt == 960 * 10 * 32


def test_pps_refused_resets_and_stays_at_default_rate():
    line = RateLine([("", "3B 15 96 20 63 CB 68 00"), ("FF 10 96 79", ""),
                     ("", ""),  # the session lets the line go quiet, then resets
                     ("", "3B 15 96 20 63 CB 68 00")])
    a, t = open_session(line)
    assert line.rate is None and line.resets == ["cold", "warm"]
    assert (a.Fi, a.Di) == (372, 1)


def test_unusable_first_atr_gets_a_warm_reset():
    # a bad TCK first, a good T=0 ATR after the warm reset
    line = RateLine([("", "3B 80 81 31 FE 45 00"), ("", "3B 65 00 00 20 63 CB 68 00")])
    a, t = open_session(line)
    assert line.resets == ["cold", "warm"] and isinstance(t, T0)


def test_3f_card_whose_warm_atr_differs():
    # inverse card, first ATR offers T=14 only: warm reset, direct T=0 ATR
    line = RateLine([("", inv("3F 80 0E 0E")), ("", "3B 65 00 00 20 63 CB 68 00")])
    a, t = open_session(line)
    assert a.convention == "direct" and isinstance(t, T0)


def test_specific_mode_protocol_and_rate():
    # TA1 95, TD1 with TA2 01 (specific mode, T=1, rate from TA1)
    raw = h("3B 90 95 11 01")
    x = 0
    for b in raw[1:]:
        x ^= b
    line = RateLine([("", (raw + bytes((x,))).hex()),
                     (edc.block(0, 0xC1, b"\xfe", False).hex(), edc.block(0, 0xE1, b"\xfe", False).hex())])
    a, t = open_session(line)
    assert a.specific_mode and isinstance(t, T1) and line.rate == (512, 16)


def test_garbage_atr_is_typed_error():
    raises(ProtocolError, open_session, RateLine([("", "12 34"), ("", "12")]))


def test_no_card():
    class Empty(ScriptedLine):
        def present(self):
            return False
    raises(CardAbsent, open_session, Empty([]))


class TimedLine(RateLine):
    # Records the timeout of every read and whether the card was deactivated.
    def __init__(self, script, rates=True):
        super().__init__(script)
        self.timeouts = []
        self.off = 0
        self.guard = None
        self.rates = rates

    def read_byte(self, timeout_etu):
        self.timeouts.append(timeout_etu)
        return super().read_byte(timeout_etu)

    def supports_rate(self, f, d):
        return self.rates

    def set_guard(self, n):
        self.guard = n

    def deactivate(self):
        self.off += 1


def test_atr_timeouts_guard_and_protocol():
    line = TimedLine([("", "3B 65 00 02 20 63 CB 68 00")])  # TC1 = 2
    a, t = open_session(line)
    # first character within 40 000-45 000 clocks (120 etu at F 372), then 9 600 etu,
    # then a quiet line for 20 etu
    assert line.timeouts == [120] + [9600] * 8 + [20]
    assert line.guard == 2 and line.proto == 0 and line.off == 0


def test_silent_card_is_a_timeout_and_deactivated():
    from sesame.errors import CardTimeout
    line = TimedLine([("", "")])
    raises(CardTimeout, open_session, line)
    assert line.off == 1
    line = TimedLine([("", "3B 65 00")])  # stops in the middle of its ATR
    raises(CardTimeout, open_session, line)
    assert line.off == 1


def test_bytes_after_the_atr_are_dropped():
    # a TCK that a T=0-only card sends all the same, a stray byte: never a procedure byte
    line = TimedLine([("", "3B 65 00 00 20 63 CB 68 00 7A 00"), ("00 B2 01 0C 00", "6A 83")])
    a, t = open_session(line)
    assert a.raw == h("3B 65 00 00 20 63 CB 68 00") and a.valid
    assert line.timeouts[-3:] == [20, 20, 20]
    assert t.transmit(h("00B2010C00")) == h("6A83")


def test_a_card_that_keeps_talking_after_its_atr_is_given_up():
    line = TimedLine([("", "3B 65 00 00 20 63 CB 68 00" + " 55" * 40)])
    e = raises(ProtocolError, open_session, line)
    assert "talking" in str(e) and line.off == 1


def test_class_indicator_refuses_a_card_the_board_cannot_supply():
    # ISO 7816-3 8.3: first TA for T=15, bit 1 class A (5 V), bit 2 B (3 V), bit 3 C (1.8 V)
    def session(atr, cls):
        line = TimedLine([("", atr)])
        line.vcc_class = cls
        return line, (lambda: open_session(line))

    line, go = session("3B 80 80 1F 01 1E", 1)  # class A only, on a 3 V (class B) board
    e = raises(ProtocolError, go)
    assert e.msg == "5U CArd" and line.off == 1
    line, go = session("3B 80 80 1F 42 5D", 0)  # class B only on a 5 V board
    assert raises(ProtocolError, go).msg == "3U CArd"
    for atr, cls in (("3B 80 80 1F 03 1C", 1), ("3B 80 80 1F 01 1E", 0),
                     ("3B 65 00 00 20 63 CB 68 00", 1)):  # A and B; A on A; no indicator
        line, go = session(atr, cls)
        a, t = go()
        assert isinstance(t, T0) and line.off == 0


def test_no_pps_when_the_board_cannot_run_the_rate():
    line = TimedLine([("", "3B 15 96 20 63 CB 68 00")], rates=False)  # no PPS expected
    a, t = open_session(line)
    assert line.rate is None and (a.Fi, a.Di) == (372, 1) and isinstance(t, T0)


def test_board_refusing_the_inverse_convention_is_a_clear_error():
    class NoInverse(TimedLine):
        def set_convention(self, inverse):
            raise ProtocolError("inverse convention: not on this board")

    line = NoInverse([("", inv("3F 65 00 00 20 63 CB 68 00"))])
    e = raises(ProtocolError, open_session, line)
    assert "inverse" in str(e) and line.off == 1
