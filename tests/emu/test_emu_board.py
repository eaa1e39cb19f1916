"""The emulated Pico with MicroPython only (no Sésame firmware): what a blank Pico does,
through its USB serial with mpremote, and what the harness's fixes make true in time."""

from __future__ import annotations

import time

import pytest

from emuhelp import TIMES, mpremote

pytestmark = pytest.mark.usefixtures("parts")


def run(port, code, timeout=120):
    r = mpremote(port, "exec", code, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip()


def test_boots_to_micropython_and_mpremote_works(make_emu):
    t0 = time.monotonic()
    emu = make_emu(inserted=False)
    TIMES["start to pty (blank)"] = time.monotonic() - t0
    assert emu.port.startswith("/dev/pts/")
    assert run(emu.port, "print(1)") == "1"
    out = run(emu.port, "import sys; print(sys.implementation._machine, sys.version)")
    assert "Raspberry Pi Pico with RP2040" in out and "1.28.0" in out
    TIMES["first mpremote exec"] = time.monotonic() - t0


def test_littlefs_formatted_on_first_boot_and_files_survive_resets(make_emu, tmp_path):
    emu = make_emu(inserted=False)
    # MicroPython's _boot.py formats the blank flash: 352 blocks of 4 KB at 0xA0000
    assert run(emu.port, "import os; print(os.statvfs('/')[:3])") == "(4096, 4096, 352)"
    src = tmp_path / "hello.txt"
    src.write_text("hello from the host\n" * 50)
    r = mpremote(emu.port, "fs", "cp", str(src), ":hello.txt")
    assert r.returncode == 0, r.stderr
    assert "hello.txt" in mpremote(emu.port, "fs", "ls").stdout
    emu.reset()  # RUN pin: a hard reset, through the bootrom again
    time.sleep(1)
    back = tmp_path / "back.txt"
    r = mpremote(emu.port, "fs", "cp", ":hello.txt", str(back))
    assert r.returncode == 0, r.stderr
    assert back.read_text() == src.read_text()
    assert emu.status()["resets"] == 1
    image = emu.flash_file
    emu.stop()
    emu2 = make_emu(inserted=False, flash_file=image)  # the same --flash FILE, a new run
    assert run(emu2.port, "print(open('hello.txt').read()[:19])") == "hello from the host"


def test_machine_reset_reboots_and_says_why(make_emu):
    emu = make_emu(inserted=False)
    assert run(emu.port, "import machine; print(machine.reset_cause() == machine.PWRON_RESET)") == "True"
    r = mpremote(emu.port, "reset")
    assert r.returncode == 0, r.stderr
    time.sleep(1)
    assert emu.status()["resets"] == 1
    assert run(emu.port, "import machine; print(machine.reset_cause() == machine.WDT_RESET)") == "True"


def test_watchdog_timeout_resets(make_emu):
    """machine.WDT not fed: the watchdog (rp2040js's timer) resets the chip, which boots
    again and says why (the reason register kept across the reset)."""
    emu = make_emu(inserted=False)
    assert run(emu.port, "from machine import WDT; w = WDT(timeout=800); print('armed')") == "armed"
    t = time.monotonic()
    while emu.status()["resets"] == 0 and time.monotonic() - t < 30:
        time.sleep(0.1)
    assert emu.status()["resets"] == 1
    time.sleep(1)
    assert run(emu.port, "import machine; print(machine.reset_cause() == machine.WDT_RESET)") == "True"


def test_soft_reset_keeps_the_board(make_emu):
    emu = make_emu(inserted=False)
    run(emu.port, "import builtins; builtins.x = 5")
    r = mpremote(emu.port, "soft-reset", "exec", "print('x' in dir(__import__('builtins')))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    assert emu.status()["resets"] == 0


def test_idle_usb_serial_costs_nothing(make_emu):
    """No idle storm: with nothing from the host no OUT packet completes, and an idle
    board's emulated time runs far faster than real time when not paced."""
    emu = make_emu(inserted=False, fast=True)
    run(emu.port, "print(0)")
    a = emu.status()
    time.sleep(1.5)
    b = emu.status()
    assert b["usb_out_packets"] == a["usb_out_packets"]
    emulated = (b["nanos"] - a["nanos"]) / 1e9
    assert emulated > 3, f"{emulated:.2f} emulated s in 1.5 s of idle"  # stock: ~0.2 s (storm)


def test_realtime_pacing_keeps_emulated_time_behind_the_wall(make_emu):
    emu = make_emu(inserted=False)
    run(emu.port, "print(0)")
    a = emu.status()
    t = time.monotonic()
    time.sleep(1.0)
    b = emu.status()
    wall = time.monotonic() - t
    emulated = (b["nanos"] - a["nanos"]) / 1e9
    assert 0.5 * wall < emulated <= wall + 0.05, (emulated, wall)


def test_clock_configuration_is_followed(make_emu):
    """machine.freq() writes PLL_SYS/CLK_SYS: the emulated core, PWM and time follow."""
    emu = make_emu(inserted=False)
    code = ("import machine, time\n"
            "from machine import Pin, PWM\n"
            "p = PWM(Pin(3), freq=4_000_000, duty_u16=32768)\n"
            "def loop():\n"
            "    t = time.ticks_us()\n"
            "    for i in range(20000): pass\n"
            "    return time.ticks_diff(time.ticks_us(), t)\n"
            "a = loop()\n"
            "machine.freq(120_000_000)\n"
            "b = loop()\n"
            "print(a, b, machine.freq())\n")
    a, b, freq = run(emu.port, code).split()
    st = emu.status()
    assert int(freq) == 120_000_000 and st["clk_sys"] == 120_000_000
    # the same loop takes 125/120 as long at 120 MHz
    assert 1.02 < int(b) / int(a) < 1.06, (a, b)
    # the PWM set up at 125 MHz (TOP/DIV for 4 MHz) now runs 120/125 as fast
    period = st["clk_wave"]["periodNs"]
    assert abs(1e9 / period - 4e6 * 120 / 125) < 4e6 * 0.01, 1e9 / period


def test_lightsleep_sleeps_and_restores_the_default_clocks(make_emu):
    """rp2 lightsleep(ms) (ports/rp2/modmachine.c): clocks to the 12 MHz crystal, PLLs off,
    WFI until the timer alarm, then runtime_init_clocks(): 125 MHz again, not what
    machine.freq() had set."""
    emu = make_emu(inserted=False)
    code = ("import machine, time\n"
            "machine.freq(120_000_000)\n"
            "t = time.ticks_ms()\n"
            "machine.lightsleep(400)\n"
            "print(time.ticks_diff(time.ticks_ms(), t), machine.freq())\n")
    t = time.monotonic()
    ms, freq = run(emu.port, code).split()
    assert 395 <= int(ms) <= 460, ms
    assert int(freq) == 125_000_000
    assert emu.status()["clk_sys"] == 125_000_000
    assert time.monotonic() - t < 30


def test_pio_program_runs_at_its_clock(make_emu):
    """rp2.StateMachine at freq=10 kHz with delays: the pin's edges 1 ms apart in emulated
    time (rp2040js alone ran it in batches, ignoring CLKDIV and delays)."""
    emu = make_emu(inserted=False)
    emu.trace(15)
    code = ("import rp2, time\n"
            "from machine import Pin\n"
            "@rp2.asm_pio(set_init=rp2.PIO.OUT_LOW)\n"
            "def blink():\n"
            "    set(pins, 1) [9]\n"
            "    set(pins, 0) [9]\n"
            "sm = rp2.StateMachine(0, blink, freq=10_000, set_base=Pin(15))\n"
            "sm.active(1)\n"
            "time.sleep_ms(30)\n"
            "sm.active(0)\n"
            "print('ok')\n")
    assert run(emu.port, code) == "ok"
    edges = [e for e in emu.status()["traces"] if e["pin"] == 15]
    assert len(edges) >= 25, len(edges)  # 30 ms of 1 ms half-periods
    gaps = [(b["t"] - a["t"]) / 1e6 for a, b in zip(edges, edges[1:])]
    assert all(abs(g - 1.0) < 1e-3 for g in gaps[1:-1]), gaps[:10]


def test_pull_ups_from_the_pads(make_emu):
    emu = make_emu(inserted=False)
    code = ("from machine import Pin\n"
            "a = Pin(11, Pin.IN, Pin.PULL_UP); b = Pin(12, Pin.IN, Pin.PULL_DOWN)\n"
            "print(a.value(), b.value())\n")
    assert run(emu.port, code) == "1 0"


def test_card_detect_switch(make_emu):
    """The socket's switch to GND on GPIO6 (pins.py CARD_DETECT), with the pad's pull-up."""
    emu = make_emu(inserted=True)
    code = "from machine import Pin; print(Pin(6, Pin.IN, Pin.PULL_UP).value())"
    assert run(emu.port, code) == "0"
    emu.remove()
    assert run(emu.port, code) == "1"
    emu.insert()
    assert run(emu.port, code) == "0"


def test_keypad_matrix(make_emu):
    """A key joins its row and column: the row driven low reads low on the column."""
    emu = make_emu(inserted=False)
    emu.key("5", True)  # row 2 (GPIO8), column 2 (GPIO12)
    code = ("from machine import Pin\n"
            "r = Pin(8, Pin.OPEN_DRAIN, value=0); c = Pin(12, Pin.IN, Pin.PULL_UP)\n"
            "c2 = Pin(11, Pin.IN, Pin.PULL_UP)\n"
            "print(c.value(), c2.value()); r.value(1); print(c.value())\n")
    assert run(emu.port, code).split() == ["0", "1", "1"]
    emu.key("5", False)
    code = ("from machine import Pin\n"
            "r = Pin(8, Pin.OPEN_DRAIN, value=0); print(Pin(12, Pin.IN, Pin.PULL_UP).value())\n")
    assert run(emu.port, code) == "1"
