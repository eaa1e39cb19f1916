"""The Pico card line driver (firmware/drivers/rp2_cardline.py) as it is, over a state
machine that runs the real PIO program in pioemu, a virtual microsecond clock, stand-in
`machine` pins, and a card model on the simulated I/O line: activation and ATR (direct
and inverse convention), a T=0 exchange, a character the card rejects (repeated), a
character received with a bad parity (error signal, repetition accepted), card removal."""

import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest
from pioemu import ShiftRegister

from sesame.iso7816 import cardchar
from sesame.errors import CardAbsent, CardTimeout, ProtocolError

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import rp2shim  # noqa: E402
from test_pio import E, PROG, Bus, Machine, pio  # noqa: E402

ETU_US = 93.0  # F = 372 at 4 MHz


@pytest.fixture(autouse=True)
def _stand_ins():
    # machine/rp2 stand-ins live in sys.modules only during each test
    names = ("machine", "rp2", "drivers.rp2_cardline", "drivers.cardline", "drivers.card_pio")
    saved = {n: sys.modules.get(n) for n in names}
    path = list(sys.path)
    yield
    for n, m in saved.items():
        if m is None:
            sys.modules.pop(n, None)
        else:
            sys.modules[n] = m
    sys.path[:] = path
    Pin.on_change = None


class Clock:
    def __init__(self):
        self.us = 0.0
        self.sms = []

    def advance(self, us):
        self.us += us
        for sm in self.sms:
            sm.catch_up()


class FakeTime(types.ModuleType):
    def __init__(self, clock):
        super().__init__("time")
        self.c = clock

    def ticks_us(self):
        self.c.advance(2)  # what a loop pass costs the CPU
        return int(self.c.us)

    def ticks_diff(self, a, b):
        return a - b

    def sleep_us(self, us):
        self.c.advance(us)

    def sleep_ms(self, ms):
        self.c.advance(ms * 1000)


class Pin:
    IN, OUT, OPEN_DRAIN, PULL_UP = 0, 1, 2, 1
    levels: dict = {}
    on_change = None

    def __init__(self, n, mode=-1, pull=-1, value=None):
        self.n = n
        if value is not None:
            self.value(value)

    def init(self, mode=-1, pull=-1, value=None):
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return Pin.levels.get(self.n, 1)
        Pin.levels[self.n] = v
        if Pin.on_change:
            Pin.on_change(self.n, v)
        return None


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        assert freq == 4_000_000
        self.on = True

    def deinit(self):
        self.on = False


class StateMachine:
    """rp2.StateMachine over pioemu; time moves with the virtual clock."""

    def __init__(self, clock, bus, card):
        self.clock, self.bus, self.card = clock, bus, card
        self.m = None
        self.on = False

    def __call__(self, sm_id, prog, freq=0, **pins):
        assert prog is PROG and sm_id == 0
        assert len({pins[k] for k in ("in_base", "out_base", "set_base", "jmp_pin")}) == 1
        self.m = Machine(self.bus, pio.RX)
        self.m.state = replace(self.m.state, clock=self._cycles())
        self.m.card_hook = self.card.hook
        self.on = False
        return self

    def _cycles(self):
        return int(self.clock.us * E / ETU_US)

    def catch_up(self):
        if self.m is not None and self.on:
            t = self._cycles()
            if t > self.m.state.clock:
                self.m.run(t)
        elif self.m is not None:
            self.m.state = replace(self.m.state, clock=self._cycles())

    def active(self, v):
        self.catch_up()
        self.on = bool(v)

    def restart(self):
        pass

    def exec(self, instr):
        self.catch_up()
        s = self.m.state
        if instr < 32:
            self.m.state = replace(s, program_counter=instr)
        elif instr == pio.PULL_NOBLOCK:
            fifo = s.transmit_fifo.copy()
            v = fifo.popleft() if fifo else s.x_register
            self.m.state = replace(s, transmit_fifo=fifo, output_shift_register=ShiftRegister(v, 0))
        elif instr == pio.MOV_Y_OSR:
            self.m.state = replace(s, y_register=s.output_shift_register.contents)
        elif instr == pio.MOV_ISR_NULL:
            self.m.state = replace(s, input_shift_register=ShiftRegister(0, 0))
        elif instr == pio.SET_PINS_0:
            pass
        else:
            raise AssertionError(hex(instr))

    def put(self, w):
        self.catch_up()
        assert len(self.m.state.transmit_fifo) < 4
        self.m.put(w)

    def get(self, buf=None, shift=0):
        assert buf is None
        self.catch_up()
        return self.m.get() >> shift

    def rx_fifo(self):
        self.catch_up()
        return len(self.m.state.receive_fifo)


class Card:
    """A card on the bus: answers RST with its ATR, then follows a script of
    (number of characters it expects, reply). nak: byte values whose first transmission
    it rejects; bad: reply byte values it first sends with a wrong parity."""

    def __init__(self, bus, atr, script, inverse=False, nak=(), bad=()):
        self.bus, self.atr, self.script = bus, atr, list(script)
        self.inverse, self.nak, self.bad = inverse, set(nak), set(bad)
        self.queue = []  # levels to send
        self.last = None  # (start, levels, fixed levels) of the last character sent
        self.got = []  # characters accepted from the reader
        self.seen = set()  # reader frame starts already judged
        self.rejected = []
        self.errors_seen = 0

    def rst_high(self, t):
        self.queue = [(t + 50 * E, cardchar.levels(b, self.inverse), b) for b in self.atr]

    def hook(self, t):
        bus = self.bus
        for s, lv in bus.reader_frames(t):  # judge the reader's characters at 10.5 etu
            if s in self.seen or t < s + 84:
                continue
            if self.last and abs(s - self.last[0]) < 10 * E:
                continue  # our own character (and the reader's error signal on it)
            self.seen.add(s)
            b = cardchar.decode(lv, self.inverse)
            if b in self.nak:
                self.nak.discard(b)
                self.rejected.append(b)
                bus.card_low.append((s + 84, s + 96))
                continue
            self.got.append(b)
            if self.script and len(self.got) == self.script[0][0]:
                self.got = []
                _, reply = self.script.pop(0)
                self.queue = [(s + 16 * E, cardchar.levels(x, self.inverse), x) for x in reply]
        if self.last and t >= self.last[0] + 12 * E and bus.reader_driving(self.last[0] + 88):
            # the reader signalled an error on our last character: send it again
            start, _, b = self.last
            self.errors_seen += 1
            self.queue.insert(0, (start + 14 * E, cardchar.levels(b, self.inverse), b))
            self.last = None
        if self.queue and t >= self.queue[0][0] and (self.last is None or t >= self.last[0] + 12 * E):
            _, lv, b = self.queue.pop(0)
            if b in self.bad:
                self.bad.discard(b)
                lv ^= 0x100
            bus.card_sends(lv, t)
            self.last = (t, lv, b)
            if len(self.queue) and self.queue[0][0] < t + 12 * E:
                self.queue[0] = (t + 12 * E,) + self.queue[0][1:]


def make_line(card_factory, present=True):
    clock = Clock()
    bus = Bus()
    card = card_factory(bus)
    sm = StateMachine(clock, bus, card)
    clock.sms.append(sm)
    machine = types.ModuleType("machine")
    machine.Pin, machine.PWM, machine.mem32 = Pin, PWM, {}
    rp2 = rp2shim.install()
    rp2.StateMachine = sm
    sys.modules["machine"] = machine
    sys.path.insert(0, str(HERE.parents[1] / "firmware"))
    sys.modules.pop("drivers.rp2_cardline", None)
    sys.modules.pop("drivers.cardline", None)  # its base class: under this `machine` too
    sys.modules["drivers.card_pio"] = pio
    import drivers.rp2_cardline as mod
    mod.time = sys.modules["drivers.cardline"].time = FakeTime(clock)
    Pin.levels = {}
    line = mod.PioCardLine(2, 3, 4, 5, 6, detect_level=0, vcc_on=0)
    Pin.levels[6] = 0 if present else 1

    def on_change(n, v):
        if n == 4 and v == 1:
            card.rst_high(sm._cycles())
    Pin.on_change = on_change
    return line, card, machine


ATR = bytes.fromhex("3B6500002063CB6600")


def read_atr(line, n):
    return bytes(line.read_byte(120 if i == 0 else 9600) for i in range(n))


def test_activation_atr_and_exchange():
    select = bytes.fromhex("00A404000E")
    line, card, machine = make_line(lambda bus: Card(bus, ATR, [(5, b"\xa4"), (14, b"\x61\x1c")]))
    line.cold_reset()
    assert machine.mem32[0x502000C8] == (1395 << 16)  # exact etu divider
    assert read_atr(line, len(ATR)) == ATR
    assert line.inverse is False
    line.write(select)
    assert line.read_byte(9600) == 0xA4  # procedure byte: send the data
    line.write(b"1PAY.SYS.DDF01")
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x61, 0x1C)
    with pytest.raises(CardTimeout):
        line.read_byte(200)
    assert line.counters.repeats == 0


def test_inverse_convention_card():
    atr = bytes.fromhex("3F6525082204689000")
    line, card, _ = make_line(lambda bus: Card(bus, atr, [(5, b"\x6d\x00")], inverse=True))
    line.cold_reset()
    assert read_atr(line, len(atr)) == atr
    assert line.inverse is True
    line.write(bytes.fromhex("80CA9F1700"))
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x6D, 0x00)
    assert card.errors_seen == 0


def test_rejected_character_is_repeated_and_bad_parity_signalled():
    line, card, _ = make_line(lambda bus: Card(bus, ATR, [(5, b"\x90\x00")], nak={0xCA}, bad={0x90}))
    line.cold_reset()
    read_atr(line, len(ATR))
    line.write(bytes.fromhex("80CA9F1700"))
    assert card.rejected == [0xCA]
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x90, 0x00)
    assert card.errors_seen == 1  # the reader's error signal made the card repeat 90
    assert line.counters.repeats == 2


def test_no_card_and_removal():
    line, card, _ = make_line(lambda bus: Card(bus, ATR, []), present=False)
    with pytest.raises(CardAbsent):
        line.cold_reset()
    Pin.levels[6] = 0
    line.cold_reset()
    read_atr(line, 2)
    Pin.levels[6] = 1  # pulled out
    with pytest.raises(CardAbsent):
        line.read_byte(9600)
    line.deactivate()
    assert Pin.levels[4] == 0 and Pin.levels[5] == 1  # RST low, VCC off


def test_rate_change_after_pps_keeps_the_etu_exact():
    line, card, machine = make_line(lambda bus: Card(bus, ATR, []))
    line.cold_reset()
    read_atr(line, len(ATR))
    line.set_rate(372, 2)  # TA1 = 12 (Fi 372, Di 2)
    assert machine.mem32[0x502000C8] == (697 << 16) | (128 << 8)
    assert line.etu_us == 47  # 46.5 us, rounded up for the timeouts
    line.set_rate(512, 8)
    assert machine.mem32[0x502000C8] == (240 << 16)


def test_t1_mode_no_error_signal_parity_reported_and_block_guard_time():
    # set_protocol(1): a character with a bad parity is not signalled (the card does not
    # repeat it) but reported at once; we answer 22 etu after the card's last start bit
    reply = bytes.fromhex("00E101FE1E")
    line, card, _ = make_line(lambda bus: Card(bus, ATR, [(5, reply), (5, reply)], bad={0xE1}))
    line.cold_reset()
    read_atr(line, len(ATR))
    line.set_protocol(1)
    line.write(bytes.fromhex("00C101FE3E"))
    assert line.read_byte(9600) == 0x00
    with pytest.raises(ProtocolError):
        line.read_byte(9600)  # E1 with a bad parity
    assert [line.read_byte(9600) for _ in range(3)] == [0x01, 0xFE, 0x1E]
    assert card.errors_seen == 0 and line.counters.repeats == 0
    last_card_start = card.last[0]
    line.write(bytes.fromhex("00C101FE3E"))
    first = [s for s, _ in card.bus.reader_frames(10**9) if s > last_card_start][0]
    assert first - last_card_start >= 22 * E
    assert bytes(line.read_byte(9600) for _ in range(5)) == reply


def test_counters_and_rates():
    line, card, _ = make_line(lambda bus: Card(bus, ATR, [(5, b"\x90\x00")], nak={0xCA}))
    line.cold_reset()
    read_atr(line, len(ATR))
    line.set_guard(2)
    line.write(bytes.fromhex("80CA9F1700"))
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x90, 0x00)
    c = line.counters
    assert (c.tx, c.rx, c.repeats) == (6, len(ATR) + 2, 1)  # CA went twice
    assert c.etu == 6 * (13 + 2) + 12 * (len(ATR) + 2)  # the PIO's 13 + N etu a character
    assert line.set_convention(True) is True  # this line does the inverse convention
    assert line.supports_rate(372, 1) and line.supports_rate(512, 16)  # TA1 11, 95
    assert line.supports_rate(372, 12)  # TA1 18
    assert not line.supports_rate(512, 32)  # TA1 96: 16 clocks an etu, too fast a CPU loop
    assert not line.supports_rate(0, 1)
