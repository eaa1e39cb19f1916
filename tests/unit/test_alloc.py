# No allocation per received byte in the steady state. Under the MicroPython unix port
# (tests/test_micropython.py runs this module there) the per-byte receive loops of T=0,
# T=1 and the inverse-convention decoder run with the heap locked: any allocation raises
# MemoryError. Under CPython the same loops run unlocked (their results are checked).
from unitcheck import h
from sesame.iso7816 import atr, edc
from sesame.panel.keypad import KEYMAP_4X4, MatrixKeypad
from sesame.iso7816.inverse import INVERSE, InverseLine
from sesame.iso7816.t0 import T0
from sesame.iso7816.t1 import T1

try:
    from micropython import heap_lock, heap_unlock
except ImportError:  # CPython
    def heap_lock():
        pass

    def heap_unlock():
        pass


class BufLine:
    # Serves a preallocated buffer; never allocates in read_byte.
    def __init__(self, data):
        self.buf = bytearray(data)
        self.i = 0

    def read_byte(self, timeout_etu):
        b = self.buf[self.i]
        self.i += 1
        return b

    def write(self, data):
        pass


# Calls are made directly between heap_lock() and heap_unlock() (passing a bound method
# or *args would itself allocate); a MemoryError leaves the heap locked only until the
# unlock below, so the failure is reported.


def test_t1_block_receive_does_not_allocate():
    for crc in (False, True):
        a = atr.Atr(h("3B 80 81 31 FE 45 8B"))
        a.edc = "crc" if crc else "lrc"
        blk = edc.block(0, 0x00, bytes(range(254)), crc)
        line = BufLine(blk)
        t = T1(line, a)
        t._n = 0
        heap_lock()
        try:
            st = t._recv()
            t._collect()
        finally:
            heap_unlock()
        assert st == 0 and t._rxn == len(blk)
        assert t._n == 254 and t._resp[253] == 253


def test_t0_data_receive_does_not_allocate():
    a = atr.Atr(h("3B 65 00 00 20 63 CB 68 00"))
    line = BufLine(bytes(range(256)))
    t = T0(line, a)
    t._n = 0
    heap_lock()
    try:
        got = t._recv(256, 0)
    finally:
        heap_unlock()
    assert got == 256 and t._resp[255] == 255


def test_inverse_decoding_does_not_allocate():
    line = InverseLine(BufLine(bytes(INVERSE[b] for b in range(200))))

    want = 0
    for b in range(200):
        want ^= b
    x = 0
    heap_lock()
    try:
        for _ in range(200):
            x ^= line.read_byte(10)
    finally:
        heap_unlock()
    assert x == want


class Pin:
    # A keypad pin: a row drives it, a column reads it (low = the key on it is down).
    def __init__(self, level=1):
        self.level = level

    def value(self, v=None):
        if v is not None:
            self.level = v
        return self.level


def test_keypad_poll_does_not_allocate():
    # the reader polls the keypad on every pass of its loop (~100 times a second)
    cols = [Pin(), Pin(), Pin(), Pin()]
    pad = MatrixKeypad([Pin(), Pin(), Pin(), Pin()], cols, KEYMAP_4X4, None, 0)
    heap_lock()
    try:
        idle = pad.scan()
        idle2 = pad.deb.update(idle, 5)
        cols[2].level = 0  # every row reads this column low: several keys
        several = pad.scan()
    finally:
        heap_unlock()
    assert (idle, idle2, several) == (-1, -1, -2)


def test_the_lock_is_real_under_micropython():
    try:
        from micropython import heap_lock as real  # noqa: F401
    except ImportError:
        return  # CPython has no heap lock
    heap_lock()
    try:
        bytearray(16)
        failed = False
    except MemoryError:
        failed = True
    finally:
        heap_unlock()
    assert failed, "heap_lock did not stop an allocation"
