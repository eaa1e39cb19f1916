# The inverse convention (ISO/IEC 7816-3 7.2) for card lines that cannot do it: every
# character bit-reversed and inverted through a table, both ways. Loaded for inverse
# cards only (TS read as 03).

def _rev_inv(b):
    b = ((b & 0xF0) >> 4) | ((b & 0x0F) << 4)
    b = ((b & 0xCC) >> 2) | ((b & 0x33) << 2)
    b = ((b & 0xAA) >> 1) | ((b & 0x55) << 1)
    return (~b) & 0xFF


INVERSE = bytes(_rev_inv(b) for b in range(256))  # inverse <-> direct (an involution)


class InverseLine:
    # Wraps a line that cannot do the inverse convention itself: every character is
    # bit-reversed and inverted through a table, in both directions.
    def __init__(self, line):
        self.line = line
        self._buf = bytearray(64)

    def __getattr__(self, name):
        return getattr(self.line, name)

    def read_byte(self, timeout_etu):
        return INVERSE[self.line.read_byte(timeout_etu)]

    def write(self, data):
        buf = self._buf
        n = len(data)
        i = 0
        try:
            while i < n:
                k = min(n - i, len(buf))
                for j in range(k):
                    buf[j] = INVERSE[data[i + j]]
                self.line.write(memoryview(buf)[:k])
                i += k
        finally:
            for j in range(len(buf)):
                buf[j] = 0  # a VERIFY carries the PIN


