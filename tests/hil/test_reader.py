"""The whole product over its serial test link: the simulated board by default, a real
board with --port /dev/ttyACM0 (tests needing the simulator's powers are skipped there)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sesame_tools.boardio.testlink import LinkClient

CODE_RE = re.compile(r"^\d{4} \d{4}$")
SESAME = str(Path(sys.executable).parent / "sesame")


def sesame(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SESAME, *args], capture_output=True, text=True, timeout=60)


def test_code_is_shown_as_two_groups(reader):
    code = reader.get_code()
    assert CODE_RE.match(code), code


def test_garbage_on_the_link_is_ignored(reader):
    # binary bytes, an overlong line: ignored, the reader keeps answering and working
    reader.client.ser.write(b"!\xff\xfe\x80\n!key " + b"9" * 80 + b"\n\x00\x01\n")
    reader.client.sync()
    assert CODE_RE.match(reader.get_code())


@pytest.mark.sim_only
def test_issuer_accepts_code_once(reader):
    code = reader.get_code()
    first = sesame("verify", code)
    assert first.returncode == 0 and first.stdout.startswith("accepted"), first
    again = sesame("verify", code.replace(" ", ""))
    assert again.returncode == 1 and again.stdout.startswith("replayed"), again
    other = sesame("verify", "%08d" % ((int(code.replace(" ", "")) + 7) % 10**8))
    assert other.returncode == 1 and other.stdout.startswith("rejected"), other


@pytest.mark.sim_only
def test_every_code_is_new(reader):
    codes = [reader.get_code() for _ in range(3)]
    assert len(set(codes)) == 3
    for code in codes:
        assert sesame("verify", code).returncode == 0


@pytest.mark.sim_only
def test_wrong_pin_shows_tries_left(reader):
    reader.idle()
    reader.press("CODE", "9", "9", "9", "9", "OK")
    assert reader.client.history[-2].line == "@disp 2 triES"  # then @ok key
    reader.press("CLEAR")
    code = reader.get_code()  # the right PIN restores the counter
    assert CODE_RE.match(code)
    out = sesame("card").stdout
    assert "PIN tries: 3 of 3" in out, out


def test_pin_never_on_the_link(reader):
    reader.idle()
    start = len(reader.client.history)
    reader.press("CODE", *reader.pin, "OK")
    lines = [e.line for e in reader.client.history[start:]]
    state = None
    for e in reader.client.history[start:]:
        if e.name == "state":
            state = e.arg
        elif e.name == "disp" and state == "pin":
            assert set(e.arg) <= set("-PIn"), e.line
        assert "key " not in e.line, e.line  # injected keys are never echoed
    assert any(CODE_RE.match(e.arg) for e in reader.client.history[start:] if e.name == "disp"), lines


def test_clear_and_cancel(reader):
    reader.idle()
    reader.press("CODE", "1", "2")
    assert reader.client.history[-2].line == "@disp --"
    reader.press("CLEAR")
    assert reader.client.history[-2].line == "@disp -"
    reader.press("CLEAR", "CLEAR")
    states = [e.arg for e in reader.client.history if e.name == "state"]
    assert states[-1] == "idle"


def test_auto_off(make_reader):
    r = make_reader(auto_off_s=1.5)
    r.get_code()
    t0 = time.monotonic()
    r.client.wait("off", timeout=5)
    took = time.monotonic() - t0
    assert 1.0 < took < 4.0, took
    r.press("CLEAR")  # a key wakes it up
    assert [e.arg for e in r.client.history if e.name == "state"][-1] == "idle"


@pytest.mark.sim_only
def test_card_removed_and_inserted(reader):
    reader.idle()
    reader.client.card(False)
    reader.client.latest("disp", "InSErt")
    reader.press("CODE")
    assert reader.client.history[-2].line == "@disp no CArd"
    reader.client.card(True)
    reader.press("CLEAR")
    assert CODE_RE.match(reader.get_code())


def test_production_build_refuses_injection(make_reader):
    r = make_reader(test_build=False)
    r.client.send("!key CODE")
    ev = r.client.wait_any(("ok", "refused", "error"))
    assert ev.name == "refused" and "test build" in ev.arg
    r.client.send("!status")
    assert r.client.wait("state").arg == "idle"


@pytest.mark.sim_only
def test_state_survives_kill(state_dir):
    """`sesame sim --serve` killed with SIGKILL right after a transaction: the card's
    state file is whole and holds the new ATC."""
    proc = subprocess.Popen([SESAME, "sim", "--serve"], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        port = proc.stdout.readline().split("port: ")[1].strip()
        c = LinkClient(port)
        c.sync()
        for k in ("CODE", "1", "2", "3", "4", "OK"):
            c.key(k)
        c.close()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    st = json.loads((state_dir / "visa-dpa.card.json").read_text())
    assert st == {"atc": 1, "pin_tries": 3}
    r = sesame("sim", "--keys", "CODE 1 2 3 4 OK")
    assert r.returncode == 0, r
    assert json.loads((state_dir / "visa-dpa.card.json").read_text())["atc"] == 2


@pytest.mark.sim_only
def test_a_key_right_after_the_card_goes_in_finds_it_in(reader):
    # `!card in` and a key in one write (one pass of the reader loop): the key must see
    # the card, as the host was told it is in (the race behind a flaky "no code shown")
    c = reader.client
    reader.idle()
    c.card(False)
    c.latest("disp", "InSErt")
    c.ser.write(b"!card in\n!key CODE\n")
    c.wait("ok", "card")
    c.wait("ok", "key")
    shown = [e.arg for e in c.history if e.name == "disp"]
    assert shown[-1] == "PIn", shown
    reader.press("CLEAR")
