"""Host side of the test link (see firmware/sesame/reader/testlink.py), over any serial port:
the simulated board's pty or a real board's USB serial."""

from __future__ import annotations

import re
import time

# the last line of a MicroPython traceback: "MemoryError: memory allocation failed, ..."
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)(: .*)?$")
_CRASH_GRACE_S = 1.0  # after a traceback, how long sync() still waits for the reader


class LinkTimeout(Exception):
    pass


class Event:
    """One line from the reader: "@disp 1234 5678" -> Event("disp", "1234 5678")."""

    def __init__(self, line: str):
        name, _, arg = line[1:].partition(" ")
        self.name, self.arg, self.line = name, arg, line

    def __repr__(self) -> str:
        return f"Event({self.line!r})"


class LinkClient:
    def __init__(self, port: str, baud: int = 115200):
        from sesame_tools.boardio.repl import open_serial

        self.ser = open_serial(port, baud=baud)  # exclusive; BoardError (a ClickException) if not
        self._buf = b""
        self.history: list[Event] = []
        self.listener = None  # called with every event as it arrives
        self.other: list[str] = []  # recent non-event lines (REPL output, tracebacks)
        self.on_other = None  # called with every non-event line
        self.crashed: tuple[float, str] | None = None  # (when, error line) of a traceback

    def close(self) -> None:
        self.ser.close()

    def send(self, line: str) -> None:
        self.ser.write((line + "\n").encode())
        self.ser.flush()

    def next_event(self, timeout: float) -> Event | None:
        """The next "@..." line within `timeout` s, or None; other lines are skipped."""
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self._buf:
                raw, self._buf = self._buf.split(b"\n", 1)
                line = raw.decode(errors="replace").strip()
                if line and not line.startswith("@"):
                    if _ERROR_LINE.match(line) and any(
                            x.startswith("Traceback (most recent call last)") for x in self.other):
                        self.crashed = (time.monotonic(), line)
                    self.other = (self.other + [line])[-40:]
                    if self.on_other:
                        self.on_other(line)
                if line.startswith("@"):
                    ev = Event(line)
                    self.history.append(ev)
                    if self.listener:
                        self.listener(ev)
                    return ev
            left = end - time.monotonic()
            if left <= 0:
                return None
            self._buf += self.ser.read(max(1, self.ser.in_waiting))

    def wait(self, name: str, arg: str | None = None, timeout: float = 10.0,
             on_event=None) -> Event:
        """Wait for an event by name (and argument); raises LinkTimeout."""
        end = time.monotonic() + timeout
        while True:
            ev = self.next_event(max(0.0, end - time.monotonic()))
            if ev is None:
                raise LinkTimeout(f"no @{name}{' ' + arg if arg else ''} within {timeout:g} s")
            if on_event:
                on_event(ev)
            if ev.name == name and (arg is None or ev.arg == arg):
                return ev

    def latest(self, name: str, arg: str, timeout: float = 10.0) -> Event:
        """The last `name` event received if its argument is `arg` (it may have come before
        the @ok of the command that caused it), else the next such event."""
        for ev in reversed(self.history):
            if ev.name == name:
                if ev.arg == arg:
                    return ev
                break
        return self.wait(name, arg, timeout)

    def sync(self, timeout: float = 10.0) -> None:
        """Ping until the reader answers (it may still be booting). A board that printed a
        traceback and then does not answer fails at once with its error (the firmware
        died at boot: a heap too small, a missing module), not after `timeout`."""
        end = time.monotonic() + timeout
        self.crashed = None
        while time.monotonic() < end:
            self.send("!ping")
            try:
                self.wait("ok", "ping", timeout=0.5)
                return
            except LinkTimeout:
                pass
            if self.crashed and time.monotonic() - self.crashed[0] >= _CRASH_GRACE_S:
                raise LinkTimeout(f"the reader is not running: the board says {self.crashed[1]}")
        raise LinkTimeout("the reader does not answer on the test link")

    def key(self, k: str, timeout: float = 30.0) -> None:
        """Press a key (test builds); returns once the reader has handled it. A name the
        reader does not know is a ValueError at once (it ignores what is not ASCII)."""
        from sesame.reader.testlink import KEYS

        if k not in KEYS:
            raise ValueError(f"unknown key {k[:20]!r} (keys: {' '.join(KEYS)})")
        self.send(f"!key {k}")
        while True:  # an "@ok ping" left over from sync() is not this key's answer
            ev = self.wait_any(("ok", "refused", "error"), timeout)
            if ev.name != "ok":
                raise RuntimeError(f"key {k!r} not accepted: {ev.arg}")
            if ev.arg == "key":
                return

    def wait_any(self, names, timeout: float = 10.0, on_event=None) -> Event:
        end = time.monotonic() + timeout
        while True:
            ev = self.next_event(max(0.0, end - time.monotonic()))
            if ev is None:
                raise LinkTimeout(f"none of {names} within {timeout:g} s")
            if on_event:
                on_event(ev)
            if ev.name in names:
                return ev

    def card(self, inserted: bool) -> None:
        """Simulated board: insert or remove the card; returns once the reader has seen it
        (its @card event and what it shows then come before the @ok)."""
        self.send("!card " + ("in" if inserted else "out"))
        self.wait("ok", "card")
