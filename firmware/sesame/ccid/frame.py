# The serial frame of pcscd's GemPC driver (LudovicRousseau/CCID src/ccid_serial.c), reader
# side. Host -> reader, and the reader's answer:
#   03 06 <CCID message: 10-byte header + dwLength bytes> LRC   (LRC = XOR of all before it)
# Reader -> host, besides answers:
#   03 15 16          NAK: the frame we got was bad (LRC, control byte, length, stalled)
#   echo              GemPC types read one frame and drop it before each answer. We echo the
#                     command's header with dwLength 0: the driver checks the echo's length
#                     against its answer buffer (ReadSerial), which a literal echo of a long
#                     command (the 165-byte l10n escape) overflows, and the reader is refused.
#   50 02 / 50 03     NotifySlotChange: card absent / present (only logged by the driver)
#   80..FF            time request: the driver's read timeout starts again (T=0 and T=1)
# Nothing else may ever go out: a stray byte puts the driver's buffer out of step for good.
#
# Channel (board.pcsc): readinto(buf) -> n, 0 or None (what has come, never waiting, nothing
# allocated when nothing came: the reader loop asks every pass); write(buf) -> n, 0 or None
# (None: nothing could go now). A non-blocking socket is one (the simulated board's).
# Buffers are made once; nothing is allocated per byte.
from micropython import const
from sesame.clock import ticks_diff, ticks_ms

SYNC = const(0x03)
ACK = const(0x06)
NAK = const(0x15)
MAX_DATA = const(261)  # dwMaxCCIDMessageLength 271 the driver assumes, less the header
HDR = const(10)
DATA = const(12)  # where an answer's data go in tx: after SYNC ACK and the header

_IDLE = const(0)
_CTRL = const(1)
_BODY = const(2)
_LRC = const(3)
_STALL_MS = const(200)  # a frame that stops coming this long is dropped (NAKed)
_JUNK_MS = const(20)  # bytes outside a frame: NAKed once the line is quiet this long


class Framer:
    # Fields: ch (the channel), rx (the message received: header + data), tx (an answer:
    # SYNC ACK header data LRC), last_out (ms of the last byte sent: time requests), naks.
    def __init__(self, ch, ticks=ticks_ms):
        self.ch = ch
        self.ticks = ticks
        self.rx = bytearray(HDR + MAX_DATA)
        self.tx = bytearray(DATA + 258 + 1)  # 256 data + SW, the longest answer
        self._in = bytearray(32)  # bytes read, not yet parsed: _in[_i:_m]
        self._i = 0
        self._m = 0
        self._one = bytearray(2)
        self._st = _IDLE
        self._n = 0
        self._need = 0
        self._lrc = 0
        self._t = 0  # ms of the last byte received
        self._junk = False  # bytes outside a frame since the last NAK
        self.last_out = ticks()
        self.naks = 0

    def poll(self):
        # Parses what has arrived; True when rx holds a whole, good message (its length:
        # length()). Bad frames and stray bytes are answered with NAK here.
        now = self.ticks()
        while True:
            if self._i >= self._m:
                self._i = 0
                self._m = self.ch.readinto(self._in) or 0
                if not self._m:
                    break
            b = self._in[self._i]
            self._i += 1
            self._t = now
            if self._byte(b):
                return True
        if self._st != _IDLE and ticks_diff(now, self._t) > _STALL_MS:
            self._st = _IDLE
            self.nak()
        elif self._junk and self._st == _IDLE and ticks_diff(now, self._t) > _JUNK_MS:
            self.nak()
        return False

    def _byte(self, b):
        st = self._st
        if st == _IDLE:
            if b == SYNC:
                self._st = _CTRL
                self._junk = False
            else:
                self._junk = True
            return False
        if st == _CTRL:
            if b == ACK:
                self._st = _BODY
                self._n = 0
                self._need = HDR
                self._lrc = SYNC ^ ACK
            elif b != SYNC:  # SYNC SYNC: the second one may start the frame
                self._st = _IDLE
                self.nak()
            return False
        self._lrc ^= b
        if st == _BODY:
            rx = self.rx
            n = self._n
            rx[n] = b
            n += 1
            self._n = n
            if n == 5:
                ln = rx[1] | rx[2] << 8 | rx[3] << 16 | rx[4] << 24
                if ln > MAX_DATA:
                    self._st = _IDLE
                    self.nak()
                    self._junk = True  # its data follow: NAK again once they stop
                    return False
                self._need = HDR + ln
            if n == self._need:
                self._st = _LRC
            return False
        self._st = _IDLE  # LRC: it cancels the XOR of everything before it
        if self._lrc:
            self.nak()
            return False
        return True

    def prime(self, b):
        # A byte the reader loop already read (the channel's first): parsed before the rest.
        self._in[0] = b
        self._i = 0
        self._m = 1

    def length(self):
        return self._n

    # -- what goes out ----------------------------------------------------------------

    def _write(self, buf, n):
        mv = memoryview(buf)
        sent = 0
        end = self.ticks()
        while sent < n:
            k = self.ch.write(mv[sent:n]) or 0
            sent += k
            if not k and ticks_diff(self.ticks(), end) > 1000:
                break  # nobody reads the channel: drop the rest
        self.last_out = self.ticks()

    def nak(self):
        self._junk = False
        self.naks += 1
        t = self.tx
        t[0] = SYNC
        t[1] = NAK
        t[2] = SYNC ^ NAK
        self._write(t, 3)

    def echo(self):
        # The command's header back, dwLength 0, as the driver's echo.
        t = self.tx
        rx = self.rx
        for i in range(HDR):
            t[2 + i] = rx[i]
        t[3] = t[4] = t[5] = t[6] = 0
        self.send_tx(HDR)

    def answer(self, mtype, n, status, error, spec=0):
        # An answer to the message in rx; its data are already in tx[DATA:DATA + n].
        t = self.tx
        t[2] = mtype
        t[3] = n & 0xFF
        t[4] = n >> 8
        t[5] = t[6] = 0
        t[7] = 0  # slot
        t[8] = self.rx[6]  # bSeq
        t[9] = status
        t[10] = error
        t[11] = spec
        self.send_tx(HDR + n)

    def send_tx(self, msg_len):
        t = self.tx
        t[0] = SYNC
        t[1] = ACK
        x = 0
        end = 2 + msg_len
        for i in range(end):
            x ^= t[i]
        t[end] = x
        self._write(t, end + 1)

    def byte(self, b, b2=-1):
        # A time request (80) or a slot change (50 xx) between frames.
        o = self._one
        o[0] = b
        n = 1
        if b2 >= 0:
            o[1] = b2
            n = 2
        self._write(o, n)
