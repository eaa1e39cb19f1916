"""The emulated Raspberry Pi Pico, shaped like the simulated board (sim.board.SimBoard):
start() -> the pty path of its USB serial, stop(), alive(), errors(), a context manager;
plus the powers of the bench: the card in the slot (insert/remove, its timing), the
keypad, the RUN button.

    with Emulator(card="visa_dpa") as emu:     # MicroPython v1.28.0 on an RP2040
        port = emu.port                        # /dev/pts/N: mpremote, sesame flash, hil...
        emu.remove(); emu.insert()             # the card-detect switch, a new card session
        emu.set_timing(answer_etu=40)          # the card's ISO 7816-3 timing, for this run
        emu.press("CODE")                      # a key of the 4x4 matrix
        emu.reset()                            # hard reset (the filesystem stays)

Behind it: Node.js runs js/main.js (rp2040js, pinned in js/package-lock.json, with this
folder's fixes), which boots the real bootrom and the MicroPython .uf2 (firmware.py
says where they come from) and has a card at the pins (js/card.js) whose characters the
project's virtual card answers (pincard.py). The Pico's 2 MB flash lives in the node
process; `flash_file` keeps it between runs (written after writes settle and at stop).

The relay between the pty and the node process (relay.py) passes bytes unchanged, except
for one thing the simulated board has and a Pico cannot: a host line "!card in" /
"!card out" works the card-detect switch, so the HIL tests' card control works.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import sesame_tools.emu.firmware as parts
from sesame_tools.boardio.pty import open_raw_pty
from sesame_tools.emu.options import check_flash_file, check_timing
from sesame_tools.emu.pincard import PinCard
from sesame_tools.emu.relay import relay
from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.server import VirtualCard

_READY_S = 20.0


class EmuError(RuntimeError):
    """The emulated Pico failed to start or stopped."""


def pico_pins() -> object:
    """boards/pico/pins.py, the one place the Pico's GPIO numbers live."""
    path = parts.ROOT / "boards" / "pico" / "pins.py"
    spec = importlib.util.spec_from_file_location("sesame_pico_pins", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def keymap() -> tuple:
    from sesame.panel.keypad import KEYMAP_4X4

    return KEYMAP_4X4


class Emulator:
    """Start with start(); `port` is then the pty path a client opens; stop() ends it."""

    def __init__(self, card: str | profiles.Profile | None = None,
                 state_file: Path | None = None, inserted: bool = True,
                 flash_file: Path | str | None = None,
                 timing: dict | None = None, fast: bool = False, card_control: bool = True,
                 events: bool = False, watch: tuple[str, ...] = (), heap: dict | None = None):
        self.timing = check_timing(timing or {})
        self.flash_file = check_flash_file(flash_file) if flash_file is not None else None
        self.profile = card if isinstance(card, profiles.Profile) else profiles.load(card)
        self.vcard = VirtualCard(self.profile, state_file)
        self.pincard = PinCard(self.vcard)
        self.inserted = inserted
        self.fast = fast
        self.card_control = card_control
        self.events = events
        self.card_events: list[dict] = []  # with events=True: everything the card saw
        self.watch = list(watch)  # texts the board prints, timed from power-on: seen()
        self.heap = heap  # MicroPython's heap from the .elf (symbols.heap_spec): heap figures
        self._seen: dict[str, dict] = {}
        self.port: str | None = None
        self.proc: subprocess.Popen | None = None
        self.resets = 0
        self.boot_wall: float | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="sesame-emu-")
        self.log = Path(self._dir.name) / "node.log"
        self._ctl: socket.socket | None = None
        self._ctl_lock = threading.Lock()
        self._master = self._slave = -1
        self._running = False
        self._threads: list[threading.Thread] = []
        self._replies: dict[int, dict] = {}
        self._reply_cv = threading.Condition()
        self._next_id = 1
        self._ready = threading.Event()
        self._inject = bytearray()  # lines to the host at its next line boundary
        self._errors: list[str] = []

    # -- power -------------------------------------------------------------------

    def start(self) -> str:
        try:
            uf2 = parts.find_uf2()
            bootrom = parts.find_bootrom(uf2)
            node = parts.find_node()
            main_js = parts.check_modules()
        except parts.MissingPart:
            self.stop()  # nothing started: the card's state and the work folder closed
            raise
        pins = pico_pins()
        ours, theirs = socket.socketpair()
        config = {
            "bootrom": str(bootrom), "uf2": str(uf2),
            "flash": str(self.flash_file) if self.flash_file else None,
            "fast": self.fast, "inserted": self.inserted, "events": self.events,
            "timing": self.timing, "control_fd": theirs.fileno(),
            "watch": self.watch, "heap": self.heap,
            "pins": {"io": pins.CARD_IO, "clk": pins.CARD_CLK, "rst": pins.CARD_RST,
                     "vcc": pins.CARD_VCC, "detect": pins.CARD_DETECT},
        }
        cfg = Path(self._dir.name) / "config.json"
        cfg.write_text(json.dumps(config))
        if self.inserted:
            self.pincard.insert()
        err = open(self.log, "ab")
        self.proc = subprocess.Popen([node, str(main_js), str(cfg)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=err, pass_fds=(theirs.fileno(),),
                                     cwd=parts.JS, close_fds=True)
        err.close()
        theirs.close()
        self._ctl = ours
        for f in (self.proc.stdin, self.proc.stdout):
            fl = fcntl.fcntl(f.fileno(), fcntl.F_GETFL)
            fcntl.fcntl(f.fileno(), fcntl.F_SETFL, fl | os.O_NONBLOCK)
        self._master, self._slave, self.port = open_raw_pty()
        self._running = True
        t0 = time.monotonic()
        for target, name in ((self._control, "emu-control"), (lambda: relay(self), "emu-relay")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        end = t0 + _READY_S
        while not self._ready.wait(0.1) and self.proc.poll() is None and time.monotonic() < end:
            pass
        if not self._ready.is_set() or self.proc.poll() is not None:
            # node's own error, without its stack ("    at ..." lines): one line
            said = [ln.strip() for ln in self.errors().splitlines()
                    if ln.strip() and not ln[0].isspace()]
            msg = "; ".join(said)[:500] or "no answer from the emulator"
            self.stop()
            raise EmuError(f"the emulated Pico did not start: {msg}")
        self.boot_wall = time.monotonic() - t0
        return self.port

    def stop(self) -> None:
        self._running = False
        if self._ctl is not None:
            try:
                self._send({"cmd": "quit"})
            except OSError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._threads:
            t.join(5)
        self._threads = []
        if self.proc is not None:
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = -1
        self.pincard.eject()
        self.vcard.close()
        self._dir.cleanup()

    def alive(self) -> bool:
        return self._running and self.proc is not None and self.proc.poll() is None

    def errors(self) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            text = ""
        return text + "".join(e + "\n" for e in self._errors)

    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the bench's powers --------------------------------------------------------

    def insert(self) -> None:
        """The card goes into the slot (a fresh card session: as the simulated board's)."""
        self.pincard.insert()
        self._send({"cmd": "insert"})
        self.inserted = True

    def remove(self) -> None:
        """The card comes out: the detect switch opens, the contacts go."""
        self._send({"cmd": "remove"})
        self.status()  # the board has seen it
        self.pincard.eject()
        self.inserted = False

    def set_card(self, inserted: bool) -> None:
        self.insert() if inserted else self.remove()

    def set_timing(self, **timing) -> None:
        """The card's character timing from now on (see js/card.js DEFAULT_TIMING)."""
        t = check_timing(timing)
        self.timing.update(t)
        self._send({"cmd": "timing", "timing": t})

    def reset(self) -> None:
        """Hard reset (the RUN pin): the chip reboots; flash and card stay."""
        self._send({"cmd": "reset"})

    def key(self, name: str, down: bool, hold_ms: float = 0, after_ms: float = 0) -> None:
        """A key of the 4x4 matrix down or up (its row and column joined); with hold_ms,
        down and released that much emulated time later (returns after_ms after that)."""
        km = keymap()
        if name not in km:
            raise ValueError(f"no key {name!r} on the keypad ({', '.join(k for k in km if k)})")
        i = km.index(name)
        pins = pico_pins()
        self._ask({"cmd": "key", "row": pins.KEY_ROWS[i // 4], "col": pins.KEY_COLS[i % 4],
                   "down": down, "ms": hold_ms, "after": after_ms}, 60 + (hold_ms + after_ms) / 100)

    def press(self, name: str, hold_ms: float = 120, after_ms: float = 80) -> None:
        """A key pressed for hold_ms of emulated time and released; returns after_ms later
        (the firmware debounces 20 ms and takes a key only from "nothing pressed")."""
        self.key(name, True, hold_ms, after_ms)

    def trace(self, *pins: int) -> None:
        """Records the level changes of these GPIOs; status()["traces"] returns them."""
        self._send({"cmd": "trace", "pins": list(pins)})

    def status(self, timeout: float = 10.0) -> dict:
        """The board and card as they are: emulated time, clk_sys, the card's state and log."""
        return self._ask({"cmd": "status"}, timeout)

    def save_flash(self) -> None:
        self._ask({"cmd": "save"}, 10)

    def watch_for(self, text: str) -> None:
        """From now on, note when the board prints `text` (seen(text) waits for it)."""
        with self._reply_cv:
            self._seen.pop(text, None)
        self._send({"cmd": "watch", "text": text})

    def seen(self, text: str, timeout: float = 60.0) -> dict:
        """When the board first printed a text of `watch`: {nanos (world), chip_nanos (since
        this power-on), heap_free (gc.mem_free() then, with `heap`)}."""
        return self._wait_in(self._seen, text, timeout, f"did not print {text!r}", pop=False)

    def profile_start(self, until: str | None = None, after: str | None = None) -> None:
        """Counts the CPU's cycles per address from now (or from when the host sends the
        text `after` to the board) until the board prints `until` (or profile_report());
        with `heap`, samples the free heap every 100 us."""
        self._ask({"cmd": "profile", "until": until, "after": after}, 10)

    def profile_report(self) -> dict:
        """The profile (ended now if still running): span_ns, awake_ns, cycles, pcs
        [[address, cycles]...], heap_first, heap_min (bytes free), heap_samples."""
        return self._ask({"cmd": "profile_report"}, 60)

    # -- control channel -----------------------------------------------------------

    def _send(self, msg: dict) -> None:
        if self._ctl is None:
            raise EmuError("the emulated Pico is not running")
        data = (json.dumps(msg) + "\n").encode()
        with self._ctl_lock:
            self._ctl.sendall(data)

    def _ask(self, msg: dict, timeout: float) -> dict:
        with self._reply_cv:
            rid = self._next_id
            self._next_id += 1
        self._send({**msg, "id": rid})
        return self._wait_in(self._replies, rid, timeout, f"did not answer {msg['cmd']}")

    def _wait_in(self, box: dict, key, timeout: float, what: str, pop: bool = True) -> dict:
        """box[key] once the control thread has put it there; EmuError after timeout s."""
        end = time.monotonic() + timeout
        with self._reply_cv:
            while key not in box:
                left = end - time.monotonic()
                if left <= 0 or not self.alive():
                    raise EmuError(f"the emulated Pico {what}")
                self._reply_cv.wait(min(left, 0.2))
            return box.pop(key) if pop else box[key]

    def _control(self) -> None:
        buf = b""
        sock = self._ctl
        while self._running and sock is not None:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    self._on_message(json.loads(line))
        self._running = self._running and self.alive()

    def _on_message(self, msg: dict) -> None:
        if "req" in msg:
            try:
                reply = self.pincard.handle(msg)
            except Exception as e:  # the card must answer: say what broke, answer nothing
                self._errors.append(f"virtual card: {type(e).__name__}: {e}")
                reply = {"out": []}
            reply["re"] = msg["req"]
            if reply.get("removed") and msg.get("card") != "O":
                self.inserted = False
            self._send(reply)
            return
        ev = msg.get("ev")
        if ev == "ready":
            self._ready.set()
        elif ev == "reset":
            self.resets = msg.get("resets", self.resets)
        elif ev == "card":
            self.card_events.append(msg)
        elif ev == "seen":
            with self._reply_cv:
                self._seen.setdefault(msg["text"], msg)
                self._reply_cv.notify_all()
        elif ev == "error":
            self._errors.append(msg.get("what", str(msg)))
        if "id" in msg:
            with self._reply_cv:
                self._replies[msg["id"]] = msg
                self._reply_cv.notify_all()
