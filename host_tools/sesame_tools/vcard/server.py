"""The virtual card behind a TCP socket on the loopback, speaking the simulated
board's line framing (see boards/sim/board.py): one connection = one card in the slot.

  reader -> card: b"C\\0" cold reset, b"W\\0" warm reset, b"O\\0" deactivate, b"D" + char
  card -> reader: b"D" + char
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.emv import CapApplet
from sesame_tools.vcard.state import CardState
from sesame_tools.vcard.t0 import T0Card


def state_path(p: profiles.Profile) -> Path:
    return profiles.state_dir() / f"{p.name}.card.json"


class VirtualCard:
    """A card (profile + persistent state) that readers can connect to."""

    def __init__(self, profile: profiles.Profile, state_file: Path | None = None):
        self.profile = profile
        self.state = CardState(state_file or state_path(profile), profile.atc, profile.pin_try_limit)
        self.lock = threading.Lock()  # one reader at a time touches the state
        self._srv: socket.socket | None = None

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
        applet = CapApplet(self.profile, self.state)
        t0 = T0Card(applet)
        powered = False
        buf = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                out = bytearray()
                while len(buf) >= 2:
                    kind, b = buf[0], buf[1]
                    buf = buf[2:]
                    if kind in (0x43, 0x57):  # C / W: (re)activation, answer with the ATR
                        powered = True
                        applet.reset()
                        t0.reset()
                        for c in self.profile.atr:
                            out += bytes((0x44, c))
                    elif kind == 0x4F:  # O: deactivated
                        powered = False
                    elif kind == 0x44 and powered:
                        with self.lock:
                            for c in t0.feed(b):
                                out += bytes((0x44, c))
                if out:
                    try:
                        conn.sendall(out)
                    except OSError:
                        return
