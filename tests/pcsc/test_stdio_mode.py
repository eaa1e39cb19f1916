"""A one-UART board (the ESP32's choice): the PC/SC mode on the REPL's own serial, entered
with `sesame pcsc --enter`, used by pcscd, left with `sesame pcsc --leave`. The simulated
board plays it with pcsc="stdio" (its relay then passes 0x03 and "\\n" as they are)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from private_pcscd import Pcscd, require

from sesame_tools.boardio.testlink import LinkClient
from sesame_tools.sim.board import SimBoard

SESAME = str(Path(sys.executable).parent / "sesame")


def sesame(*args):
    return subprocess.run([SESAME, *args], capture_output=True, text=True, timeout=60)


def test_pc_sc_mode_on_the_repl_serial(tmp_path, monkeypatch):
    require()
    monkeypatch.setenv("SESAME_STATE_DIR", str(tmp_path))
    with SimBoard(pcsc="stdio") as board:
        assert board.pcsc_port is None  # no second port: the mode is the way
        link = LinkClient(board.port)
        link.sync()
        link.close()
        r = sesame("pcsc", "--port", board.port, "--enter")
        assert r.returncode == 0 and "is now the PC/SC reader" in r.stdout, r.stdout + r.stderr
        pcscd = Pcscd({"Sesame uart": board.port})
        try:
            from smartcard.System import readers

            pcscd.wait_readers(["Sesame uart"])
            c = next(x for x in readers() if str(x).startswith("Sesame uart")).createConnection()
            c.connect()
            data, sw1, sw2 = c.transmit(list(bytes.fromhex("00A4040007A000000003800200")))
            assert sw1 == 0x61, (data, sw1, sw2)  # 0x03 bytes and all: frames pass
            c.disconnect()
            c.release()
        finally:
            pcscd.stop()
        r = sesame("pcsc", "--port", board.port, "--leave")
        assert r.returncode == 0 and "REPL and test link again" in r.stdout, r.stdout + r.stderr
        link = LinkClient(board.port)  # the test link (and Ctrl-C) are back
        link.sync()
        link.key("CODE")
        assert [e.arg for e in link.history if e.name == "disp"][-1] == "PIn"
        link.close()


def test_boards_with_their_own_channel_refuse_the_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("SESAME_STATE_DIR", str(tmp_path))
    with SimBoard() as board:
        r = sesame("pcsc", "--port", board.port, "--enter")
        assert r.returncode == 1 and "its own port" in r.stderr, r.stdout + r.stderr


def test_sim_serve_prints_the_pc_sc_channel(tmp_path):
    import os
    import signal

    env = dict(os.environ, SESAME_STATE_DIR=str(tmp_path))
    p = subprocess.Popen([SESAME, "sim", "--serve"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        lines = [p.stdout.readline().strip(), p.stdout.readline().strip()]
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(20)
    assert lines[0].startswith("port: /dev/pts/") and lines[1].startswith("pcsc: /dev/pts/"), lines
    assert lines[0][6:] != lines[1][6:]
