# Matrix keypad scan and debounce against simulated pins that bounce.
from sesame.panel import keypad


class Rng:
    # Small deterministic generator (same numbers on both runtimes).
    def __init__(self, seed):
        self.s = seed

    def next(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


class Matrix:
    # 4 rows x 4 columns of switches; `down` maps (row, col) -> contact closed now.
    def __init__(self):
        self.t = 0
        self.drive = [1, 1, 1, 1]
        self.closed = set()
        self.rows = [self.Row(self, i) for i in range(4)]
        self.cols = [self.Col(self, j) for j in range(4)]

    class Row:
        def __init__(self, m, i):
            self.m, self.i = m, i

        def value(self, v=None):
            if v is not None:
                self.m.drive[self.i] = v
            return self.m.drive[self.i]

    class Col:
        def __init__(self, m, j):
            self.m, self.j = m, j

        def value(self):
            for (r, c) in self.m.closed:
                if c == self.j and self.m.drive[r] == 0:
                    return 0
            return 1


def bouncing_presses(keys, period_ms=100, hold_ms=50, bounce_ms=6, poll_ms=10, seed=1,
                     debounce_ms=20):
    # Presses keys at 1000/period_ms per second; each edge chatters for up to bounce_ms
    # (contact flipping every ms at random). Polled every poll_ms (+-3 ms jitter).
    m = Matrix()
    rng = Rng(seed)
    pad = keypad.MatrixKeypad(m.rows, m.cols, keypad.KEYMAP_4X4, lambda: m.t, debounce_ms)
    pos = {}
    for i, name in enumerate(keypad.KEYMAP_4X4):
        if name is not None:
            pos[name] = (i // 4, i % 4)
    timeline = []  # per ms: contact set
    for k in keys:
        rc = pos[k]
        b1 = rng.next(bounce_ms + 1)
        b2 = rng.next(bounce_ms + 1)
        for t in range(period_ms):
            if t < b1:
                on = rng.next(2) == 1
            elif t < hold_ms:
                on = True
            elif t < hold_ms + b2:
                on = rng.next(2) == 1
            else:
                on = False
            timeline.append(rc if on else None)
    got = []
    t = 0
    while t < len(timeline) + 100:
        m.t = t
        c = timeline[t] if t < len(timeline) else None
        m.closed = {c} if c else set()
        k = pad.poll()
        if k is not None:
            got.append(k)
        t += poll_ms - 3 + rng.next(7)
    return got


KEYS = ["CODE", "1", "2", "3", "4", "OK", "CLEAR", "9", "9", "0", "RESPOND", "SIGN", "5",
        "5", "5", "6", "7", "8"]


def test_ten_presses_per_second_with_bounce_no_miss_no_double():
    for seed in range(1, 6):
        assert bouncing_presses(KEYS, seed=seed) == KEYS, seed


def test_debounce_tunable_and_fast_polling():
    assert bouncing_presses(KEYS, poll_ms=4, debounce_ms=30, seed=7) == KEYS
    assert bouncing_presses(KEYS, poll_ms=2, debounce_ms=25, seed=8) == KEYS


def test_bounce_alone_is_no_press():
    d = keypad.Debouncer(20)
    got = [d.update(v, t) for t, v in enumerate([5, -1, 5, -1, 5, -1, -1, 5, -1] * 3)]
    assert all(g == keypad.NONE for g in got)


def test_several_keys_are_ignored_and_no_rollover():
    m = Matrix()
    pad = keypad.MatrixKeypad(m.rows, m.cols, keypad.KEYMAP_4X4, lambda: m.t)
    seen = []
    m.closed = {(0, 0), (1, 1)}  # "1" and "5" together
    for t in range(0, 100, 10):
        m.t = t
        seen.append(pad.poll())
    m.closed = {(1, 1)}  # "1" released, "5" still held: not a new press
    for t in range(100, 200, 10):
        m.t = t
        seen.append(pad.poll())
    m.closed = set()
    for t in range(200, 300, 10):
        m.t = t
        seen.append(pad.poll())
    m.closed = {(3, 2)}  # "OK"
    for t in range(300, 400, 10):
        m.t = t
        seen.append(pad.poll())
    assert [k for k in seen if k] == ["OK"]


def test_unmapped_position_and_clock_wrap():
    m = Matrix()
    pad = keypad.MatrixKeypad(m.rows, m.cols, keypad.KEYMAP_4X4, lambda: m.t)
    m.closed = {(3, 3)}  # no key there
    got = []
    for t in range(0, 100, 10):
        m.t = t
        got.append(pad.poll())
    assert got == [None] * 10
    # ticks_ms wraps at 2**30: a press across the wrap still counts once
    m.closed = set()
    base = (1 << 30) - 25
    for i in range(6):
        m.t = (base + i * 10) % (1 << 30)
        pad.poll()
    m.closed = {(0, 3)}
    out = []
    for i in range(6, 12):
        m.t = (base + i * 10) % (1 << 30)
        out.append(pad.poll())
    assert [k for k in out if k] == ["CODE"]
    assert keypad.ticks_diff(5, (1 << 30) - 5) == 10
