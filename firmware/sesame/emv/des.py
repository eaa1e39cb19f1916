# Single DES (FIPS 46-3) and the Mode-2 TDS built on it: MicroPython has no DES. Small and slow on
# purpose: a TDS MAC is a few blocks once per transaction. Bits live in preallocated
# bytearrays (one bit a byte, bit 1 = the block's most significant bit), so every
# value stays a small int and the rounds allocate nothing.
from micropython import const

_ROUNDS = const(16)


def _t(s):
    # a FIPS table as bytes of 0-based positions
    return bytes(int(x) - 1 for x in s.split())


_IP = _t("58 50 42 34 26 18 10 2 60 52 44 36 28 20 12 4 62 54 46 38 30 22 14 6 "
         "64 56 48 40 32 24 16 8 57 49 41 33 25 17 9 1 59 51 43 35 27 19 11 3 "
         "61 53 45 37 29 21 13 5 63 55 47 39 31 23 15 7")
_FP = bytearray(64)  # IP^-1
for _i in range(64):
    _FP[_IP[_i]] = _i
_E = _t("32 1 2 3 4 5 4 5 6 7 8 9 8 9 10 11 12 13 12 13 14 15 16 17 "
        "16 17 18 19 20 21 20 21 22 23 24 25 24 25 26 27 28 29 28 29 30 31 32 1")
_P = _t("16 7 20 21 29 12 28 17 1 15 23 26 5 18 31 10 2 8 24 14 32 27 3 9 "
        "19 13 30 6 22 11 4 25")
_PC1 = _t("57 49 41 33 25 17 9 1 58 50 42 34 26 18 10 2 59 51 43 35 27 19 11 3 60 52 44 36 "
          "63 55 47 39 31 23 15 7 62 54 46 38 30 22 14 6 61 53 45 37 29 21 13 5 28 20 12 4")
_PC2 = _t("14 17 11 24 1 5 3 28 15 6 21 10 23 19 12 4 26 8 16 7 27 20 13 2 "
          "41 52 31 37 47 55 30 40 51 45 33 48 44 49 39 56 34 53 46 42 50 36 29 32")
_SHIFTS = b"\x01\x01\x02\x02\x02\x02\x02\x02\x01\x02\x02\x02\x02\x02\x02\x01"
# S-boxes S1..S8, 64 entries each, row-major (row = outer bits, column = inner 4 bits).
_S = bytes(int(x) for x in (
    "14 4 13 1 2 15 11 8 3 10 6 12 5 9 0 7 0 15 7 4 14 2 13 1 10 6 12 11 9 5 3 8 "
    "4 1 14 8 13 6 2 11 15 12 9 7 3 10 5 0 15 12 8 2 4 9 1 7 5 11 3 14 10 0 6 13 "
    "15 1 8 14 6 11 3 4 9 7 2 13 12 0 5 10 3 13 4 7 15 2 8 14 12 0 1 10 6 9 11 5 "
    "0 14 7 11 10 4 13 1 5 8 12 6 9 3 2 15 13 8 10 1 3 15 4 2 11 6 7 12 0 5 14 9 "
    "10 0 9 14 6 3 15 5 1 13 12 7 11 4 2 8 13 7 0 9 3 4 6 10 2 8 5 14 12 11 15 1 "
    "13 6 4 9 8 15 3 0 11 1 2 12 5 10 14 7 1 10 13 0 6 9 8 7 4 15 14 3 11 5 2 12 "
    "7 13 14 3 0 6 9 10 1 2 8 5 11 12 4 15 13 8 11 5 6 15 0 3 4 7 2 12 1 10 14 9 "
    "10 6 9 0 12 11 7 13 15 1 3 14 5 2 8 4 3 15 0 6 10 1 13 8 9 4 5 11 12 7 2 14 "
    "2 12 4 1 7 10 11 6 8 5 3 15 13 0 14 9 14 11 2 12 4 7 13 1 5 0 15 10 3 9 8 6 "
    "4 2 1 11 10 13 7 8 15 9 12 5 6 3 0 14 11 8 12 7 1 14 2 13 6 15 0 9 10 4 5 3 "
    "12 1 10 15 9 2 6 8 0 13 3 4 14 7 5 11 10 15 4 2 7 12 9 5 6 1 13 14 0 11 3 8 "
    "9 14 15 5 2 8 12 3 7 0 4 10 1 13 11 6 4 3 2 12 9 5 15 10 11 14 1 7 6 0 8 13 "
    "4 11 2 14 15 0 8 13 3 12 9 7 5 10 6 1 13 0 11 7 4 9 1 10 14 3 5 12 2 15 8 6 "
    "1 4 11 13 12 3 7 14 10 15 6 8 0 5 9 2 6 11 13 8 1 4 10 7 9 5 0 15 14 2 3 12 "
    "13 2 8 4 6 15 11 1 10 9 3 14 5 0 12 7 1 15 13 8 10 3 7 4 12 5 6 11 0 14 9 2 "
    "7 11 4 1 9 12 14 2 0 6 10 13 15 3 5 8 2 1 14 7 4 10 8 13 15 12 9 0 3 5 6 11").split())


class DES:
    # One key, encryption only (all CAP needs). Fields: subkeys (16 x 48 bits) and
    # scratch bit arrays reused by every block.
    def __init__(self, key):
        if len(key) != 8:
            raise ValueError("DES key is 8 bytes")
        self._ks = bytearray(_ROUNDS * 48)
        self._b = bytearray(64)  # block bits
        self._lr = bytearray(64)  # L | R after IP
        self._x = bytearray(48)  # E(R) xor K
        self._f = bytearray(32)  # S-box outputs before P
        kb = self._b
        self._bits(key, kb)
        cd = bytearray(56)
        for i in range(56):
            cd[i] = kb[_PC1[i]]
        ks = self._ks
        for r in range(_ROUNDS):
            for _ in range(_SHIFTS[r]):  # rotate C and D left by one
                c0, d0 = cd[0], cd[28]
                for i in range(27):
                    cd[i] = cd[i + 1]
                    cd[28 + i] = cd[29 + i]
                cd[27], cd[55] = c0, d0
            o = r * 48
            for i in range(48):
                ks[o + i] = cd[_PC2[i]]
        for i in range(64):
            kb[i] = 0

    @staticmethod
    def _bits(data, out):
        for i in range(64):
            out[i] = (data[i >> 3] >> (7 - (i & 7))) & 1

    def encrypt_block(self, block, out=None):
        # 8 bytes in, 8 bytes out (a new bytearray unless `out` is given).
        b, lr, x, f, ks = self._b, self._lr, self._x, self._f, self._ks
        self._bits(block, b)
        for i in range(64):
            lr[i] = b[_IP[i]]
        for r in range(_ROUNDS):
            o = r * 48
            for i in range(48):  # expansion of R, xor the round key
                x[i] = lr[32 + _E[i]] ^ ks[o + i]
            for s in range(8):
                j = s * 6
                row = (x[j] << 1) | x[j + 5]
                col = (x[j + 1] << 3) | (x[j + 2] << 2) | (x[j + 3] << 1) | x[j + 4]
                v = _S[(s << 6) + (row << 4) + col]
                k = s * 4
                f[k] = v >> 3
                f[k + 1] = (v >> 2) & 1
                f[k + 2] = (v >> 1) & 1
                f[k + 3] = v & 1
            for i in range(32):  # L' = R, R' = L xor P(f)
                t = lr[i] ^ f[_P[i]]
                lr[i] = lr[32 + i]
                lr[32 + i] = t
        for i in range(32):  # undo the last swap: R16 L16
            t = lr[i]
            lr[i] = lr[32 + i]
            lr[32 + i] = t
        if out is None:
            out = bytearray(8)
        for i in range(8):
            v = 0
            for j in range(8):
                v = (v << 1) | lr[_FP[i * 8 + j]]
            out[i] = v
        for i in range(64):
            b[i] = 0
        return out

    def cbc(self, data, iv=b"\x00\x00\x00\x00\x00\x00\x00\x00"):
        # CBC encryption of whole 8-byte blocks; returns the ciphertext (bytes).
        if len(data) % 8:
            raise ValueError("CBC data is whole 8-byte blocks")
        out = bytearray(len(data))
        h = bytearray(iv)
        blk = bytearray(8)
        for o in range(0, len(data), 8):
            for i in range(8):
                blk[i] = data[o + i] ^ h[i]
            self.encrypt_block(blk, h)
            out[o:o + 8] = h
        return bytes(out)


def encrypt(key, block):
    return bytes(DES(key).encrypt_block(block))


def cbc_last(key, data):
    # Last block of single-DES CBC with IV 0 (the Mode-2 TDS MAC).
    return DES(key).cbc(data)[-8:]


# -- Mode-2 TDS (DESIGN.md section 5)
def tds_data(fields):
    # Mode-2 TDS input: fields joined by F, F-padded to a whole byte, then 80 and 00s
    # to a multiple of 8 bytes (ISO 9797-1 padding method 2).
    s = "F".join(fields)
    if len(s) & 1:
        s += "F"
    n = len(s) // 2
    out = bytearray((n + 8) // 8 * 8)
    for i in range(len(s)):
        c = s[i]
        v = 15 if c == "F" else ord(c) - 48
        out[i >> 1] |= v if i & 1 else v << 4
    out[n] = 0x80
    return bytes(out)


def tds(ac, fields):
    # The block that replaces the AC: single-DES CBC, key = AC, IV 0, last block.
    return cbc_last(bytes(ac), tds_data(fields))
