"""The Pico's card I/O PIO program (firmware/drivers/card_pio.py), run instruction by
instruction in the rp2040-pio-emulator (`pioemu`) against a simulated card on the line.

The words come from evaluating the very `@rp2.asm_pio` function the Pico loads (tests/host/
rp2shim.py), cross-checked against adafruit_pioasm. Emulator limits: no side-set on pin
directions and no IRQ (the program uses neither); `wait pin`/`in pins`/`jmp pin` read
absolute GPIO numbers, so the I/O line is GPIO 0 here (on the board, in_base = jmp_pin =
the I/O pin, which is the same thing relative to the base); `sm.exec()` is modelled by
setting the program counter/registers between runs; the delay cycles of an instruction
are skipped in one step, which matches the silicon (nothing is sampled during a delay)."""

import sys
from dataclasses import replace
from pathlib import Path

import adafruit_pioasm
import pytest
from pioemu import State, emulate

from sesame.iso7816 import cardchar

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "firmware"))
sys.path.insert(0, str(Path(__file__).parent))
import rp2shim  # noqa: E402

pio = rp2shim.load("drivers.card_pio")
PROG = pio.card_io
E = pio.CYCLES_PER_ETU


def test_program_words_match_an_independent_assembler():
    assert len(PROG.words) == 32
    assert PROG.words == list(adafruit_pioasm.assemble("\n".join(PROG.text)))


def test_addresses_the_cpu_uses_are_the_labels():
    lb = PROG.labels
    assert (lb["rx"], lb["e_loop"], lb["o_loop"], lb["tx"]) == (pio.RX, pio.E_LOOP, pio.O_LOOP, pio.TX)
    assert (PROG.wrap_target, PROG.wrap) == (pio.RX, pio.TX - 1)


def test_pre_encoded_exec_instructions():
    text = "set pins, 0\npull noblock\nmov y, osr\nmov isr, null\njmp 20\njmp 0"
    assert list(adafruit_pioasm.assemble(text)) == [
        pio.SET_PINS_0, pio.PULL_NOBLOCK, pio.MOV_Y_OSR, pio.MOV_ISR_NULL, pio.TX, pio.RX]


class Bus:
    """The I/O line: open drain, pulled up; low when the reader's pin drives or the card does."""

    def __init__(self):
        self.reader = [(0, False)]  # (time, driving) transitions of the reader's pin
        self.card_low: list[tuple[int, int]] = []  # [start, end) intervals the card drives low

    def reader_driving(self, t):
        d = False
        for when, drv in self.reader:
            if when > t:
                break
            d = drv
        return d

    def card_driving(self, t):
        return any(a <= t < b for a, b in self.card_low)

    def level(self, t):
        return 0 if self.reader_driving(t) or self.card_driving(t) else 1

    def card_sends(self, lv, start):
        self.card_low.append((start, start + E))  # start bit
        for i in range(9):
            if not (lv >> i) & 1:
                self.card_low.append((start + E * (i + 1), start + E * (i + 2)))

    def reader_low_intervals(self, until):
        out, start = [], None
        for when, drv in self.reader + [(until, False)]:
            if drv and start is None:
                start = when
            elif not drv and start is not None:
                out.append((start, when))
                start = None
        return out

    def reader_frames(self, until):
        # Start times and 9 levels of the characters the reader sent (sampled mid-bit).
        frames, t_end = [], -1
        for a, _ in self.reader_low_intervals(until):
            if a < t_end:
                continue
            lv = sum(self.level(a + E * (i + 1) + E // 2) << i for i in range(9))
            frames.append((a, lv))
            t_end = a + 10 * E
        return frames


class Machine:
    """Runs the program; the test plays the CPU between runs (put/get/exec)."""

    def __init__(self, bus, pc, y=0):
        self.bus = bus
        self.state = State(program_counter=pc, y_register=y, pin_values=0, pin_directions=0)
        self.card_hook = None

    def _input(self, state: State) -> int:
        if self.card_hook:
            self.card_hook(state.clock)
        return self.bus.level(state.clock)

    def run(self, until, stop_on_push=False):
        def stop(_op, s):
            return s.clock >= until or (stop_on_push and len(s.receive_fifo) > 0)
        gen = emulate(PROG.words, stop_when=stop, initial_state=self.state, input_source=self._input,
                      shift_isr_right=True, shift_osr_right=True, out_base=0, out_count=1,
                      set_base=0, set_count=1, jmp_pin=0,
                      wrap_target=PROG.wrap_target, wrap_top=PROG.wrap)
        for prev, cur in gen:
            if (prev.pin_directions & 1) != (cur.pin_directions & 1):
                self.bus.reader.append((prev.clock + 1, bool(cur.pin_directions & 1)))
            self.state = cur
        return self.state

    def get(self):
        fifo = self.state.receive_fifo.copy()
        w = fifo.popleft()
        self.state = replace(self.state, receive_fifo=fifo)
        return w

    def put(self, w):
        fifo = self.state.transmit_fifo.copy()
        fifo.append(w)
        self.state = replace(self.state, transmit_fifo=fifo)

    def jump(self, pc):  # sm.exec("jmp pc")
        self.state = replace(self.state, program_counter=pc)


def transmit(data, guard=0, inverse=False, nak=()):
    """The CPU side of write(): one character at a time, put again on an error signal.
    nak: byte values whose first transmission the card rejects."""
    bus = Bus()
    m = Machine(bus, pio.TX)
    rejected = set()

    def card(t):  # the card checks each character's parity and answers with an error signal
        frames = bus.reader_frames(t)
        for s, lv in frames:
            if t >= s + 10 * E and (s, lv) not in rejected:
                rejected.add((s, lv))
                first = not any(f[0] < s and f[1] == lv for f in frames)
                if cardchar.decode(lv, inverse) in nak and first:
                    bus.card_low.append((s + 84, s + 84 + 12))  # 10.5 etu, 1.5 etu long

    m.card_hook = card
    acks, repeats = [], 0
    for i, b in enumerate(data):
        nxt = pio.TX if i < len(data) - 1 else pio.RX
        word = pio.tx_word(cardchar.levels(b, inverse), guard, nxt)
        while True:
            m.put(word)
            m.run(m.state.clock + 40 * E, stop_on_push=True)
            ack = m.get() >> 31
            acks.append(ack)
            if ack:
                break
            repeats += 1
            assert repeats < 5
            if nxt == pio.RX:  # the SM went on to receive: bring it back after the guard time
                m.run(m.state.clock + (guard + 4) * E)
                m.jump(pio.TX)
    m.run(m.state.clock + 30 * E)
    return bus, m, acks


def test_transmitted_frames_bits_parity_and_guard_time():
    for guard in (0, 2):
        data = bytes([0x00, 0xA4, 0x04, 0x00, 0x07, 0xFF])
        bus, m, acks = transmit(data, guard=guard)
        frames = bus.reader_frames(m.state.clock)
        assert [cardchar.decode(lv) for _, lv in frames] == list(data)
        assert [lv >> 8 for _, lv in frames] == [cardchar.parity(b) for b in data]
        starts = [s for s, _ in frames]
        # start bit exactly 1 etu, every bit 1 etu: the low intervals are multiples of an etu
        for a, b in bus.reader_low_intervals(m.state.clock):
            assert (b - a) % E == 0, (a, b)
        assert {b - a for a, b in zip(starts, starts[1:])} == {(13 + guard) * E}
        assert acks == [1] * len(data)
        assert m.state.program_counter == pio.RX  # listening for the card's answer


def test_transmit_inverse_convention():
    data = bytes([0x3F, 0x12, 0x80])
    bus, m, _ = transmit(data, inverse=True)
    assert [cardchar.decode(lv, True) for _, lv in bus.reader_frames(m.state.clock)] == list(data)


def test_error_signal_seen_and_character_repeated():
    data = bytes([0x80, 0xCA, 0x9F, 0x17])
    bus, m, acks = transmit(data, nak=(0xCA, 0x17))
    frames = bus.reader_frames(m.state.clock)
    got = [cardchar.decode(lv) for _, lv in frames]
    assert got == [0x80, 0xCA, 0xCA, 0x9F, 0x17, 0x17]
    assert acks == [1, 0, 1, 1, 0, 1]
    starts = [s for s, _ in frames]
    # a repetition starts at least 2 etu after the error signal was detected at 11 etu
    # (ISO 7816-3 7.3), and after the signal ended
    for i in (2, 5):
        assert starts[i] - starts[i - 1] >= 13 * E
        assert starts[i] > starts[i - 1] + 96
    assert m.state.program_counter == pio.RX


def receive(chars, mode, start=20, gap=14, repeat_bad=True):
    """The card sends chars (9-level words, possibly with a wrong parity); it repeats a
    character the reader signalled as wrong. Returns the bus and the words pushed."""
    bus = Bus()
    m = Machine(bus, pio.RX, y=mode)
    t = start
    pending = list(chars)
    words, sent = [], []
    while pending:
        lv, fixed = pending.pop(0)
        bus.card_sends(lv, t)
        sent.append(t)
        m.run(t + 12 * E)
        while m.state.receive_fifo:  # the CPU reads each character
            words.append(m.get() >> 23)
        # the card samples the line at 11 etu: low = error signal, repeat (with the fix)
        if repeat_bad and bus.reader_driving(t + 88):
            pending.insert(0, (fixed, fixed))
        t += gap * E
    m.run(t + 4 * E)
    while m.state.receive_fifo:
        words.append(m.get() >> 23)
    return bus, words, sent


def test_received_frames_decoded_direct_and_inverse():
    data = bytes([0x3B, 0x60, 0x00, 0x90, 0x00, 0xFF, 0x61, 0x1C])
    for inverse, entry in ((False, pio.E_LOOP), (True, pio.O_LOOP)):
        chars = [(cardchar.levels(b, inverse), None) for b in data]
        bus, words, _ = receive(chars, entry | pio.SIGNAL, gap=12)  # back to back: 12 etu
        assert [cardchar.decode(w, inverse) for w in words] == list(data)
        assert bus.reader_low_intervals(10 ** 6) == []  # no error signal on good characters


def test_parity_error_signalled_and_repetition_received():
    good = cardchar.levels(0x6C)
    bad = good ^ 0x100  # wrong parity bit
    bus, words, sent = receive([(cardchar.levels(0x61), None), (bad, good), (cardchar.levels(0x10), None)],
                               pio.E_LOOP | pio.SIGNAL)
    assert [cardchar.decode(w) for w in words] == [0x61, -1, 0x6C, 0x10]
    sigs = bus.reader_low_intervals(10 ** 6)
    assert len(sigs) == 1
    a, b = sigs[0]
    t0 = sent[1]
    assert 10.3 * E <= a - t0 <= 10.7 * E  # 10.5 +- 0.2 etu
    assert E <= b - a <= 2 * E  # 1 to 2 etu


def test_inverse_parity_error_and_atr_mode_is_silent():
    bad = cardchar.levels(0x3F, True) ^ 0x001
    bus, words, _ = receive([(bad, cardchar.levels(0x3F, True))], pio.O_LOOP | pio.SIGNAL)
    assert words[0] != words[1] and cardchar.decode(words[1], True) == 0x3F
    assert len(bus.reader_low_intervals(10 ** 6)) == 1
    # While the ATR is read (no SIGNAL bit) an inverse TS seen with direct parity is not flagged.
    ts = cardchar.levels(0x3F, True)
    bus, words, _ = receive([(ts, None)], pio.E_LOOP, repeat_bad=False)
    assert bus.reader_low_intervals(10 ** 6) == []
    assert cardchar.convention(words[0]) is True


@pytest.mark.parametrize("f,d", [(372, 1), (372, 2), (372, 4), (372, 8), (372, 12), (512, 8), (558, 1)])
def test_clock_divider_gives_an_exact_etu(f, d):
    # Card clock = sysclk / 30 (4 MHz at 120 MHz); SM cycle = etu / 8.
    i, frac = cardchar.clkdiv(f, d, 30, E)
    assert (i * 256 + frac) * d * E == 30 * f * 256
