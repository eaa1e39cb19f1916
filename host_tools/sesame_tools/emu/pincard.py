"""The host half of the card at the emulated Pico's pins (js/card.js does the electrical
and timing half): each character the reader sends, each reset, goes to the project's
virtual card as the simulated board's line frames (vcard/server.py: "C", "W", "O", "D",
"R", "N"), and what the virtual card frames back ("D" c, "E" c, "N" k) goes to the pins.
One VirtualCard, its profiles, state and faults, for both boards.

The virtual card's LinkSession runs unchanged in a thread over an in-process connection;
a frame has been handled when the session asks for the next one, so every answer is
complete (emulated time stands still meanwhile: the firmware cannot tell). Where the
virtual card waits in wall time (NULL bytes `null_delay_ms`, `wtx_delay_ms`), the pause
becomes emulated time between the characters instead.
"""

from __future__ import annotations

import queue
import threading

from sesame_tools.vcard.server import LinkSession, VirtualCard

from sesame.iso7816 import atr as _atr  # the firmware's own codec and table
from sesame.iso7816.inverse import INVERSE

_D, _E, _N, _R, _C, _W, _O = 0x44, 0x45, 0x4E, 0x52, 0x43, 0x57, 0x4F


class _Conn:
    """The session's socket: frames in through a queue, frames out into chunks (one
    chunk per sendall: the session flushes before each of its pauses)."""

    def __init__(self):
        self.frames: queue.Queue = queue.Queue()
        self.chunks: list[bytes] = []
        self.idle = threading.Event()

    def recv(self, n: int) -> bytes:
        self.idle.set()
        data = self.frames.get()
        self.idle.clear()
        return data or b""

    def sendall(self, data: bytes) -> None:
        self.chunks.append(bytes(data))

    def setsockopt(self, *args) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "_Conn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PinCard:
    """The virtual card in the slot of the emulated Pico: one LinkSession per insertion."""

    def __init__(self, vcard: VirtualCard):
        self.vcard = vcard
        self.session: LinkSession | None = None
        self._conn: _Conn | None = None
        self._thread: threading.Thread | None = None
        self._pps: bytearray | None = None
        self._null_delay = 0.0
        self._wtx_delay = 0.0
        self.frames = 0  # frames handed to the virtual card (tests, figures)
        self._t = 0.0  # emulated time of the character being handed over, seconds

    def _now(self) -> float:
        return self._t

    # -- one card in the slot ------------------------------------------------------

    def insert(self) -> None:
        self.eject()
        conn = _Conn()
        link = dict(getattr(self.vcard.profile, "link", None) or {})
        ls = LinkSession(self.vcard, conn, link)
        # the virtual card's own pauses (wall time) become emulated time here
        self._null_delay, ls.faults.null_delay = ls.faults.null_delay, 0.0
        self._wtx_delay, ls.faults.wtx_delay = ls.faults.wtx_delay, 0.0
        self.vcard.sessions.append(ls)
        self.session, self._conn = ls, conn
        self._thread = threading.Thread(target=ls.run, name="pincard", daemon=True)
        self._thread.start()

    def eject(self) -> None:
        if self._conn is not None:
            self._conn.frames.put(None)  # the session's recv() returns b"": it ends
        if self._thread is not None:
            self._thread.join(5)
        self.session = self._conn = self._thread = None

    # -- frames ----------------------------------------------------------------------

    def _frame(self, kind: int, b: int = 0) -> tuple[list[bytes], bool]:
        """Hands one frame to the session; returns its output chunks and whether the
        session ended (the card was pulled out: fault remove_after)."""
        conn, thread = self._conn, self._thread
        if conn is None or thread is None or not thread.is_alive():
            return [], True
        conn.chunks = []
        conn.idle.wait(10)
        conn.idle.clear()
        conn.frames.put(bytes((kind, b & 0xFF)))
        while not conn.idle.wait(0.05):
            if not thread.is_alive():
                return conn.chunks, True
        self.frames += 1
        return conn.chunks, False

    def handle(self, req: dict) -> dict:
        """A request from js/card.js -> its reply."""
        kind = req["card"]
        ls = self.session
        if ls is None:
            return {"out": [], "removed": kind not in ("O",)}
        if kind == "O":
            chunks, ended = self._frame(_O)
            return {"out": [], "removed": False}
        if kind in ("C", "W"):
            self._pps = None
            chunks, ended = self._frame(_C if kind == "C" else _W)
            reply = self._reply(chunks, ended)
            atr = bytes(c for c, _, _ in reply["out"])
            if ls.inverse:
                atr = bytes(INVERSE[c] for c in atr)
            a = _atr.Atr(atr)
            if a.protocols in ([], [0]) and a.tck == "absent":  # a TCK, should the card add one
                x = 0
                for c in atr[1:]:
                    x ^= c
                reply["tck"] = INVERSE[x] if ls.inverse else x
            if a.specific_mode and not a.specific_implicit and a.ta1 is not None \
                    and a.Fi and a.Di and (a.Fi, a.Di) != (372, 1):
                reply["rate"] = [a.Fi, a.Di]  # specific mode: TA1 applies at once
            return reply
        if kind == "N":
            chunks, ended = self._frame(_N)
            return self._reply(chunks, ended)
        b = int(req["b"])
        if "t" in req:  # the T=1 card measures silences on the line's clock: emulated time
            self._t = float(req["t"]) / 1e9
            ls.t1.clock = self._now
        pps_ok = ls.faults.fired.get("pps ok", 0)
        if ls.mode == "atr" and (b == 0xFF and self._pps is None):
            self._pps = bytearray()
        if self._pps is not None and ls.mode == "atr":
            self._pps.append(b)
        answer_pending = ls.t1._answer
        chunks, ended = self._frame(_R if kind == "R" else _D, b)
        reply = self._reply(chunks, ended)
        if answer_pending and not ls.t1._answer and reply["out"] and self._wtx_delay:
            reply["out"][0][2] += self._wtx_delay * 1e9  # the answer after a granted WTX
        if ls.faults.fired.get("pps ok", 0) > pps_ok and self._pps:
            req_ = self._pps
            f, d = 372, 1
            if len(req_) > 2 and req_[1] & 0x10:
                f, d = _atr.FI[req_[2] >> 4], _atr.DI[req_[2] & 0x0F]
            reply["rate"] = [f, d]
            self._pps = None
        elif ls.mode != "atr":
            self._pps = None
        return reply

    def _protocol(self) -> int | None:
        ls = self.session
        if ls is None or ls.mode == "off":
            return None
        if ls.mode == "atr":
            return 1 if ls.protocols and ls.protocols[0] == 1 else 0
        return 1 if ls.mode == "t1" else 0

    def _reply(self, chunks: list[bytes], ended: bool) -> dict:
        out: list[list] = []
        reject = False
        for i, chunk in enumerate(chunks):
            gap = self._null_delay * 1e9 if i else 0.0
            for j in range(0, len(chunk) - 1, 2):
                kind, c = chunk[j], chunk[j + 1]
                if kind == _N:
                    reject = True
                elif kind in (_D, _E):
                    out.append([c, kind == _E, gap])
                    gap = 0.0
        return {"out": out, "reject": reject, "t": self._protocol(), "removed": ended}
