# The CCID slot's host (sesame.ccid.slot): what the reader gives the PC/SC side. Made by
# the reader loop at the first byte on the board's PC/SC channel, it hooks what the PC/SC
# side needs into the objects already there (nothing of it is in the boot modules):
#   the app      sesame.reader.pcapp.install (PC USE, refused mode keys, PIN entry)
#   board.line   wrapped (ccid.slot.Serving): while the reader's own transaction runs, the
#                host's status polls are answered between characters
#   the loop     no light sleep any more (pcscd polls every 400 ms)
# The PIN entry for the PC runs the loop itself (keys, test link, card switch) until the
# app has an outcome.
#
# Boards with one serial (ESP32: UART0 is the REPL and the test link; board.pcsc_on_stdio)
# get a PC/SC mode on it, entered and left explicitly, never saved (a reset always brings
# the REPL back): `!pcsc on` on the test link (answered `@ok pcsc`, the last text line)
# switches Ctrl-C off (0x03 is the frames' SYNC) and gives the serial to the CCID slot;
# CLEAR pressed three times within 3 s at idle, or the escape `sesame:off` from the host
# (`sesame pcsc --leave`), gives it back (`@ok pcsc off`).
from sesame import VERSION
from sesame.ccid.slot import Serving, Slot
from sesame.reader import pcapp


class PcHost:
    # Fields: reader (sesame.reader.loop.Reader), app, line (the board's own card line),
    # version, slot (the CCID slot on the board's channel).
    def __init__(self, reader, first):
        self.reader = reader
        self.app = reader.app
        board = reader.board
        line = board.line
        if isinstance(line, Serving):  # made before (a one-UART board's mode, again)
            line = line._line
        self.line = line
        self.version = VERSION
        pcapp.install(self.app, self._key)
        self.slot = Slot(board.pcsc, self)
        board.line = Serving(line, self.slot, reader)
        board.pcsc = _Served(self.slot)  # what the loop reads every pass from now on
        reader._sleep = None
        self.slot.f.prime(first)
        reader.slot = self.slot

    def _key(self, k, now):
        if getattr(self.reader, "_stdio", False):
            stdio_key(self.reader, k, now)

    def own_busy(self):
        # The reader's own flow has, or is about to take, the card.
        return self.reader._busy or self.app.state in ("pin", "input", "lasttry")

    def pc_hold(self, held):
        r = self.reader
        r.do(pcapp.hold(self.app, held, r._clock()))

    def pc_pin(self, prompt, lo, hi, ms):
        # Returns the app's outcome; the digits are in app.pin until pc_wipe().
        r = self.reader
        app = self.app
        r.do(pcapp.pin(app, prompt, lo, hi, ms, r._clock()))
        wait = r.board.settings.get("loop_ms", 10)
        while app.state == "pcpin":
            r.step(wait)
            self.slot.keep()
        return app.pc_r

    def pc_wipe(self):
        self.app._wipe()

    def pc_busy(self):
        r = self.reader
        r.do(pcapp.busy(self.app, r._clock()))

    def pc_result(self, sw):
        r = self.reader
        r.do(pcapp.result(self.app, sw, r._clock()))

    def stdio(self):
        # Whether the channel is the REPL's serial (the host may give it back: leave()).
        return getattr(self.reader, "_stdio", False)

    def leave(self):
        stdio_mode(self.reader, "off")


class _Served:
    # board.pcsc once the slot is there: the loop's "readinto" serves the slot instead.
    def __init__(self, slot):
        self.slot = slot

    def readinto(self, buf):
        self.slot.service()
        return 0


class StdioChannel:
    # The REPL's serial as the PC/SC channel: stdin one byte at a time, once poll says one
    # is there (a stream read would wait to fill the buffer), raw bytes to stdout.
    def __init__(self, reader):
        self.r = reader
        self._b = bytearray(1)
        self._out = getattr(reader.stdout, "buffer", reader.stdout)

    def readinto(self, buf):
        if not self.r._ready(0) or not self.r._in.readinto(self._b):
            return 0
        buf[0] = self._b[0]
        return 1

    def write(self, buf):
        n = self._out.write(buf)
        f = getattr(self._out, "flush", None)
        if f:
            f()
        return len(buf) if n is None else n


def _mute(s):
    pass


def _no_key():
    return None


def _kbd_intr(c):
    try:
        import micropython

        micropython.kbd_intr(c)
    except (ImportError, AttributeError):  # CPython (tests)
        pass


def stdio_mode(r, arg):
    # `!pcsc on|off` from the test link (sesame.reader.loop), or the slot's escape.
    if arg == "on":
        if not getattr(r.board, "pcsc_on_stdio", False):
            r.link.event("refused", "pcsc: this board's PC/SC channel is its own port"
                         if getattr(r.board, "pcsc", None) is not None else "pcsc: no PC/SC here")
            return
        if getattr(r, "_stdio", False):
            return
        r.link.event("ok", "pcsc")
        _kbd_intr(-1)
        r.board.pcsc = StdioChannel(r)
        r._stdio = True
        r._presses = 0
        r._serial_text = r._serial
        r._serial = _no_key  # the loop reads no test link now: the slot reads the serial
        r.link.write = _mute  # nothing but frames on the serial now
    elif arg == "off":
        if not getattr(r, "_stdio", False):
            return
        slot = r.slot
        if slot is not None:
            slot.closed = True  # reads no more of the serial
            if slot.powered:
                r.board.line.deactivate()
                slot.release()
        r.slot = None
        r.board.pcsc = None
        r._stdio = False
        r._serial = r._serial_text
        r.link.write = r._write
        _kbd_intr(3)
        r.link.event("ok", "pcsc off")
    else:
        r.link.event("error", "pcsc on|off")


def stdio_key(r, k, now):
    # CLEAR three times within 3 s at idle (no PC application holding the card) leaves.
    if k != "CLEAR" or r.app.state != "idle" or r.app.pc:
        r._presses = 0
        return
    if not r._presses or now - r._first > 3000:
        r._presses = 0
        r._first = now
    r._presses += 1
    if r._presses >= 3:
        stdio_mode(r, "off")
