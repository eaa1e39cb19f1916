"""The simulated board's PC/SC channel: a pty for pcscd (like a Pico's /dev/ttyACM1) and
a loopback socket the board process connects to (boards/sim/board.py: the socket is the
board's `pcsc`). Bytes
pass through unchanged both ways: no Ctrl-C, no CR/LF cooking. A new connection (the
board rebooted) replaces the old one; what the board writes while nobody reads the pty
waits there (up to 1 MB), as on a USB CDC."""

from __future__ import annotations

import os
import select
import socket
import threading

from sesame_tools.boardio.pty import open_raw_pty

_MAX_PENDING = 1 << 20


class PcscChannel:
    """start() -> the address for the board's config.json; `port` is the pty; `tap`, when a
    list, records ("in" = host to board / "out", bytes)."""

    def __init__(self) -> None:
        self.port: str | None = None
        self.tap: list[tuple[str, bytes]] | None = None
        self._master = self._slave = -1
        self._listen: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        if self._listen is None:
            self._master, self._slave, self.port = open_raw_pty()
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", 0))
            ls.listen(2)
            self._listen = ls
            self._thread = threading.Thread(target=self._relay, name="simboard-pcsc", daemon=True)
            self._thread.start()
        return "127.0.0.1:%d" % self._listen.getsockname()[1]

    def stop(self) -> None:
        ls, self._listen = self._listen, None
        if self._thread:
            self._thread.join(5)
            self._thread = None
        if ls is not None:
            ls.close()
        for fd in (self._master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = -1

    def _relay(self) -> None:
        master = self._master
        conn: socket.socket | None = None
        to_pty = bytearray()
        while self._listen is not None:
            ls = self._listen
            rl = [ls, master] + ([conn] if conn else [])
            try:
                r, w, _ = select.select(rl, [master] if to_pty else [], [], 0.05)
            except (OSError, ValueError):
                continue
            if ls in r:
                try:
                    new, _ = ls.accept()
                except OSError:
                    continue
                new.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if conn:
                    conn.close()
                conn = new
            if conn and conn in r:
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    conn.close()
                    conn = None
                else:
                    if self.tap is not None:
                        self.tap.append(("out", data))
                    to_pty += data
                    del to_pty[:max(0, len(to_pty) - _MAX_PENDING)]
            if master in r:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    data = b""
                if data:
                    if self.tap is not None:
                        self.tap.append(("in", data))
                    if conn:
                        try:
                            conn.sendall(data)
                        except OSError:
                            conn.close()
                            conn = None
            if master in w and to_pty:
                try:
                    del to_pty[:os.write(master, to_pty)]
                except BlockingIOError:
                    pass
                except OSError:
                    to_pty.clear()
        if conn:
            conn.close()
