# MAX7219 8-digit 7-segment driver (datasheet: serial 16-bit frames, register then data,
# latched on CS rising). Bus-independent: any object with write(buf) as the SPI bus and a
# pin object as CS (SPI mode 0, up to 10 MHz). Digit register 1 is the rightmost digit on
# the common 8-digit modules, so the text's leftmost character goes to register 8.
from micropython import const
from sesame.panel import segments

_NOOP = const(0x00)
_DIGIT0 = const(0x01)
_DECODE = const(0x09)
_INTENSITY = const(0x0A)
_SCAN_LIMIT = const(0x0B)
_SHUTDOWN = const(0x0C)
_TEST = const(0x0F)

_INIT = (
    (_TEST, 0),  # normal operation, not display test
    (_DECODE, 0),  # no BCD decode: raw segments on every digit
    (_SCAN_LIMIT, 7),  # scan digits 0-7
    (_INTENSITY, 4),  # 9/32 duty cycle, 0-15
    (_SHUTDOWN, 1),  # normal operation
)


class Max7219:
    # Fields: spi, cs, frame (2-byte buffer), seg (8 patterns, leftmost first).
    def __init__(self, spi, cs, intensity=4):
        self.spi = spi
        self.cs = cs
        self.frame = bytearray(2)
        self.seg = bytearray(segments.DIGITS)
        cs.value(1)
        for reg, val in _INIT:
            self._write(reg, intensity if reg == _INTENSITY else val)
        self.show("")

    def _write(self, reg, val):
        f = self.frame
        f[0] = reg
        f[1] = val
        self.cs.value(0)
        self.spi.write(f)
        self.cs.value(1)

    def show(self, text):
        self._write(_SHUTDOWN, 1)
        segments.encode(text, self.seg)
        for i in range(segments.DIGITS):
            self._write(_DIGIT0 + segments.DIGITS - 1 - i, self.seg[i])

    def off(self):
        # Blank and shut down (the chip keeps its registers, draws ~150 uA).
        for i in range(segments.DIGITS):
            self._write(_DIGIT0 + i, 0)
        self._write(_SHUTDOWN, 0)

    def intensity(self, level):
        self._write(_INTENSITY, level & 15)
