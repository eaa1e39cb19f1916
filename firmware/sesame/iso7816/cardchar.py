# ISO/IEC 7816-3 character frames (section 7.1-7.3), shared by the board card lines and
# their tests: start bit, 8 data bits, even parity, in direct or inverse convention.
# "levels" are the 9 line levels after the start bit, first one in bit 0 (1 = high, Z).
# Pure: no machine, no allocation.
from micropython import const

TS_DIRECT = const(0x3B)
TS_INVERSE = const(0x3F)
_INVERSE_TS_LEVELS = const(0x103)  # 3F sent in inverse convention, read as direct levels


def parity(b):
    # Even parity bit of a byte (1 when it has an odd number of ones).
    b ^= b >> 4
    b ^= b >> 2
    b ^= b >> 1
    return b & 1


def _rev8(b):
    b = ((b & 0xF0) >> 4) | ((b & 0x0F) << 4)
    b = ((b & 0xCC) >> 2) | ((b & 0x33) << 2)
    return ((b & 0xAA) >> 1) | ((b & 0x55) << 1)


def levels(b, inverse=False):
    # The 9 line levels that carry byte b (data bits then the parity bit).
    if inverse:  # 7.2: low = 1, most significant bit first
        return (~(_rev8(b) | (parity(b) << 8))) & 0x1FF
    return b | (parity(b) << 8)


def decode(lv, inverse=False):
    # Byte carried by 9 line levels, or -1 when the parity is wrong.
    if inverse:
        lv = (~lv) & 0x1FF
        b = _rev8(lv & 0xFF)
    else:
        b = lv & 0xFF
    if (lv >> 8) != parity(b):
        return -1
    return b


def convention(lv):
    # True for inverse, False for direct, None when lv is no TS character (7.1).
    if lv == levels(TS_DIRECT):
        return False
    if lv == _INVERSE_TS_LEVELS:
        return True
    return None


def clkdiv(f, d, sys_per_clk, cycles_per_etu):
    # Divider (integer, 1/256ths) that makes one etu = F/D card clocks exactly
    # cycles_per_etu state-machine cycles, the card clock being sysclk / sys_per_clk.
    num = sys_per_clk * f * 256
    den = d * cycles_per_etu
    q = num // den
    if q * den != num:
        raise ValueError("etu not exact")
    return q >> 8, q & 0xFF
