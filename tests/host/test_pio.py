"""The Pico's card I/O PIO program (firmware/drivers/card_pio.py) in the rp2040-pio-emulator
(`pioemu`), against a card on its own clock (tests/host/linesim.py): the program's cycles
are placed on the card's time line by tests/host/picosim.py (8 cycles an etu, the divider
the driver writes), and the test plays the CPU (put, get, exec).

The words come from evaluating the very `@rp2.asm_pio` function the Pico loads (tests/host/
rp2shim.py), cross-checked against adafruit_pioasm. Emulator limits: no side-set on pin
directions and no IRQ (the program uses neither); `wait pin`/`in pins`/`jmp pin` read
absolute GPIO numbers, so the I/O line is GPIO 0 here (on the board, in_base = jmp_pin =
the I/O pin, which is the same thing relative to the base)."""

from dataclasses import replace

import adafruit_pioasm
import pytest

from sesame.iso7816 import cardchar
from linesim import Card, Clock, Wire, script
from picosim import PROG, Pad, PioRunner, pio

E = pio.CYCLES_PER_ETU
CLK = 4_000_000
ETU = 372 / CLK * 1e9  # ns


def test_program_words_match_an_independent_assembler():
    assert len(PROG.words) <= 32
    assert PROG.words == list(adafruit_pioasm.assemble("\n".join(PROG.text)))


def test_addresses_the_cpu_uses_are_the_labels():
    lb = PROG.labels
    assert (lb["rx"], lb["e_loop"], lb["o_loop"], lb["tx"]) == (pio.RX, pio.E_LOOP, pio.O_LOOP, pio.TX)
    assert PROG.wrap_target == pio.RX


def test_pre_encoded_exec_instructions():
    text = "set pins, 0\nset pindirs, 0\npull noblock\nmov y, osr\nmov isr, null\njmp %d\njmp 0" % pio.TX
    assert list(adafruit_pioasm.assemble(text)) == [
        pio.SET_PINS_0, pio.SET_PINDIRS_0, pio.PULL_NOBLOCK, pio.MOV_Y_OSR, pio.MOV_ISR_NULL,
        pio.TX, pio.RX]


class Rig:
    """One state machine on the line, a card at the other end, the test as the CPU."""

    def __init__(self, pc=pio.RX, y=0, **card):
        self.clock, self.wire = Clock(), Wire()
        self.pad = Pad(self.wire)
        self.pad.to_pio(0.0)
        self.sm = PioRunner(self.clock, self.wire, self.pad)
        self.sm.sys_hz = 120_000_000
        i, frac = cardchar.clkdiv(372, 1, 30, E)
        self.sm.div256 = i * 256 + frac
        self.sm.state = replace(self.sm.state, program_counter=pc, y_register=y)
        self.sm.active(1)
        self.clock.hooks.append(self.sm.run)
        self.clock.hooks.append(self.wire.sense)
        inverse = card.pop("inverse", None)
        self.card = Card(self.wire, b"", **card)
        self.card.inverse = bool(inverse)
        self.card.set_vcc(0.0, True)
        self.card.set_clk(0.0, CLK)
        self.card._listen(0.0)  # as after its ATR
        self.words = []

    def at(self, etu):
        self.clock.set(etu * ETU)
        while self.sm.state.receive_fifo:
            self.words.append(self.sm.get())
        return self.words

    def reader_lows(self):
        return [((a / ETU), (b / ETU)) for a, b in self.wire.low_spans("reader", self.clock.now)]

    def reader_frames(self):
        # start (etu) and 9 levels of each character the reader sent, read mid-bit
        frames, end = [], -1.0
        for a, _ in self.wire.low_spans("reader", self.clock.now):
            if a < end:
                continue
            lv = sum(self.wire.level(a + (i + 1.5) * ETU) << i for i in range(9))
            frames.append((a / ETU, lv))
            end = a + 10 * ETU
        return frames


def transmit(data, guard=0, inverse=False, **card):
    """The CPU side of write(): one character at a time (the extra guard time N before
    each but the first), put again on an error signal (N + 1: 2 etu after it, 7.3)."""
    rig = Rig(pc=pio.TX, y=pio.rx_mode(inverse, True), inverse=inverse, **card)
    acks = []
    t = 1.0
    for i, b in enumerate(data):
        nxt = pio.TX if i < len(data) - 1 else pio.RX
        lv = cardchar.levels(b, inverse)
        word = pio.tx_word(lv, guard if i else 0, nxt)
        for _ in range(5):
            rig.sm.put(word)
            word = pio.tx_word(lv, guard + 1, nxt)
            while not rig.words:
                t += 0.25
                rig.at(t)
            ack = rig.words.pop() >> 31
            acks.append(ack)
            if ack:
                break
            if nxt == pio.RX:  # the SM went on to receive (once the signal ended): back
                while rig.sm.state.program_counter != pio.RX:
                    t += 0.25
                    rig.at(t)
                rig.sm.exec(pio.TX)
    rig.at(t + 30)
    return rig, acks


@pytest.mark.parametrize("guard", [0, 2, 5])
def test_transmitted_frames_bits_parity_and_guard_time(guard):
    data = bytes([0x00, 0xA4, 0x04, 0x00, 0x07, 0xFF])
    rig, acks = transmit(data, guard=guard)
    frames = rig.reader_frames()
    assert [cardchar.decode(lv) for _, lv in frames] == list(data)
    assert rig.card.received == list(data) and rig.card.violations == []
    starts = [s for s, _ in frames]
    for a, b in rig.reader_lows():  # every bit 1 etu: the low intervals are whole etu
        assert abs((b - a) - round(b - a)) < 0.01, (a, b)
    assert all(b - a >= 12 + guard for a, b in zip(starts, starts[1:]))  # ISO 7816-3 7.2
    assert acks == [1] * len(data)
    assert rig.sm.state.program_counter == pio.RX  # listening for the card's answer


def test_listening_at_once_after_the_last_character_whatever_the_guard_time():
    # N applies to what the reader sends, not before it listens: the card may answer 16
    # etu after the reader's last start bit (ISO 7816-3 7.2, 10.2)
    rig, _ = transmit(b"\x80\xca", guard=8, peer=script((2, b"\x61\x1c")), answer_etu=16)
    rig.at(100)
    assert [cardchar.decode(w >> 23) for w in rig.words] == [0x61, 0x1C]
    assert rig.card.sent[0][0] / ETU - rig.reader_frames()[-1][0] == pytest.approx(16)


def test_transmit_inverse_convention():
    data = bytes([0x3F, 0x12, 0x80])
    rig, _ = transmit(data, inverse=True)
    assert [cardchar.decode(lv, True) for _, lv in rig.reader_frames()] == list(data)
    assert rig.card.received == list(data)


@pytest.mark.parametrize("error_etu", [1.0, 2.0])
def test_error_signal_seen_and_character_repeated(error_etu):
    data = bytes([0x80, 0xCA, 0x9F, 0x17])
    rig, acks = transmit(data, nak=(0xCA, 0x17), error_etu=error_etu)
    frames = rig.reader_frames()
    assert [cardchar.decode(lv) for _, lv in frames] == [0x80, 0xCA, 0xCA, 0x9F, 0x17, 0x17]
    assert acks == [1, 0, 1, 1, 0, 1]
    assert rig.card.received == list(data)
    # a repetition starts at least 2 etu after the error signal was detected at 11 etu
    # (ISO 7816-3 7.3), so at least 13 etu after the rejected character
    starts = [s for s, _ in frames]
    for i in (2, 5):
        assert starts[i] - starts[i - 1] >= 13
    assert rig.card.violations == []


def receive(data, y, *, spacing=12.0, skew=0.0, bad=(), t1=False, inverse=None):
    rig = Rig(y=y, spacing=spacing, skew=skew, bad=bad, t1=t1, inverse=inverse)
    rig.card.send(2 * ETU, data)
    for k in range(4 * len(data) + 30):  # the CPU empties the FIFO every 4 etu
        rig.at(2 + 4 * k)
    return rig, [w >> 23 for w in rig.words]


@pytest.mark.parametrize("skew", [0.0, -0.2, 0.2])
@pytest.mark.parametrize("inverse", [False, True])
def test_received_frames_decoded_direct_and_inverse(inverse, skew):
    data = bytes([0x3B, 0x60, 0x00, 0x90, 0x00, 0xFF, 0x61, 0x1C])
    rig, words = receive(data, pio.rx_mode(inverse, True), skew=skew, inverse=inverse)  # 12 etu apart
    assert [cardchar.decode(w, inverse) for w in words] == list(data)
    assert rig.reader_lows() == []  # no error signal on good characters


def test_parity_error_signalled_and_repetition_received():
    rig, words = receive(bytes([0x61, 0x6C, 0x10]), pio.rx_mode(False, True), bad=[0x6C])
    assert [cardchar.decode(w) for w in words] == [0x61, -1, 0x6C, 0x10]
    sigs = rig.reader_lows()
    assert len(sigs) == 1 and rig.card.repeats == 1
    t0 = rig.card.sent[1][0] / ETU
    a, b = sigs[0]
    assert 10.3 <= a - t0 <= 10.7  # 10.5 +- 0.2 etu
    assert 1 <= b - a <= 2  # 1 to 2 etu


@pytest.mark.parametrize("skew", [0.0, -0.2])
def test_an_inverse_atr_read_without_error_signals_keeps_sync_at_12_etu(skew):
    # While the ATR is read the reader does not know the convention: it reads in direct
    # parity sense with no error signal, so every inverse character looks "bad". Those
    # must cost no time: the next start bit can come 12 etu (11.8 with a fast card) later.
    atr = bytes.fromhex("3F6525082204689000")
    rig, words = receive(atr, pio.rx_mode(False, False), skew=skew, inverse=True)
    assert cardchar.convention(words[0]) is True
    assert [cardchar.decode(w, True) for w in words] == list(atr)
    assert rig.reader_lows() == []


def test_t1_a_bad_character_does_not_hide_the_next_at_11_etu():
    # T=1: no error signal; characters may follow each other 11 etu apart (ISO 7816-3 11.2)
    data = bytes([0x00, 0xE1, 0x01, 0xFE])
    rig, words = receive(data, pio.rx_mode(False, False), spacing=11, bad=[0xE1], t1=True)
    assert [cardchar.decode(w) for w in words] == [0x00, -1, 0x01, 0xFE]
    assert rig.reader_lows() == []


def test_a_glitch_shorter_than_half_a_bit_is_no_start_bit():
    for width in (0.1, 0.3, 0.45):
        rig = Rig(y=pio.rx_mode(False, True))
        rig.wire.glitch(5 * ETU, width * ETU)
        assert rig.at(40) == [] and rig.reader_lows() == [], width


def test_the_error_signal_and_the_stored_bit_come_from_one_sample():
    # A short disturbance inside a data bit may flip what the PIO samples there. Whatever
    # it hits, the character the CPU keeps (good parity in the pushed levels) must be
    # exactly one the PIO did not signal, and a character the PIO signalled must be one
    # the CPU drops: else a byte is lost or read twice.
    wrong = []
    for k in range(16, 16 * 10):
        at = k / 16
        rig = Rig(y=pio.rx_mode(False, True))
        rig.card.send(2 * ETU, b"\x55")
        rig.wire.glitch((2 + at) * ETU, 0.1 * ETU)
        rig.at(20)
        kept = [cardchar.decode(w >> 23) >= 0 for w in rig.words]
        signalled = bool(rig.reader_lows())
        if kept != [not signalled]:
            wrong.append(at)
    assert wrong == []


@pytest.mark.parametrize("f,d", [(372, 1), (372, 2), (372, 4), (372, 8), (372, 12), (512, 8), (558, 1)])
def test_clock_divider_gives_an_exact_etu(f, d):
    # Card clock = sysclk / 30 (4 MHz at 120 MHz); SM cycle = etu / 8.
    i, frac = cardchar.clkdiv(f, d, 30, E)
    assert (i * 256 + frac) * d * E == 30 * f * 256
