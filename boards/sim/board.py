# Simulated board: runs on the MicroPython unix port. The card socket is a TCP link to
# the host's virtual card (one connection = one card in the slot), carrying the line
# at byte level in 2-byte frames:
#   reader -> card: "C" 00 cold reset | "W" 00 warm reset | "O" 00 deactivate | "D" b character
#                   | "N" 00 error signal: the last character had a parity error (T=0 only)
#                   | "R" b a character repeated after the card's error signal
#   card -> reader: "D" b character | "E" b character received with a parity error
#                   | "N" k error signal on the k-th character (from 0) the reader sent
#                     since the card last spoke; the card ignores "D" frames until an
#                     "R": the line repeats that character and the ones after it (T=0)
# The inverse convention travels as it would on the wire read in direct convention (TS
# reads 03); set_convention() answers False so the session decodes it. Rates: any F/D.
# The keypad and display are the test link on stdin/stdout (a pseudo-terminal); the PC/SC
# channel is in simpcsc.py.
import json
import select
import socket
import sys
from micropython import const
from sesame.errors import CardAbsent, CardTimeout, ProtocolError
from sesame.iso7816.session import Counters

_POLLIN = const(1)
_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)
_SLACK_MS = const(100)  # host scheduling latency allowed on top of every card timeout
_MAX_WAIT_MS = const(60_000)  # one wait at most, as on the real boards (drivers/cardline.py)
_REPEATS = const(4)  # parity errors on one character before giving up
_LOOK_MS = const(50)  # while waiting for the card, on_wait is called this often


class SimLine:
    # Card line over a socket; timeouts in etu scaled by etu_us (93 us = F 372 at 4 MHz).
    def __init__(self, addr, etu_us=93):
        self.addr = addr
        self.etu_us = etu_us
        self._etu0 = etu_us  # at F 372, D 1
        self.sock = None
        self.poll = select.poll()
        self._f = bytearray(2)
        self._out = bytearray(64)
        self._mv = memoryview(self._f)
        self._mv1 = self._mv[1:]
        self.counters = Counters()
        # characters sent since the card last spoke: at most a T=1 block (3 + 254 + 2) or
        # a T=0 command's data after the ACK
        self._sent = bytearray(259)
        self._sn = 0
        self.protocol = -1  # 0 or 1 while the card is powered, -1 when not
        self.guard = 0
        self.on_wait = None  # the reader's hook while it waits for the card (session.py)

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
        for _, ev in self.poll.ipoll(0):  # ipoll: no list made at each pass of the idle loop
            if ev & ~_POLLIN:  # hang-up or error: card pulled out
                self.remove()
                return False
            if self.protocol >= 0:  # powered: the card's characters are read_byte's
                break
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
        self.protocol = 0
        self.guard = 0
        self.etu_us = self._etu0
        self._send(67, 0)

    def warm_reset(self):
        if self.sock is None:
            raise CardAbsent("no card")
        self.protocol = 0
        self.guard = 0
        self.etu_us = self._etu0
        self._send(87, 0)

    def set_convention(self, inverse):
        return False  # the session decodes the inverse convention

    def set_guard(self, n):
        self.guard = 0 if n == 255 else n

    def set_protocol(self, t):
        self.protocol = t

    def supports_rate(self, f, d):
        return f > 0 and d > 0

    def set_rate(self, f, d):
        # The socket has no clock: only the timeouts follow the new etu.
        self.etu_us = max(1, self._etu0 * f // (372 * d))

    def deactivate(self):
        self._wipe()
        self.protocol = -1
        if self.sock is not None:
            self._send(79, 0)

    def write(self, data):
        # Frames characters into the preallocated buffer, 32 at a time; wiped after use
        # (a VERIFY command carries the PIN). What the card sent meanwhile (a stray byte
        # after its ATR) is dropped first, as the real boards do.
        if self.sock is None:
            raise CardAbsent("no card")
        while self._ready(0):
            self._frame(_SLACK_MS)
            if self._f[0] not in (68, 69):  # only characters ("D", "E") are stray
                raise ProtocolError("card signalled out of turn")
            self.counters.rx += 1
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
            sent = self._sent
            k = self._sn
            for b in data:
                if k < len(sent):
                    sent[k] = b
                    k += 1
            self._sn = k
            c = self.counters
            c.tx += len(data)
            c.etu += len(data) * (12 + self.guard)
        except OSError:
            self.remove()
            raise CardAbsent("card removed")
        finally:
            for i in range(len(out)):
                out[i] = 0

    def _wipe(self):
        if self._sn:
            sent = self._sent
            for i in range(self._sn):
                sent[i] = 0  # a VERIFY carries the PIN
            self._sn = 0

    def _repeat(self, k):
        # The card rejected our k-th character: send it again ("R"), then the rest.
        sent = self._sent
        n = self._sn
        if k >= n:
            raise ProtocolError("error signal on no character")
        self._send(82, sent[k])
        for i in range(k + 1, n):
            self._send(68, sent[i])
        for i in range(k, n):  # kept for a further repeat
            sent[i - k] = sent[i]
        self._sn = n - k
        c = self.counters
        c.repeats += 1
        c.tx += n - k
        c.etu += (n - k) * (12 + self.guard)

    def _ready(self, ms):
        # Whether the card spoke within ms (ipoll: nothing allocated per character).
        for _ in self.poll.ipoll(ms):
            return True
        return False

    def _frame(self, ms):
        got = 0
        while got < 2:
            left = ms  # waited in slices, on_wait (which may raise) called between them
            while left > _LOOK_MS and self.on_wait is not None and not self._ready(_LOOK_MS):
                self.on_wait()
                if self.sock is None:  # `!card out` meanwhile
                    raise CardAbsent("card removed")
                left -= _LOOK_MS
            if not self._ready(left):  # at once when the card spoke
                raise CardTimeout("card silent")
            try:
                n = self.sock.readinto(self._mv1 if got else self._mv)  # views made once
            except OSError:
                n = 0
            if not n:
                self.remove()
                raise CardAbsent("card removed")
            got += n

    def read_byte(self, timeout_etu):
        if self.sock is None:
            raise CardAbsent("no card")
        ms = min((timeout_etu * self.etu_us + 999) // 1000, _MAX_WAIT_MS) + _SLACK_MS
        c = self.counters
        for _ in range(_REPEATS + 1):
            self._frame(ms)
            kind = self._f[0]
            if kind == 78:  # "N": the card rejected one of ours (T=0 error signal)
                if self.protocol != 0:
                    raise ProtocolError("error signal in T=1")
                self._repeat(self._f[1])
                continue
            self._wipe()
            c.rx += 1
            c.etu += 12
            if kind != 69:  # "E": parity error
                return self._f[1]
            c.repeats += 1
            if self.protocol != 0:
                raise ProtocolError("parity error")
            self._send(78, 0)  # "N": error signal, the card repeats the character
        raise ProtocolError("parity errors")


class Board:
    name = "sim"

    def __init__(self, settings):
        self.settings = settings
        self.line = SimLine(settings["card"], settings.get("etu_us", 93))
        # The board is its own display and keypad (two classes fewer in a small heap): the
        # display is the test link (the reader reports every change), keys come over it too.
        self.display = self
        self.keys = self
        if settings.get("inserted", True):
            self.line.insert()
        if settings.get("pcsc"):
            import simpcsc  # the PC/SC channel (boards/sim/simpcsc.py)

            simpcsc.attach(self, settings["pcsc"])

    def show(self, text):
        pass

    def off(self):
        pass

    def poll(self):
        return None  # no keypad

    def set_card(self, inserted):
        if inserted:
            self.line.insert()
        else:
            self.line.remove()


def make(path="config.json"):
    with open(path) as f:
        settings = json.load(f)
    return Board(settings)
