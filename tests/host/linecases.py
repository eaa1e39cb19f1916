"""Timing cases every real board's card line must pass against the card of linesim.py, run
by tests/host/test_pico_line.py and tests/host/test_esp32_line.py. Each case is the card's
settings and what the reader does; the test then asserts the card saw no timing rule
broken. (The emulated Pico's timing matrix can run the same list.)"""

from sesame.iso7816.session import open_session
from linesim import Supply, script

ATR = bytes.fromhex("3B6500002063CB6600")  # T=0 only: no TCK
WARM = bytes.fromhex("3B6500002063CB6601")
SELECT = bytes.fromhex("00A4040007A0000000038002")
GET = bytes.fromhex("80CA9F1700")


def _tck(atr):
    x = 0
    for b in atr[1:]:
        x ^= b
    return bytes([x])


def read_atr(line, n):
    return bytes(line.read_byte(120 if i == 0 else 9600) for i in range(n))


def _answer(line, want=b"\x6c\x10"):
    assert bytes(line.read_byte(9600) for _ in range(len(want))) == want


def tck_after_a_t0_only_atr(line, card, sim):
    # real T=0-only cards send a TCK the ATR does not announce (DESIGN.md 5): never a
    # procedure byte, never an echo
    atr, t0 = open_session(line)
    assert atr.raw == ATR
    assert t0.transmit(SELECT) == b"\x90\x00" and bytes(card.received) == SELECT


def stray_arriving_as_we_write(line, card, sim):
    # a character after the ATR, still arriving when the reader wants to send: the reader
    # must not send over it (a collision), nor take it for the card's answer
    line.cold_reset()
    read_atr(line, len(ATR))
    sim.clock.advance(10 * card.etu())  # busy elsewhere: the stray starts meanwhile
    line.write(GET)
    _answer(line)
    assert bytes(card.received) == GET


def glitch_at_power_up(line, card, sim):
    # ISO 7816-3 6.2.2: the card's I/O is undefined until 200 clocks after CLK starts
    line.cold_reset()
    assert read_atr(line, len(ATR)) == ATR


def cold_reset_is_a_power_cycle(line, card, sim):
    # VCC falling through the pull-up alone (~100 ms): the reader waits until it is off,
    # else the card keeps its state and gives its warm-reset ATR; and CLK starts once
    # the soft-started VCC is up
    for _ in range(2):
        line.cold_reset()
        assert read_atr(line, len(ATR)) == ATR
    line.warm_reset()
    assert read_atr(line, len(WARM)) == WARM


def pps_turnaround_in_the_old_etu(line, card, sim):
    # PPS to D = 4: the card's answer comes at the old rate; our next character starts 16
    # old etu after its leading edge (16 new etu would be 4 old ones)
    pps = bytes.fromhex("FF1013FC")
    line.cold_reset()
    read_atr(line, len(ATR))
    line.write(pps)
    assert read_atr(line, 4) == pps
    line.set_rate(372, 4)
    line.write(GET)
    _answer(line)


def guard_time(n):
    def run(line, card, sim):
        # TC1 = N: our characters 12 + N etu apart (the card checks), and the card's
        # answer 16 etu after our last start bit still read (N is not waited before
        # listening)
        line.cold_reset()
        read_atr(line, len(ATR))
        line.set_guard(n)
        line.write(GET)
        _answer(line)
    return run


# name: (the card's settings, made afresh for each run: peers and supplies keep state;
# what the reader does)
CASES = {
    "tck-after-t0-only-atr": (lambda: dict(after_atr=_tck(ATR),
                                           peer=script((5, b"\xa4"), (7, b"\x90\x00"))),
                              tck_after_a_t0_only_atr),
    "stray-arriving-as-we-write": (lambda: dict(after_atr=b"\x00", after_atr_gap=20,
                                                peer=script((5, b"\x6c\x10"))),
                                   stray_arriving_as_we_write),
    "glitch-from-vcc-on": (lambda: dict(powerup_low="vcc"), glitch_at_power_up),
    "glitch-from-clk-on": (lambda: dict(powerup_low="clk"), glitch_at_power_up),
    "slow-discharge-soft-start": (lambda: dict(supply=Supply(rise_ns=1e6, fall_ns=100e6),
                                               warm_atr=WARM), cold_reset_is_a_power_cycle),
    "pps-to-d4": (lambda: dict(peer=script((4, bytes.fromhex("FF1013FC"), (372, 4)),
                                           (5, b"\x6c\x10"))), pps_turnaround_in_the_old_etu),
}
for _n in (1, 4, 12):
    CASES["guard-time-%d" % _n] = (
        lambda n=_n: dict(peer=script((5, b"\x6c\x10")), guard_n=n), guard_time(_n))
