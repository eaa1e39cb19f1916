"""The Pico card line driver (firmware/drivers/rp2_cardline.py) as it is, over the real PIO
program in pioemu and stand-in `machine`/`rp2`/`time` whose time is the card's clock
(tests/host/picosim.py), against a card that keeps its own time (tests/host/linesim.py):
activation and ATR (direct and inverse convention), T=0 exchanges, characters rejected and
repeated both ways, removal, PPS rates, T=1 rules, and the timing cases of
tests/host/linecases.py (what a real card does that a card following the reader never
did: bytes after the ATR, a glitch at power-up, an answer 16 etu after our last start bit
whatever the guard time, a slow supply). Every test ends with the card's list of the
reader's timing violations empty."""

import pytest

from sesame.errors import CardAbsent, CardTimeout, ProtocolError
from linesim import Card, script
from linecases import ATR, CASES, read_atr
from picosim import PicoSim, restore_modules, saved_modules

SELECT = bytes.fromhex("00A404000E")


@pytest.fixture(autouse=True)
def _stand_ins():
    saved = saved_modules()
    yield
    restore_modules(saved)


def make_line(present=True, tda8024=False, **card):
    sim = PicoSim(sys_hz=120_000_000, present=present)
    (mod,) = sim.load("drivers.rp2_cardline")
    atr = card.pop("atr", ATR)
    c = sim.attach(Card(sim.wire, atr, **card))
    line = mod.PioCardLine(2, 3, 4, 5, 6, detect_level=0, vcc_on=0, tda8024=tda8024)
    return line, c, sim


def ok(card):
    assert card.violations == []


def test_activation_atr_and_exchange():
    line, card, sim = make_line(peer=script((5, b"\xa4"), (14, b"\x61\x1c")))
    line.cold_reset()
    assert sim.machine.mem32[0x502000C8] == (697 << 16) | (128 << 8)  # exact etu divider
    assert read_atr(line, len(ATR)) == ATR
    assert line.inverse is False
    line.write(SELECT)
    assert line.read_byte(9600) == 0xA4  # procedure byte: send the data
    line.write(b"1PAY.SYS.DDF01")
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x61, 0x1C)
    with pytest.raises(CardTimeout):
        line.read_byte(200)
    assert line.counters.repeats == 0 and bytes(card.received) == SELECT + b"1PAY.SYS.DDF01"
    ok(card)


@pytest.mark.parametrize("skew", [-0.2, 0.2])
def test_inverse_convention_card(skew):
    atr = bytes.fromhex("3F6525082204689000")
    line, card, _ = make_line(atr=atr, peer=script((5, b"\x6d\x00")), skew=skew)
    line.cold_reset()
    assert read_atr(line, len(atr)) == atr
    assert line.inverse is True
    line.write(bytes.fromhex("80CA9F1700"))
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x6D, 0x00)
    assert card.repeats == 0 and card.rejected == []
    ok(card)


@pytest.mark.parametrize("error_etu", [1.0, 2.0])
def test_rejected_character_is_repeated_and_bad_parity_signalled(error_etu):
    line, card, _ = make_line(peer=script((5, b"\x90\x00")), nak=[0xCA], bad=[0x90],
                              error_etu=error_etu)
    line.cold_reset()
    read_atr(line, len(ATR))
    line.write(bytes.fromhex("80CA9F1700"))
    assert card.rejected == [0xCA]
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x90, 0x00)
    assert card.repeats == 1  # the reader's error signal made the card repeat 90
    assert line.counters.repeats == 2
    ok(card)


def test_the_last_character_rejected_is_repeated_too():
    line, card, _ = make_line(peer=script((5, b"\x90\x00")), nak=[0x00], error_etu=2.0)
    line.cold_reset()
    read_atr(line, len(ATR))
    line.write(bytes.fromhex("80CA9F1700"))
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x90, 0x00)
    assert card.received == list(bytes.fromhex("80CA9F1700")) and card.rejected == [0]
    ok(card)


def test_repetitions_per_character_are_bounded_as_emv_says():
    # EMV 4.3 Book 1 9.2.2: a character is repeated at most 3 times, then the reader gives up
    line, card, _ = make_line(peer=script((5, b"\x90\x00")), nak=[0xCA] * 5)
    line.cold_reset()
    read_atr(line, len(ATR))
    with pytest.raises(ProtocolError):
        line.write(bytes.fromhex("80CA9F1700"))
    assert card.rejected == [0xCA] * 4
    line, card, _ = make_line(peer=script((5, b"\x90\x00")), bad=[0x90] * 5)
    line.cold_reset()
    read_atr(line, len(ATR))
    line.write(bytes.fromhex("80CA9F1700"))
    with pytest.raises(ProtocolError):
        line.read_byte(9600)
    assert line.counters.repeats == 4  # 4 transmissions of 90 read, then it gave up


def test_no_card_and_removal():
    line, card, sim = make_line(present=False)
    with pytest.raises(CardAbsent):
        line.cold_reset()
    sim.present = True
    line.cold_reset()
    read_atr(line, 2)
    sim.present = False  # pulled out
    with pytest.raises(CardAbsent):
        line.read_byte(9600)
    line.deactivate()
    assert sim.levels[4] == 0 and sim.levels[5] == 1  # RST low, VCC off


def test_rate_change_after_pps_keeps_the_etu_exact():
    line, card, sim = make_line()
    line.cold_reset()
    read_atr(line, len(ATR))
    line.set_rate(372, 2)  # TA1 = 12 (Fi 372, Di 2)
    assert sim.machine.mem32[0x502000C8] == (348 << 16) | (192 << 8)
    assert line.etu_us == 47  # 46.5 us, rounded up for the timeouts
    line.set_rate(512, 8)
    assert sim.machine.mem32[0x502000C8] == (120 << 16)


def test_t1_mode_no_error_signal_parity_reported_and_block_guard_time():
    # set_protocol(1): a character with a bad parity is not signalled (the card does not
    # repeat it) but reported at once; we answer 22 etu after the card's last start bit
    reply = bytes.fromhex("00E101FE1E")
    line, card, sim = make_line(peer=script((5, reply), (5, reply)), bad=[0xE1], t1=True,
                                spacing=11)
    line.cold_reset()
    read_atr(line, len(ATR))
    line.set_protocol(1)
    line.write(bytes.fromhex("00C101FE3E"))
    assert line.read_byte(9600) == 0x00
    with pytest.raises(ProtocolError):
        line.read_byte(9600)  # E1 with a bad parity
    assert [line.read_byte(9600) for _ in range(3)] == [0x01, 0xFE, 0x1E]
    assert card.repeats == 0 and line.counters.repeats == 0
    last_card_start = card.sent[-1][0]
    line.write(bytes.fromhex("00C101FE3E"))
    first = [a for a, _ in sim.wire.low_spans("reader", sim.clock.now) if a > last_card_start][0]
    assert first - last_card_start >= 22 * card.etu()
    assert bytes(line.read_byte(9600) for _ in range(5)) == reply
    ok(card)


def test_counters_and_rates():
    line, card, _ = make_line(peer=script((5, b"\x90\x00")), nak=[0xCA], guard_n=2)
    line.cold_reset()
    read_atr(line, len(ATR))
    line.set_guard(2)
    line.write(bytes.fromhex("80CA9F1700"))
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x90, 0x00)
    c = line.counters
    assert (c.tx, c.rx, c.repeats) == (6, len(ATR) + 2, 1)  # CA went twice
    assert c.etu == 6 * (12 + 2) + 12 * (len(ATR) + 2)
    assert line.set_convention(True) is True  # this line does the inverse convention
    assert line.supports_rate(372, 1) and line.supports_rate(512, 16)  # TA1 11, 95
    assert line.supports_rate(372, 12)  # TA1 18
    assert not line.supports_rate(512, 32)  # TA1 96: 16 clocks an etu, too fast a CPU loop
    assert not line.supports_rate(0, 1)
    ok(card)


@pytest.mark.parametrize("name", sorted(CASES))
def test_timing_case(name):
    settings, run = CASES[name]
    line, card, sim = make_line(**settings())
    run(line, card, sim)
    ok(card)


def test_the_io_pin_never_feeds_an_unpowered_card():
    line, card, sim = make_line()
    line.cold_reset()
    read_atr(line, len(ATR))
    line.deactivate()
    line.cold_reset()
    line.deactivate()
    assert all(p != "up" for _, p in sim.pad.pulls)


def test_activation_refused_when_the_system_clock_is_not_120_mhz():
    line, card, sim = make_line()
    sim.machine.lightsleep(10)  # the build's default clocks come back (125 MHz)
    with pytest.raises(ProtocolError):
        line.cold_reset()
    assert card.atrs == 0


def test_no_garbage_collection_while_the_card_may_send():
    """A collection stops the CPU for ~4 ms (picosim.GC_NS), longer than the 4-word RX FIFO
    lasts at D = 4: the line turns main.py's allocation threshold off while it is active,
    collects at activation and before a command when the heap runs low (the card waits
    for us then), and gives the threshold back at deactivation."""
    line, card, sim = make_line(peer=script(*[(5, b"\x90\x00")] * 80))
    gc = sim.gc
    line.cold_reset()
    assert gc.level == -1 and gc.collections == 1  # off, and a clean heap to start
    read_atr(line, len(ATR))
    step = 4096  # what the reader allocates per command, at most (rp2_cardline)
    for _ in range(80):
        line.write(bytes.fromhex("80CA9F1700"))
        assert gc.free >= 16_384  # never sent short of room: the collection came before
        assert (line.read_byte(9600), line.read_byte(9600)) == (0x90, 0x00)
        gc.free -= step
    assert gc.collections >= 3  # 80 x 4 KB from 150 KB: collected on the way
    assert gc.asked <= 12, gc.asked  # gc.mem_free() walks the heap: not before every command
    line.deactivate()
    assert gc.level == 2048
    ok(card)


def test_a_slow_reader_hook_is_not_a_silent_card():
    """The reader's on_wait (its keypad scan and test link, drivers/cardline.py) may take
    milliseconds: longer than the short wait for a sent character's verdict (40 etu). A
    character that came meanwhile is taken, not reported as a silent card, and the hook is
    called at most every 20 ms (here while the card takes 500 etu, 46 ms, to answer)."""
    line, card, sim = make_line(peer=script((5, b"\xa4"), (14, b"\x61\x1c")), answer_etu=500)
    calls = []

    def hook():
        calls.append(sim.clock.now)
        sim.clock.advance(5_000_000)  # 5 ms: a slow key scan

    line.on_wait = hook
    line.cold_reset()
    read_atr(line, len(ATR))
    line.write(SELECT)
    assert line.read_byte(9600) == 0xA4
    line.write(b"1PAY.SYS.DDF01")
    assert (line.read_byte(9600), line.read_byte(9600)) == (0x61, 0x1C)
    assert calls and all(b - a >= 20_000_000 for a, b in zip(calls, calls[1:]))
    ok(card)
