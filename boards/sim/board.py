# Simulated board: runs on the MicroPython unix port. The card socket is a TCP link to
# the host's virtual card (one connection = one card in the slot), carrying the line
# at byte level in 2-byte frames:
#   reader -> card: "C" 00 cold reset | "W" 00 warm reset | "O" 00 deactivate | "D" b character
#   card -> reader: "D" b character
# The keypad and display are the test link on stdin/stdout (a pseudo-terminal).
import json
import select
import socket
import sys
from micropython import const
from sesame.errors import CardAbsent, CardTimeout

_POLLIN = const(1)
_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)
_SLACK_MS = const(100)  # host scheduling latency allowed on top of every card timeout


class SimLine:
    # Card line over a socket; timeouts in etu scaled by etu_us (93 us = F 372 at 4 MHz).
    def __init__(self, addr, etu_us=93):
        self.addr = addr
        self.etu_us = etu_us
        self.sock = None
        self.poll = select.poll()
        self._f = bytearray(2)
        self._out = bytearray(64)
        self._mv = memoryview(self._f)

    def insert(self):
        if self.sock is None:
            host, port = self.addr.split(":")
            s = socket.socket()
            s.connect(socket.getaddrinfo(host, int(port))[0][-1])
            s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)  # frames go out at once, no Nagle
            self.sock = s
            self.poll.register(s, select.POLLIN)

    def remove(self):
        if self.sock is not None:
            self.poll.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def present(self):
        if self.sock is None:
            return False
        for _, ev in self.poll.poll(0):
            if ev & ~_POLLIN:  # hang-up or error: card pulled out
                self.remove()
                return False
            if not self.sock.recv(1):  # orderly close: card pulled out
                self.remove()
                return False
        return True

    def _send(self, kind, b):
        f = self._f
        f[0] = kind
        f[1] = b
        try:
            self.sock.write(f)
        except OSError:
            self.remove()
            raise CardAbsent("card removed")
        finally:
            f[1] = 0

    def cold_reset(self):
        if self.sock is None:
            raise CardAbsent("no card")
        self._send(67, 0)

    def warm_reset(self):
        if self.sock is None:
            raise CardAbsent("no card")
        self._send(87, 0)

    def deactivate(self):
        if self.sock is not None:
            self._send(79, 0)

    def write(self, data):
        # Frames characters into the preallocated buffer, 32 at a time; wiped after use
        # (a VERIFY command carries the PIN).
        if self.sock is None:
            raise CardAbsent("no card")
        out = self._out
        n = 0
        try:
            for b in data:
                out[n] = 68
                out[n + 1] = b
                n += 2
                if n == len(out):
                    self.sock.write(out)
                    n = 0
            if n:
                self.sock.write(memoryview(out)[:n])
        except OSError:
            self.remove()
            raise CardAbsent("card removed")
        finally:
            for i in range(len(out)):
                out[i] = 0

    def read_byte(self, timeout_etu):
        if self.sock is None:
            raise CardAbsent("no card")
        ms = (timeout_etu * self.etu_us + 999) // 1000 + _SLACK_MS
        got = 0
        while got < 2:
            if not self.poll.poll(ms):
                raise CardTimeout("card silent")
            try:
                n = self.sock.readinto(self._mv[got:])
            except OSError:
                n = 0
            if not n:
                self.remove()
                raise CardAbsent("card removed")
            got += n
        return self._f[1]


class TextDisplay:
    # The sim board's display is its test link (the reader reports every change).
    def show(self, text):
        pass

    def off(self):
        pass


class NoKeys:
    # The sim board has no keypad: keys come over the test link.
    def poll(self):
        return None


class Board:
    name = "sim"

    def __init__(self, settings):
        self.settings = settings
        self.line = SimLine(settings["card"], settings.get("etu_us", 93))
        self.display = TextDisplay()
        self.keys = NoKeys()
        if settings.get("inserted", True):
            self.line.insert()

    def set_card(self, inserted):
        if inserted:
            self.line.insert()
        else:
            self.line.remove()


def make(path="config.json"):
    with open(path) as f:
        settings = json.load(f)
    return Board(settings)
