"""The ESP32 card line driver (firmware/drivers/esp32_cardline.py) as it is, over a
stand-in UART whose TX is wired to RX (the echo of the open-drain I/O line) and a card
that answers after the reader's characters: 8E2 at clock/372 baud, the echo read and
discarded, the 16 etu turnaround kept, an inverse-convention card served through the
session's byte table with the UART at odd parity, removal. The card checks the parity of
what it hears, at the level of the line, as a card does."""

import sys
import types
from pathlib import Path

import pytest

from sesame.errors import CardAbsent, CardTimeout, ProtocolError

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


class Clock:
    us = 0


class FakeTime(types.ModuleType):
    def __init__(self, clock):
        super().__init__("time")
        self.c = clock
        self.step = 3  # us per reading: the cost of a loop pass

    def ticks_us(self):
        self.c.us += self.step
        return self.c.us

    def ticks_diff(self, a, b):
        return a - b

    def sleep_us(self, us):
        self.c.us += us

    def sleep_ms(self, ms):
        self.c.us += ms * 1000


class Pin:
    IN, OUT, PULL_UP = 0, 1, 1
    levels: dict = {}

    def __init__(self, n, mode=-1, pull=-1, value=None):
        self.n = n
        if value is not None:
            Pin.levels[n] = value

    def init(self, mode=-1, pull=-1, value=None):
        if value is not None:
            Pin.levels[self.n] = value

    def value(self, v=None):
        if v is None:
            return Pin.levels.get(self.n, 1)
        Pin.levels[self.n] = v
        if self.n == 26 and v == 1 and UART.card:
            UART.card.reset()


class PWM:
    def __init__(self, pin, freq=0, duty_u16=0):
        assert freq == 4_000_000

    def deinit(self):
        pass


class UART:
    """Bytes arrive at their time on the line: one character = 12 etu (8E2)."""
    card = None
    clock = Clock()

    def __init__(self, uart_id, baudrate, bits, parity, stop, tx, rx, timeout, timeout_char,
                 rxbuf):
        assert timeout_char == 0  # each character delivered at once (see the driver)
        assert (bits, stop) == (8, 2) and parity in (0, 1)  # 8 data bits, parity, 2 stop bits
        assert baudrate == 10753  # 4 MHz / 372
        self.parity = parity  # 0 even, 1 odd
        self.rx_parity_errors = 0  # characters passed on all the same, as ESP-IDF does
        self.etu = 1_000_000 / baudrate
        self.rx = []  # (time available, byte)
        self.line_free = 0
        UART.current = self

    def deinit(self):
        pass

    def write(self, buf):
        for b in bytes(buf):
            t = max(self.clock.us, self.line_free)
            self.line_free = t + 12 * self.etu
            self.rx.append((t + 10.5 * self.etu, b))  # the echo
            UART.card.heard(b, t, self)

    def card_sends(self, data, start, inverse=False):
        # the card's parity bit: an even number of high levels among data and parity
        # (direct), of low levels (inverse); this UART checks its own setting
        t = max(start, self.line_free)
        for b in data:
            ones = high_levels(b, 1 if inverse else 0)
            if (ones + self.parity) & 1:  # even: odd count; odd: even count = an error
                self.rx_parity_errors += 1
            self.rx.append((t + 10.5 * self.etu, b))
            t += 12 * self.etu
        self.line_free = t

    def any(self):
        return sum(1 for t, _ in self.rx if t <= self.clock.us)

    def read(self):
        out = bytes(b for t, b in self.rx if t <= self.clock.us)
        self.rx = [(t, b) for t, b in self.rx if t > self.clock.us]
        return out

    def readinto(self, buf):
        t, b = self.rx.pop(0)
        assert t <= self.clock.us
        buf[0] = b
        return 1


def high_levels(b, parity):
    """High levels among a character's 8 data bits and the parity bit the UART adds."""
    ones = bin(b).count("1")
    return ones + (ones & 1 if parity == 0 else 1 - (ones & 1))


class Card:
    """Answers script[i][1] (raw bytes, as they go on the line) once it has accepted
    script[i][0] characters. A direct card accepts a character with an even number of
    high levels among data and parity; an inverse one an even number of low levels."""

    def __init__(self, atr, script, inverse=False):
        self.atr, self.script, self.got, self.starts = atr, list(script), [], []
        self.inverse, self.rejected, self.heard_all = inverse, [], []

    def reset(self):
        UART.current.card_sends(self.atr, UART.clock.us + 50 * 93, self.inverse)

    def heard(self, b, start, uart):
        self.starts.append(start)
        self.heard_all.append(b)
        if (9 - high_levels(b, uart.parity) if self.inverse else high_levels(b, uart.parity)) & 1:
            self.rejected.append(b)  # its error signal, which this board cannot see
            return
        self.got.append(b)
        if self.script and len(self.got) == self.script[0][0]:
            self.got = []
            uart.card_sends(self.script.pop(0)[1], start + 16 * uart.etu, self.inverse)


@pytest.fixture
def line_for(monkeypatch):
    def make(card):
        machine = types.ModuleType("machine")
        machine.Pin, machine.PWM, machine.UART = Pin, PWM, UART
        monkeypatch.setitem(sys.modules, "machine", machine)
        monkeypatch.syspath_prepend(str(FIRMWARE))
        sys.modules.pop("drivers.esp32_cardline", None)
        sys.modules.pop("drivers.cardline", None)  # its base class: under this `machine` too
        import drivers.esp32_cardline as mod
        mod.time = sys.modules["drivers.cardline"].time = FakeTime(UART.clock)
        UART.card = card
        Pin.levels = {4: 0}
        return mod.UartCardLine(2, 17, 16, 25, 26, 27, 4)
    yield make
    sys.modules.pop("drivers.esp32_cardline", None)
    sys.modules.pop("drivers.cardline", None)
    UART.card = None


ATR = bytes.fromhex("3B6500002063CB6600")


def test_atr_and_exchange_with_the_echo_discarded(line_for):
    card = Card(ATR, [(5, b"\xa4"), (3, b"\x90\x00")])
    line = line_for(card)
    line.cold_reset()
    assert bytes(line.read_byte(120 if i == 0 else 9600) for i in range(len(ATR))) == ATR
    t_last = UART.clock.us
    line.write(bytes.fromhex("00A4040003"))
    assert card.starts[0] - t_last >= 5 * 93  # turnaround after the card's last character
    assert line.read_byte(9600) == 0xA4  # not the echo of what we sent
    line.write(b"\x01\x02\x03")
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x90, 0x00)
    with pytest.raises(CardTimeout):
        line.read_byte(100)
    assert line.out[0] == 0  # the write buffer is wiped (a VERIFY carries the PIN)


def test_inverse_convention_card_and_removal(line_for):
    from sesame.iso7816.inverse import INVERSE
    from sesame.iso7816.session import open_session

    def raw(hexs):  # what an inverse card's characters are on the line, read LSB first
        return bytes(INVERSE[b] for b in bytes.fromhex(hexs))

    atr = raw("3F6500002063CB6600")
    assert atr[0] == 0x03  # TS 3F, as this UART reads it
    card = Card(atr, [(5, raw("A4")), (3, raw("9000"))], inverse=True)
    line = line_for(card)
    _, t = open_session(line)  # the session wraps the line in its byte table
    # the ATR came in at even parity: every character a parity error, passed on all the
    # same (ESP-IDF only posts an event; the FIFO keeps the character): read through
    atr_uart = UART.current
    assert atr_uart.rx_parity_errors == len(atr), atr_uart.rx_parity_errors
    assert t.transmit(bytes.fromhex("00A4040003 A00000")) == bytes.fromhex("9000")
    assert UART.current.parity == 1 and card.rejected == []  # every character accepted
    assert UART.current is not atr_uart and UART.current.rx_parity_errors == 0
    assert bytes(INVERSE[b] for b in card.heard_all) == bytes.fromhex("00A4040003 A00000")
    line.deactivate()
    # the next card may be a direct one: even parity again from a cold reset
    card2 = Card(ATR, [(5, b"\xb2"), (0, b"")])
    UART.card = card2
    line.cold_reset()
    assert bytes(line.read_byte(120 if i == 0 else 9600) for i in range(len(ATR))) == ATR
    line.write(bytes.fromhex("00B2010C00"))
    assert UART.current.parity == 0 and card2.rejected == [] and line.read_byte(9600) == 0xB2
    line.deactivate()
    line.cold_reset()
    Pin.levels[4] = 1
    with pytest.raises(CardAbsent):
        line.read_byte(9600)
    line.deactivate()
    assert Pin.levels[26] == 0 and Pin.levels[27] == 1


def test_counters_t1_turnaround_and_rates(line_for):
    card = Card(ATR, [(5, bytes.fromhex("00E101FE1E"))])
    line = line_for(card)
    line.cold_reset()
    for i in range(len(ATR)):
        line.read_byte(120 if i == 0 else 9600)
    line.set_guard(3)
    line.set_protocol(1)
    t_last = UART.clock.us
    line.write(bytes.fromhex("00C101FE3E"))
    # the ATR's last character was read ~11 etu after its start bit: 22 etu between starts
    assert card.starts[0] - (t_last - 11 * 93) >= 22 * 93
    assert bytes(line.read_byte(9600) for _ in range(5)) == bytes.fromhex("00E101FE1E")
    c = line.counters
    assert (c.tx, c.rx, c.repeats) == (5, len(ATR) + 5, 0)  # the echo is not counted
    assert c.etu == 5 * (12 + 3) + 12 * (len(ATR) + 5)
    assert line.set_convention(False) is True
    assert line.supports_rate(372, 1) and line.supports_rate(512, 32) and line.supports_rate(372, 64)
    assert not line.supports_rate(0, 1) and not line.supports_rate(372, 0)


def test_no_wait_is_longer_than_a_minute(line_for):
    # a T=1 card's BWT (BWI up to 9) times a WTX of 255 asks for hours; ticks_diff on the
    # 32-bit boards reaches 537 s at most, so an uncapped wait could never time out there
    line = line_for(Card(ATR, []))
    line.cold_reset()
    for i in range(len(ATR)):
        line.read_byte(120 if i == 0 else 9600)
    sys.modules["drivers.cardline"].time.step = 1_000_000  # one second per reading
    t = UART.clock.us
    with pytest.raises(CardTimeout):
        line.read_byte(10 ** 9)
    assert 60e6 <= UART.clock.us - t <= 62e6
