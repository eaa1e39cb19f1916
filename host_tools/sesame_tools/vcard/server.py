"""The virtual card behind a TCP socket on the loopback, speaking the simulated
board's line framing (see boards/sim/board.py): one connection = one card in the slot.

  reader -> card: b"C\\0" cold reset, b"W\\0" warm reset, b"O\\0" deactivate, b"D" + char,
                  b"N\\0" error signal: the last character came with a parity error (T=0),
                  b"R" + char: a character repeated after our error signal
  card -> reader: b"D" + char, b"E" + char: a character with a parity error (fault),
                  b"N" + k: error signal on the k-th character the reader sent since we
                  last spoke (fault "reject_char"); we ignore b"D" frames until a b"R"

The card's link behaviour comes from the profile's "link" object: "protocols" (offered,
default first; must agree with the ATR), "warm_atr" (hex: the ATR after a warm reset,
e.g. a 3F card that changes), "after_atr" (characters sent right after every ATR, hex,
"TCK" standing for the ATR's check byte: real T=0-only cards send one although ISO
7816-3 8.2.5 says it is absent; the reader must drop them). An ATR whose TS is 3F puts the line in the inverse
convention (every character bit-reversed and inverted, so TS reads 03 in direct
convention) until the next reset; "crc" (T=1 EDC), "ifsd_max" (the card
chains its answers in pieces of at most this), "pps" ("refuse" / "wrong"), and the faults
listed in vcard/faults.py.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from pathlib import Path

from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.emv import CapApplet
from sesame_tools.vcard.state import CardState
from sesame_tools.vcard.faults import Faults
from sesame_tools.vcard.t0 import T0Card
from sesame_tools.vcard.t1 import T1Card
from sesame.iso7816 import atr as _atr
from sesame.iso7816.inverse import INVERSE


def after_atr_bytes(spec: str, atr: bytes) -> bytes:
    """The "after_atr" link value as bytes: hex, the word TCK for the ATR's check byte."""
    out = bytearray()
    for word in spec.split():
        if word.upper() == "TCK":
            x = 0
            for c in atr[1:]:
                x ^= c
            out.append(x)
        else:
            out += bytes.fromhex(word)
    return bytes(out)


def state_path(p: profiles.Profile) -> Path:
    return profiles.state_dir() / f"{profiles.safe_name(p.name)}.card.json"


class VirtualCard:
    """A card (profile + persistent state) that readers can connect to."""

    def __init__(self, profile: profiles.Profile, state_file: Path | None = None):
        self.profile = profile
        self.state = CardState(state_file or state_path(profile), profile.atc, profile.pin_try_limit)
        self.lock = threading.Lock()  # one reader at a time touches the state
        self._srv: socket.socket | None = None
        self.sessions: list = []  # LinkSessions, newest last (tests look at what happened)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start accepting readers in a daemon thread; returns "host:port"."""
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
        srv.listen(4)
        self._srv = srv
        threading.Thread(target=self._accept, daemon=True).start()
        return "%s:%d" % srv.getsockname()

    def close(self) -> None:
        if self._srv:
            self._srv.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = dict(getattr(self.profile, "link", None) or {})
        ls = LinkSession(self, conn, link)
        self.sessions.append(ls)
        ls.run()


class LinkSession:
    """One card in the slot: activation, ATR, PPS, then T=0 or T=1 with faults."""

    def __init__(self, vcard: VirtualCard, conn: socket.socket, link: dict):
        self.vcard = vcard
        self.conn = conn
        self.link = link
        p = vcard.profile
        self.applet = CapApplet(p, vcard.state)
        self.inverse = p.atr[:1] == b"\x3f"
        self.faults = Faults(link)
        cold = _atr.Atr(p.atr)
        self.protocols = list(link.get("protocols") or cold.protocols or [0])
        self.cold_atr = p.atr
        self.warm_atr = bytes.fromhex(link["warm_atr"]) if link.get("warm_atr") else p.atr
        crc = bool(link.get("crc", cold.edc == "crc"))
        ifsd_max = int(link.get("ifsd_max", 254))
        self.t0 = T0Card(self.applet)
        self.t1 = T1Card(self.applet, crc, cold.IFSC, self.faults)
        self.t1.ifsd_cap = ifsd_max
        self.powered = False
        self.mode = "off"  # "atr" (PPS possible), "t0", "t1"
        self.pps = bytearray()
        self.last = 0
        self.out = bytearray()
        self.slow_at = -1  # fault slow_bytes_ms: the frames in out from here go out slowly
        self.held = None  # characters held back after one sent with a parity error
        self.burst = 0  # characters received since we last spoke
        self.discard = False  # after our error signal, until the reader repeats

    def _emit(self, data: bytes, after_atr: bool = True) -> None:
        if data:
            self.burst = 0
        if self.held is not None:  # waiting for the reader's error signal
            self.held += data
            return
        for i, c in enumerate(data):
            self.last = c
            if self.inverse:
                c = INVERSE[c]
            if after_atr and self.faults.slow_bytes and self.slow_at < 0:
                self.slow_at = len(self.out)
            if after_atr and self.faults.parity():
                self.out += bytes((0x45, c))
                if self.mode != "t1":
                    # T=0: hold the rest until the reader signals the error
                    self.held = bytearray(data[i + 1:])
                    return
                continue
            self.out += bytes((0x44, c))

    def _repeat(self) -> None:
        # The reader signalled a parity error on our last character: send it again,
        # then what we held back.
        c = INVERSE[self.last] if self.inverse else self.last
        self.out += bytes((0x44, c))
        held, self.held = self.held, None
        if held:
            self._emit(bytes(held))

    def _flush(self) -> bool:
        if self.out:
            out, self.out, slow, self.slow_at = self.out, bytearray(), self.slow_at, -1
            try:
                self.conn.sendall(out[:slow] if slow >= 0 else out)
                if slow >= 0:
                    self._slowly(out[slow:])
            except OSError:
                return False
        return True

    def _slowly(self, frames: bytes) -> None:
        # Fault slow_bytes_ms: one character at a time, each after the pause. Whatever the
        # reader sends meanwhile (a deactivation, a reset) ends it: a card without power
        # sends nothing.
        for i in range(0, len(frames), 2):
            if select.select([self.conn], [], [], self.faults.slow_bytes)[0]:
                self.faults.note("slow_bytes cut")
                return
            self.conn.sendall(frames[i:i + 2])
        self.faults.note("slow_bytes")

    def _reset(self, warm: bool) -> None:
        self.powered = True
        self.held = None
        self.discard = False
        self.applet.reset()
        self.t0.reset()
        self.t1.reset()
        self.pps = bytearray()
        atr = self.warm_atr if warm else self.cold_atr
        self.inverse = atr[:1] == b"\x3f"  # the convention follows the TS we send
        self.faults.note("warm reset" if warm else "cold reset")
        if self.inverse:
            self.faults.note("inverse")
        a = _atr.Atr(atr)
        self.protocols = list(self.link.get("protocols") or a.protocols or [0])
        if warm and self.link.get("warm_atr"):
            self.protocols = a.protocols or [0]
        self.t1.crc = a.edc == "crc" if "crc" not in self.link else bool(self.link["crc"])
        self.mode = "atr" if not a.specific_mode else ("t1" if a.specific_protocol == 1 else "t0")
        self._emit(atr, after_atr=False)
        extra = self.link.get("after_atr")
        if extra:
            self._emit(after_atr_bytes(extra, atr), after_atr=False)
            self.faults.note("after atr")

    def _in(self, b: int) -> None:
        f = self.faults
        f.rx_chars += 1
        k = self.burst
        self.burst += 1
        if f.reject_char and f.rx_chars == f.reject_char and self.mode in ("t0", "t1", "atr"):
            f.note("reject_char")
            # before the first block the mode is still "atr": a card that will speak T=1
            # (its first protocol; a PPS would have told otherwise) has no error signal
            if self.mode == "t1" or (self.mode == "atr" and self.protocols[0] == 1):
                b ^= 0x10  # no error signal in T=1: the block's EDC will be wrong
            else:
                self.discard = True
                self.out += bytes((0x4E, k & 0xFF))
                return
        self._char(b)

    def _char(self, b: int) -> None:
        if self.inverse:
            b = INVERSE[b]
        f = self.faults
        f.received += 1
        if f.remove_after and f.received >= f.remove_after:
            f.note("removed")
            raise ConnectionAbortedError("card removed")
        if self.mode == "atr":
            if b == 0xFF or self.pps:
                self._pps(b)
                return
            self.mode = "t1" if self.protocols[0] == 1 else "t0"
        f.fired["T=%d" % (1 if self.mode == "t1" else 0)] = 1
        with self.vcard.lock:
            if self.mode == "t1":
                self.t1.ifsd = min(self.t1.ifsd, self.t1.ifsd_cap)
                out = self.t1.feed(b)
                self.t1.ifsd = min(self.t1.ifsd, self.t1.ifsd_cap)
                self._emit(out)
            else:
                self._t0(b)

    def _t0(self, b: int) -> None:
        f = self.faults
        hdr_done = not self.t0.need and len(self.t0.hdr) == 4
        out = self.t0.feed(b)
        if hdr_done:
            f.commands += 1
            if f.bad_procedure and f.commands == f.bad_procedure and out:
                f.note("bad_procedure")
                out = b"\x42"
            elif f.nulls() and out:
                f.note("null_bytes")
                for _ in range(f.nulls()):
                    self._emit(b"\x60")
                    self._flush()
                    time.sleep(f.null_delay)
        self._emit(out)

    def _pps(self, b: int) -> None:
        self.pps.append(b)
        req = self.pps
        n = 3 + (1 if len(req) > 1 and req[1] & 0x10 else 0) + \
            (1 if len(req) > 1 and req[1] & 0x20 else 0) + (1 if len(req) > 1 and req[1] & 0x40 else 0)
        if len(req) < 2 or len(req) < n:
            return
        x = 0
        for c in req:
            x ^= c
        t = req[1] & 0x0F
        self.pps = bytearray()
        how = self.faults.pps
        if how == "refuse" or x or t not in self.protocols:
            self.faults.note("pps refused")
            return  # silence: the reader resets
        if how == "wrong":
            self.faults.note("pps refused")
            self._emit(b"\xFF\x00\xFF", after_atr=False)
            return
        self._emit(bytes(req), after_atr=False)
        self.faults.note("pps ok")
        self.mode = "t1" if t == 1 else "t0"

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.powered = False  # out of the slot: no power

    def _run(self) -> None:
        buf = b""
        with self.conn:
            while True:
                try:
                    chunk = self.conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                try:
                    while len(buf) >= 2:
                        kind, b = buf[0], buf[1]
                        buf = buf[2:]
                        if kind in (0x43, 0x57):  # C / W: (re)activation, answer with the ATR
                            self._reset(kind == 0x57)
                        elif kind == 0x4F:  # O: deactivated
                            if self.powered:
                                self.faults.note("deactivated")
                            self.powered = False
                            self.mode = "off"
                        elif kind == 0x4E and self.powered:  # N: repeat the last character
                            self._repeat()
                        elif kind == 0x52 and self.powered:  # R: repeated character
                            self.discard = False
                            self.burst = 0
                            self._in(b)
                        elif kind == 0x44 and self.powered and not self.discard:
                            self._in(b)
                except ConnectionAbortedError:
                    self._flush()
                    return
                if not self._flush():
                    return
