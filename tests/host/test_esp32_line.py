"""The ESP32 card line driver (firmware/drivers/esp32_cardline.py) as it is, over a stand-in
UART that works at the level of the line, against a card that keeps its own time
(tests/host/linesim.py): TX drives the I/O contact bit by bit through its diode (start, 8
data bits, parity, 2 stop bits at the UART's baud rate), RX decodes whatever is on the
contact (so it hears our own characters: the echo, when they are on the wire; and a
character of the card's as it comes, or a mix of both in a collision), each character in
the RX FIFO one interrupt latency after its stop bit's middle, parity and framing errors
counted but the character kept (as ESP-IDF does). The card clock is LEDC at 4 MHz; the
CPU's calls take their time on the same clock. The timing cases of tests/host/linecases.py
run here as on the Pico."""

import sys
import types
from pathlib import Path

import pytest

from sesame.errors import CardAbsent, CardTimeout
from linesim import Card, Clock, Wire, script
from linecases import ATR, CASES, read_atr

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
IO_TX, IO_RX, CLK, RST, VCC, DETECT = 17, 16, 25, 26, 27, 4
ISR_NS = 10_000  # UART interrupt and ring buffer, after the stop bit
CALL_NS = 2_000  # a MicroPython call on a 240 MHz ESP32 (interpreter included)


class Esp32Sim:
    def __init__(self, present=True):
        self.clock, self.wire = Clock(), Wire()
        self.card = None
        self.present = present
        self.uart = None
        self.uarts = []
        self.cost = CALL_NS
        self.ticks_extra = 0.0  # more time per ticks_us() reading
        self.levels = {}
        self.clock.hooks.append(self.wire.sense)
        self.machine = self._machine()
        self.time = self._time()

    def tick(self):
        self.clock.advance(self.cost)

    def _time(self):
        sim = self
        mod = types.ModuleType("time")

        def ticks_us():
            sim.clock.advance(sim.cost + sim.ticks_extra)
            return int(sim.clock.now // 1000)

        mod.ticks_us = ticks_us
        mod.ticks_ms = lambda: (sim.tick(), int(sim.clock.now // 1_000_000))[1]
        mod.ticks_diff = lambda a, b: a - b
        mod.sleep_us = lambda us: sim.clock.advance(us * 1000)
        mod.sleep_ms = lambda ms: sim.clock.advance(ms * 1_000_000)
        return mod

    def _machine(self):
        sim = self
        mod = types.ModuleType("machine")

        class Pin:
            IN, OUT, OPEN_DRAIN, PULL_UP = 0, 1, 2, 1

            def __init__(self, n, mode=-1, pull=-1, value=None):
                self.n = n
                self.init(mode, pull, value)

            def init(self, mode=-1, pull=-1, value=None):
                sim.tick()
                if self.n == CLK and mode == 1 and sim.card:
                    sim.card.set_clk(sim.clock.now, 0)
                if self.n == IO_TX and mode == 1:  # TX low pulls I/O low through the diode
                    sim.wire.drive("reader", sim.clock.now, value == 0)
                if value is not None:
                    self._set(value)

            def _set(self, v):
                if sim.levels.get(self.n) != v:
                    sim.levels[self.n] = v
                    c, t = sim.card, sim.clock.now
                    if c and self.n == RST:
                        c.set_rst(t, v)
                    elif c and self.n == VCC:
                        c.set_vcc(t, v == 0)

            def value(self, v=None):
                sim.tick()
                if v is None:
                    if self.n == IO_RX:
                        return sim.wire.sense(sim.clock.now)
                    if self.n == DETECT:
                        return 0 if sim.present else 1
                    return sim.levels.get(self.n, 1)
                if self.n == IO_TX:
                    sim.wire.drive("reader", sim.clock.now, not v)
                self._set(v)
                return None

        class PWM:
            def __init__(self, pin, freq=0, duty_u16=0):
                assert freq == 4_000_000 and pin.n == CLK  # LEDC: 80 MHz APB / 20
                sim.tick()
                if sim.card:
                    sim.card.set_clk(sim.clock.now, freq)

            def deinit(self):
                sim.tick()
                if sim.card:
                    sim.card.set_clk(sim.clock.now, 0)

        mod.Pin, mod.PWM, mod.UART = Pin, PWM, self._uart_class()
        return mod

    def _uart_class(self):
        sim = self

        class UART:
            def __init__(self, uart_id, baudrate, bits, parity, stop, tx, rx, timeout,
                         timeout_char, rxbuf):
                assert timeout_char == 0  # each character delivered at once (see the driver)
                assert (bits, stop, tx, rx) == (8, 2, IO_TX, IO_RX) and parity in (0, 1)
                sim.tick()
                self.baud, self.parity = baudrate, parity
                self.bit = 1e9 / baudrate
                self.tx_free = 0.0
                self.rx_from = sim.clock.now  # look for a start bit from here
                self.fifo = []  # (time available, byte)
                self.parity_errors = self.frame_errors = 0
                self.on = True
                sim.uart = self
                sim.uarts.append(self)
                sim.wire.drive("reader", sim.clock.now, False)  # TX idle high

            def deinit(self):
                sim.tick()
                self.on = False
                sim.wire.drive("reader", sim.clock.now, False)

            def write(self, buf):
                sim.tick()
                w = sim.wire
                for b in bytes(buf):
                    t = max(sim.clock.now, self.tx_free)
                    ones = bin(b).count("1")
                    par = (ones & 1) if self.parity == 0 else 1 - (ones & 1)
                    bits = [0] + [(b >> i) & 1 for i in range(8)] + [par, 1, 1]
                    for i, v in enumerate(bits):
                        w.drive("reader", t + i * self.bit, v == 0)
                    self.tx_free = t + 12 * self.bit
                return len(buf)

            def _decode(self):
                w, now, bit = sim.wire, sim.wire_now(), self.bit
                while self.on:
                    hi = w.first_high(self.rx_from, now)
                    ts = hi is not None and w.first_low(hi, now)
                    if not ts or ts + 10.5 * bit > now:
                        if hi is not None:
                            self.rx_from = hi
                        return
                    if w.level(ts + 0.5 * bit):  # a glitch
                        self.rx_from = ts + 0.5 * bit
                        continue
                    lv = [w.level(ts + (i + 1.5) * bit) for i in range(10)]
                    b = sum(lv[i] << i for i in range(8))
                    if (sum(lv[:9]) + self.parity) & 1:
                        self.parity_errors += 1
                    if not lv[9]:
                        self.frame_errors += 1
                    self.fifo.append((ts + 10.5 * bit + ISR_NS, b))
                    self.rx_from = ts + 10.5 * bit

            def any(self):
                sim.tick()
                self._decode()
                return sum(1 for t, _ in self.fifo if t <= sim.clock.now)

            def read(self):
                sim.tick()
                self._decode()
                out = bytes(b for t, b in self.fifo if t <= sim.clock.now)
                self.fifo = [(t, b) for t, b in self.fifo if t > sim.clock.now]
                return out

            def readinto(self, buf):
                sim.tick()
                t, b = self.fifo.pop(0)
                assert t <= sim.clock.now
                buf[0] = b
                return 1

        return UART

    def wire_now(self):
        self.wire.sense(self.clock.now)
        return self.clock.now


@pytest.fixture
def esp32(monkeypatch):
    def make(present=True, **card):
        sim = Esp32Sim(present)
        monkeypatch.setitem(sys.modules, "machine", sim.machine)
        monkeypatch.syspath_prepend(str(FIRMWARE))
        sys.modules.pop("drivers.esp32_cardline", None)
        sys.modules.pop("drivers.cardline", None)  # its base class: under this `machine` too
        import drivers.esp32_cardline as mod
        mod.time = sys.modules["drivers.cardline"].time = sim.time
        atr = card.pop("atr", ATR)
        sim.card = Card(sim.wire, atr, **card)
        line = mod.UartCardLine(2, IO_TX, IO_RX, CLK, RST, VCC, DETECT)
        return line, sim.card, sim
    yield make
    sys.modules.pop("drivers.esp32_cardline", None)
    sys.modules.pop("drivers.cardline", None)


def reader_starts(sim, after=0.0):
    return [a for a, _ in sim.wire.low_spans("reader", sim.clock.now) if a > after]


def test_atr_and_exchange_with_the_echo_discarded(esp32):
    line, card, sim = esp32(peer=script((5, b"\xa4"), (3, b"\x90\x00")))
    line.cold_reset()
    assert read_atr(line, len(ATR)) == ATR
    line.write(bytes.fromhex("00A4040003"))
    assert line.read_byte(9600) == 0xA4  # not the echo of what we sent
    line.write(b"\x01\x02\x03")
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x90, 0x00)
    with pytest.raises(CardTimeout):
        line.read_byte(100)
    assert line.out[0] == 0  # the write buffer is wiped (a VERIFY carries the PIN)
    assert bytes(card.received) == bytes.fromhex("00A4040003 010203")
    assert card.violations == []  # the 16 etu turnaround kept, no collision


def test_inverse_convention_card_and_removal(esp32):
    from sesame.iso7816.session import open_session

    line, card, sim = esp32(atr=bytes.fromhex("3F6500002063CB6600"),
                            peer=script((5, b"\xa4"), (3, b"\x90\x00")))
    _, t = open_session(line)  # the session wraps the line in its byte table
    # the ATR came in at even parity: every character a parity error, passed on all the
    # same (ESP-IDF only posts an event; the FIFO keeps the character): read through
    atr_uart = sim.uart
    assert atr_uart.parity_errors == len(ATR)
    assert t.transmit(bytes.fromhex("00A4040003 A00000")) == bytes.fromhex("9000")
    assert sim.uart.parity == 1 and card.rejected == []  # every character accepted
    assert sim.uart is not atr_uart and sim.uart.parity_errors == 0
    assert bytes(card.received) == bytes.fromhex("00A4040003 A00000")
    line.deactivate()
    # the next card may be a direct one: even parity again from a cold reset
    line2, card2, sim2 = esp32(peer=script((5, b"\xb2")))
    line2.cold_reset()
    assert read_atr(line2, len(ATR)) == ATR
    line2.write(bytes.fromhex("00B2010C00"))
    assert sim2.uart.parity == 0 and card2.rejected == [] and line2.read_byte(9600) == 0xB2
    line2.deactivate()
    line2.cold_reset()
    sim2.present = False
    with pytest.raises(CardAbsent):
        line2.read_byte(9600)
    line2.deactivate()
    assert sim2.levels[RST] == 0 and sim2.levels[VCC] == 1
    assert card.violations == card2.violations == []


def test_counters_t1_turnaround_and_rates(esp32):
    line, card, sim = esp32(peer=script((5, bytes.fromhex("00E101FE1E"))), guard_n=3, t1=True)
    line.cold_reset()
    read_atr(line, len(ATR))
    line.set_guard(3)
    line.set_protocol(1)
    line.write(bytes.fromhex("00C101FE3E"))
    last = card.sent[-1][0]
    assert reader_starts(sim, last)[0] - last >= 22 * card.etu()  # block guard time
    assert bytes(line.read_byte(9600) for _ in range(5)) == bytes.fromhex("00E101FE1E")
    c = line.counters
    assert (c.tx, c.rx, c.repeats) == (5, len(ATR) + 5, 0)  # the echo is not counted
    assert c.etu == 5 * (12 + 3) + 12 * (len(ATR) + 5)
    assert line.set_convention(False) is True
    assert line.supports_rate(372, 1) and line.supports_rate(512, 32) and line.supports_rate(372, 64)
    assert not line.supports_rate(0, 1) and not line.supports_rate(372, 0)
    assert card.violations == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_timing_case(esp32, name):
    settings, run = CASES[name]
    line, card, sim = esp32(**settings())
    run(line, card, sim)
    assert card.violations == []


def test_no_wait_is_longer_than_a_minute(esp32):
    # a T=1 card's BWT (BWI up to 9) times a WTX of 255 asks for hours; ticks_diff on the
    # 32-bit boards reaches 537 s at most, so an uncapped wait could never time out there
    line, _, sim = esp32()
    line.cold_reset()
    read_atr(line, len(ATR))
    sim.ticks_extra = 1e9  # one second per clock reading
    t = sim.clock.now
    with pytest.raises(CardTimeout):
        line.read_byte(10 ** 9)
    assert 60e9 <= sim.clock.now - t <= 64e9
