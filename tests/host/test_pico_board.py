"""The Pico board (boards/pico/board.py with its pins.py and firmware/drivers/realboard.py)
under the machine/rp2 stand-ins of tests/host/picosim.py: sleep, wake on a card inserted,
then a transaction with a card on its own clock. MicroPython's rp2 lightsleep wakes with
the build's default clocks (125 MHz, clk_peri = clk_sys: ports/rp2/modmachine.c), which
would leave the card clock (PWM) and the PIO's etu disagreeing and the display's SPI
above the MAX7219's 10 MHz; the board must set them again after each sleep."""

import sys
from pathlib import Path

import pytest

from linesim import Card, script
from picosim import PicoSim, restore_modules, saved_modules

PICO = Path(__file__).resolve().parents[2] / "boards" / "pico"
ATR = bytes.fromhex("3B6500002063CB6600")


@pytest.fixture
def board():
    saved = saved_modules()
    path = list(sys.path)
    sys.path.insert(0, str(PICO))
    sim = PicoSim(present=False)  # booted: the build's 125 MHz, until board.py sets 120
    *_, board_mod = sim.load("drivers.rp2_cardline", "drivers.realboard", "board")
    b = board_mod.make("/nonexistent/config.json")
    yield b, sim
    sys.path[:] = path
    restore_modules(saved)


def test_sleep_wake_on_a_card_then_a_transaction(board):
    b, sim = board
    assert sim.sys_hz == 120_000_000 and sim.buses[0].rate() <= 10e6
    sim.attach(Card(sim.wire, ATR, peer=script((5, b"\xa4"), (7, b"\x90\x00"))))
    slices = []

    def insert_after_three_slices():
        slices.append(sim.clock.now)
        if len(slices) == 3:
            sim.present = True
    sim.on_sleep.append(insert_after_three_slices)
    b.sleep_until_wake()
    assert sim.sleeps == 3
    assert sim.sys_hz == 120_000_000, "clocks not set again after the wake"
    assert sim.buses[0].rate() <= 10e6, "display SPI above the MAX7219's 10 MHz"
    from sesame.iso7816.session import open_session
    atr, t0 = open_session(b.line)
    assert atr.raw == ATR
    assert t0.transmit(bytes.fromhex("00A4040007A0000000038002")) == b"\x90\x00"
    assert sim.pwm_hz == 4_000_000
    assert sim.card.violations == []
