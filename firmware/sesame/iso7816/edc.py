# T=1 block codec and error detection codes (ISO/IEC 7816-3 section 11.3-11.4), shared by
# the reader (sesame.iso7816.t1), the virtual card and the host tools. Pure, no allocation in the
# per-byte loops: blocks are built into and checked in caller-provided buffers.
#
# Block: NAD PCB LEN INF(LEN bytes) EDC (LRC: 1 byte XOR; CRC: 2 bytes, ISO/IEC 13239
# polynomial x^16 + x^12 + x^5 + 1, register preset to FFFF, sent high byte first).
from micropython import const

MAX_INF = const(254)
MAX_BLOCK = const(3 + 254 + 2)

# PCB: I-block b8 = 0, b7 = N(S), b6 = M (more data); R-block b8 b7 = 10, b5 = N(R),
# b4-b1 = error (0 ok, 1 EDC/parity, 2 other); S-block b8 b7 = 11, b6 = response, b5-b1 =
# kind: RESYNCH 0, IFS 1, ABORT 2, WTX 3 (S(WTX request) = C3, its response E3)
S_RESYNCH = const(0x00)
S_IFS = const(0x01)
S_WTX = const(0x03)


def lrc(buf, start, end):
    x = 0
    for i in range(start, end):
        x ^= buf[i]
    return x


def crc(buf, start, end):
    # Bitwise, reflected form (0x8408) of the ISO/IEC 13239 CRC; no table to allocate.
    c = 0xFFFF
    for i in range(start, end):
        c ^= buf[i]
        for _ in range(8):
            if c & 1:
                c = (c >> 1) ^ 0x8408
            else:
                c >>= 1
    return c


def encode(buf, nad, pcb, inf, use_crc, start=0, n=-1):
    # Writes the block into buf; returns its length. inf: bytes-like, the part
    # inf[start:start+n] (n = -1: to the end) goes out. Raises ValueError over 254 bytes.
    if n < 0:
        n = len(inf) - start
    if n > MAX_INF:
        raise ValueError("INF too long")
    buf[0] = nad
    buf[1] = pcb
    buf[2] = n
    for i in range(n):
        buf[3 + i] = inf[start + i]
    end = 3 + n
    if use_crc:
        c = crc(buf, 0, end)
        buf[end] = c >> 8
        buf[end + 1] = c & 0xFF
        return end + 2
    buf[end] = lrc(buf, 0, end)
    return end + 1


def check(buf, n, use_crc):
    # True when buf[:n] is a well-formed block whose EDC is right.
    e = 2 if use_crc else 1
    if n < 3 + e or buf[2] == 0xFF or n != 3 + buf[2] + e:
        return False
    end = 3 + buf[2]
    if use_crc:
        c = crc(buf, 0, end)
        return buf[end] == c >> 8 and buf[end + 1] == c & 0xFF
    return lrc(buf, 0, end) == buf[end]


def kind(pcb):
    # "I", "R" or "S"
    if not pcb & 0x80:
        return "I"
    if pcb & 0x40:
        return "S"
    return "R"


def i_pcb(ns, more):
    return (0x40 if ns else 0) | (0x20 if more else 0)


def r_pcb(nr, err=0):
    return 0x80 | (0x10 if nr else 0) | (err & 0x0F)


def decode(block, use_crc):
    # Host-side helper: (nad, pcb, inf) of a whole block, or None when it is malformed.
    b = bytearray(block)
    if not check(b, len(b), use_crc):
        return None
    return b[0], b[1], bytes(b[3:3 + b[2]])


def block(nad, pcb, inf, use_crc):
    # Host-side helper: the block as bytes.
    buf = bytearray(MAX_BLOCK)
    n = encode(buf, nad, pcb, inf, use_crc)
    return bytes(buf[:n])
