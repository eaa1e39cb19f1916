"""The product on the emulated Pico: `sesame flash --test-build` onto a blank board, the
firmware at @ready on its USB serial, an Identify with the card at the pins and the code
accepted by `sesame verify`; the card switch, the keypad and the host tools on its port."""

from __future__ import annotations

import json
import time

from emuhelp import CODE_RE, LinkClient, TIMES, identify, sesame


def test_flash_reached_ready(flashed):
    out = flashed["output"]
    assert "@ready sesame" in out and "build=test" in out and "board=pico" in out, out
    assert "36 copied" in out or "copied" in out


def test_ready_ping_info(reader):
    emu, client = reader()
    client.send("!info")
    info = client.wait("info", timeout=10).arg
    assert "board=pico" in info and "build=test" in info, info
    client.send("!ping")
    client.wait("ok", "ping", timeout=10)


def test_identify_code_accepted_by_the_issuer(reader, state_dir):
    emu, client = reader(card="visa_dpa")
    t0 = time.monotonic()
    state, shown = identify(client)
    TIMES["one Identify (keys to code)"] = time.monotonic() - t0
    assert state == "code", (state, shown, client.other[-10:], emu.errors()[-2000:])
    assert CODE_RE.match(shown), shown
    assert emu.status()["violations"] == []
    r = sesame("verify", "--card", "visa_dpa", shown)
    assert r.returncode == 0 and r.stdout.startswith("accepted"), r.stdout + r.stderr
    r = sesame("verify", "--card", "visa_dpa", shown)
    assert r.returncode == 1 and r.stdout.startswith("replayed"), r.stdout
    # what the card saw: a cold reset at 4 MHz, RST after 40 000-45 000 clocks (EMV)
    log = emu.status()["log"]
    reset = [e for e in log if e["what"] == "cold reset"][0]
    assert 40_000 <= reset["clocks"] <= 45_000, reset
    assert abs(reset["hz"] - 4e6) < 1e3, reset
    assert any(e["what"] == "deactivated" for e in log)


def test_second_code_is_new(reader, state_dir):
    emu, client = reader()
    codes = []
    for _ in range(2):
        state, shown = identify(client)
        assert state == "code", shown
        codes.append(shown)
        client.key("CLEAR")
    assert codes[0] != codes[1]
    for c in codes:
        assert sesame("verify", c).returncode == 0


def test_card_switch_from_the_test_link(reader):
    """`!card out` / `!card in` work the card-detect switch (answered @ok card by the
    bench; the Pico's firmware sees the switch, as it would a hand)."""
    emu, client = reader()
    client.card(False)
    client.wait("disp", "InSErt", timeout=10)
    assert not emu.inserted
    client.card(True)
    client.wait("card", "in", timeout=10)
    state, shown = identify(client)
    assert state == "code", shown


def test_keypad_presses_reach_the_reader(reader):
    """The 4x4 matrix itself (rows GPIO7-10 open drain, columns GPIO11-14 with pull-ups)."""
    emu, client = reader()
    emu.press("CODE")
    client.wait("state", "pin", timeout=20)
    client.wait("disp", "PIn", timeout=5)
    emu.press("1")
    try:
        client.wait("disp", "-", timeout=20)
    except Exception:
        raise AssertionError((client.history[-8:], emu.status()["nanos"], client.other[-5:]))
    emu.press("CLEAR")
    emu.press("CLEAR")
    client.wait("state", "idle", timeout=20)


def test_trace_and_monitor_on_the_port(reader, tmp_path):
    emu, client = reader()
    client.close()
    out = tmp_path / "t.json"
    r = sesame("trace", "--port", emu.port, "-o", str(out), "--keys", "CODE 1 2 3 4 OK",
               "--timeout", "120", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    t = json.loads(out.read_text())
    assert t["atr"] == "3B6500002063CB6800" and t["protocol"] == 0
    verify = [x for x in t["exchanges"] if x["c"][2:4] == "20"]
    assert verify and "1234" not in verify[0]["c"]
    r = sesame("monitor", "--port", emu.port, "--timeout", "3", timeout=60)
    assert r.returncode in (0, 1), r.stderr


def test_production_build_sleeps_and_a_held_key_wakes_it(make_emu, flashed, state_dir):
    """A production build light-sleeps while off (200 ms slices on the 12 MHz crystal,
    rp2 lightsleep(ms)) and wakes when a key is held through a slice; the keypad alone
    (it refuses injected keys) then gets a code, at the 120 MHz the board sets again after
    each sleep (lightsleep leaves the build's default, 125 MHz: boards/pico/board.py)."""
    emu = make_emu(flashed["image"])
    r = sesame("flash", "--port", emu.port, "--board", "pico", "--set", "auto_off_s=2",
               timeout=600)
    assert r.returncode == 0 and "build=production" in r.stdout, r.stdout + r.stderr
    client = LinkClient(emu.port)
    try:
        client.wait("state", "off", timeout=60)
        clocks = []  # sampled over a second: asleep (the crystal) most of the time, awake
        for _ in range(10):  # a moment between slices
            time.sleep(0.1)
            clocks.append(emu.status()["clk_sys"])
        assert 12_000_000 in clocks, f"asleep: clk_sys on the crystal ({clocks})"
        emu.press("CLEAR", hold_ms=600)  # seen at the end of a slice
        client.wait("state", "idle", timeout=30)
        for k in ("CODE", "1", "2", "3", "4", "OK"):
            emu.press(k)
        ev = client.wait("state", timeout=120)
        while ev.arg not in ("code", "message"):
            ev = client.wait("state", timeout=120)
        shown = client.wait("disp", timeout=10).arg
        assert ev.arg == "code" and CODE_RE.match(shown), shown
        assert emu.status()["clk_sys"] == 120_000_000  # set again after the sleep
        assert sesame("verify", shown).returncode == 0
    finally:
        client.close()
