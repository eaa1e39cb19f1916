# Helpers for the unit tests, which run under CPython (pytest) and the MicroPython
# unix port (tests/mpy_run.py) alike: plain asserts, no pytest import.


def raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc.__name__, fn))


def h(s):
    # hex string (spaces allowed) -> bytes, on both runtimes
    s = s.replace(" ", "")
    return bytes(int(s[i:i + 2], 16) for i in range(0, len(s), 2))


class ScriptedLine:
    # A byte-level card peer for protocol unit tests. script: [(expect, reply)] where
    # `expect` is what the reader must have written since the previous reply, and
    # `reply` the characters the card then sends. After its ATR (the reply to a reset) the
    # card is silent until the reader writes, as a card waiting for a command is. Reading
    # past the script times out.
    def __init__(self, script):
        self.script = [(h(e), h(r)) for e, r in script]
        self.sent = bytearray()
        self.rx = bytearray()
        self.reset = True  # a reset since the card last spoke
        self.atr = False  # what the card sent last was its ATR

    def present(self):
        return True

    def write(self, data):
        self.sent += bytes(data)

    def read_byte(self, timeout_etu):
        from sesame.errors import CardTimeout
        if not self.rx:
            if not self.script:
                raise CardTimeout("script over")
            if self.atr and not self.sent and not self.reset:
                raise CardTimeout("card waits for the reader")
            expect, reply = self.script.pop(0)
            self.atr, self.reset = self.reset and not expect, False
            assert bytes(self.sent) == expect, "reader sent %s, expected %s" % (
                bytes(self.sent).hex(), expect.hex())
            self.sent = bytearray()
            self.rx = bytearray(reply)
            if not reply:
                raise CardTimeout("card silent")
        b = self.rx[0]
        self.rx = self.rx[1:]
        return b

    def cold_reset(self):
        self.reset = True

    def warm_reset(self):
        self.reset = True

    def deactivate(self):
        pass


class Ticks:
    # A millisecond clock (ticks_ms) that moves `step` ms each time it is read.
    def __init__(self, step):
        self.step = step
        self.now = 0

    def __call__(self):
        self.now += self.step
        return self.now


def micropython_time():
    # The reader loop reads MicroPython's time.ticks_ms/ticks_diff; CPython's time module
    # gets the same two (sesame.clock's), MicroPython's is left as it is.
    import time
    if not hasattr(time, "ticks_ms"):
        from sesame import clock
        time.ticks_ms = clock.ticks_ms
        time.ticks_diff = clock.ticks_diff
