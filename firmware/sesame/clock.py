# MicroPython's millisecond clock, also on CPython (host tools and tests run the
# protocol code there): ticks_ms() and ticks_diff(a, b). The transports bound how long a
# card may ask for more time with it.
try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython
    from time import monotonic

    def ticks_ms():
        return int(monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


WORK_MS = 60_000  # one command: a card may work (NULL bytes, WTX) this long, not forever
