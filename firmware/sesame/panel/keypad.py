# Matrix keypad: scanning and debouncing, board-independent. The board hands in its row
# pins (open drain, idle high), column pins (inputs with pull-ups), a key map and a
# millisecond clock; poll() scans once and returns a key name when a press has just
# become stable. One key at a time: several keys down read as no key, and a key counts
# only when pressed from "nothing pressed" (no roll-over, no auto-repeat).
from micropython import const

NONE = const(-1)
SEVERAL = const(-2)
_PERIOD = const(1 << 30)  # time.ticks_ms() wraps here on MicroPython
_HALF = const(1 << 29)

# 4x4 membrane pad, rows top to bottom, columns left to right (DESIGN.md section 3)
KEYMAP_4X4 = ("1", "2", "3", "CODE",
              "4", "5", "6", "RESPOND",
              "7", "8", "9", "SIGN",
              "CLEAR", "0", "OK", None)
# A 4x3 pad (*, 0, #) plus CODE/RESPOND/SIGN push buttons wired as a fourth column
# between the pad's rows and one more column pin is the same matrix: KEYMAP_4X4.


def ticks_diff(a, b):
    # a - b on a clock that wraps like time.ticks_ms (also correct for plain ints).
    return ((a - b + _HALF) % _PERIOD) - _HALF


class Debouncer:
    # Turns raw scans (key index, NONE or SEVERAL) into presses: a raw value must stay
    # unchanged for debounce_ms before it counts.
    debounce_ms = 20

    def __init__(self, debounce_ms=None):
        if debounce_ms is not None:
            self.debounce_ms = debounce_ms
        self.raw = NONE  # last raw reading
        self.since = None  # when it was first seen
        self.stable = NONE  # debounced value

    def update(self, raw, now):
        # Returns the index of a key just pressed, or NONE.
        if raw != self.raw or self.since is None:
            self.raw = raw
            self.since = now
            return NONE
        if raw == self.stable or ticks_diff(now, self.since) < self.debounce_ms:
            return NONE
        was = self.stable
        self.stable = raw
        if was == NONE and raw >= 0:
            return raw
        return NONE


class MatrixKeypad:
    # Fields: rows, cols (pin objects with value()), keymap (row-major names), clock
    # (() -> ms), deb (Debouncer).
    def __init__(self, rows, cols, keymap, clock, debounce_ms=None):
        self.rows = rows
        self.cols = cols
        self.keymap = keymap
        self.clock = clock
        self.deb = Debouncer(debounce_ms)
        for r in rows:
            r.value(1)

    def scan(self):
        # One pass: each row pulled low in turn, the columns read (low = key down).
        # Index loops: enumerate() would allocate on every poll (the loop polls ~100/s).
        found = NONE
        rows = self.rows
        cols = self.cols
        nc = len(cols)
        for i in range(len(rows)):
            r = rows[i]
            r.value(0)
            for j in range(nc):
                if not cols[j].value():
                    found = SEVERAL if found != NONE else i * nc + j
            r.value(1)
        if found >= 0 and self.keymap[found] is None:
            return NONE
        return found

    def poll(self):
        k = self.deb.update(self.scan(), self.clock())
        return self.keymap[k] if k >= 0 else None

    def any_down(self):
        # True when a key is held (used to wake or to stay awake).
        return self.scan() != NONE
