# Text -> 7-segment patterns for an 8-digit display (MAX7219 "no decode" bit order:
# bit 7 = DP, 6 = A, 5 = B, 4 = C, 3 = D, 2 = E, 1 = F, 0 = G).
#
# Layout: the text is left-aligned; a space is a blank digit. A text one character too
# long that holds a space (the code "1234 5678") shows the space as the decimal point of
# the digit before it: "1234.5678" keeps all 8 digits. Letters without a 7-segment form
# show blank; lower and upper case share a form unless both exist (b/B, c/C, ...).
from micropython import const

DIGITS = const(8)
DP = const(0x80)

_FONT = {
    "0": 0x7E, "1": 0x30, "2": 0x6D, "3": 0x79, "4": 0x33, "5": 0x5B, "6": 0x5F, "7": 0x70,
    "8": 0x7F, "9": 0x7B, "-": 0x01, "_": 0x08, " ": 0x00, "=": 0x09,
    "A": 0x77, "b": 0x1F, "C": 0x4E, "c": 0x0D, "d": 0x3D, "E": 0x4F, "F": 0x47, "G": 0x5E,
    "H": 0x37, "h": 0x17, "I": 0x06, "i": 0x10, "J": 0x3C, "K": 0x57, "L": 0x0E, "n": 0x15,
    "N": 0x76, "O": 0x7E, "o": 0x1D, "P": 0x67, "q": 0x73, "r": 0x05, "S": 0x5B, "t": 0x0F,
    "U": 0x3E, "u": 0x1C, "Y": 0x3B, "y": 0x3B,
}


def glyph(ch):
    g = _FONT.get(ch)
    if g is None:
        g = _FONT.get(ch.upper(), _FONT.get(ch.lower(), 0))
    return g


def encode(text, out=None):
    # Fills out (8 bytes, leftmost digit first) with the patterns for text; returns it.
    if out is None:
        out = bytearray(DIGITS)
    for i in range(DIGITS):
        out[i] = 0
    dp_space = len(text) > DIGITS
    n = 0
    for ch in text:
        if ch == "." and n:
            out[n - 1] |= DP
            continue
        if ch == " " and dp_space and n:
            out[n - 1] |= DP
            dp_space = False
            continue
        if n == DIGITS:
            break
        out[n] = glyph(ch)
        n += 1
    return out
