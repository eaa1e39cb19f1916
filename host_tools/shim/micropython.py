"""CPython stand-in for MicroPython's `micropython` module, so the firmware's pure
layers import unchanged on the host (the host tools and the virtual card reuse them)."""


def const(x):
    return x
