# Card session: activation, ATR, protocol choice (ISO/IEC 7816-3 sections 6-8).
#
# The card line a board provides (the seam between the pure layers and silicon):
#   present() -> bool            card-detect switch
#   cold_reset()                 VCC, CLK, I/O high, RST low >= 400 clocks, RST high
#   warm_reset()                 RST low then high with VCC and CLK kept
#   deactivate()                 RST low, CLK low, I/O low, VCC off
#   write(buf)                   send characters (repeats one the card rejects)
#   read_byte(timeout_etu) -> int  one character; raises CardTimeout or CardAbsent
from micropython import const
from sesame import atr as _atr
from sesame.errors import CardAbsent, ProtocolError
from sesame.t0 import T0

_FIRST_CHAR_ETU = const(120)  # 40 000-45 000 clocks at F = 372 (EMV Book 1 8.2.2)
_CHAR_ETU = const(9600)  # between two ATR characters


def read_atr(line):
    buf = bytearray(_atr.MAX_LEN)
    buf[0] = line.read_byte(_FIRST_CHAR_ETU)
    n = 1
    while True:
        more = _atr.remaining(buf, n)
        if more <= 0:
            break
        if n + more > _atr.MAX_LEN:
            raise ProtocolError("ATR too long")
        for _ in range(more):
            buf[n] = line.read_byte(_CHAR_ETU)
            n += 1
    return _atr.Atr(buf[:n])


def open_session(line):
    # Activates the card and returns (atr, transport). Deactivates it on failure.
    if not line.present():
        raise CardAbsent("no card")
    try:
        line.cold_reset()
        a = read_atr(line)
        if not a.valid or 0 not in a.protocols:
            line.warm_reset()  # ISO 7816-3 6.2.3: a second chance with a warm reset
            a = read_atr(line)
        if not a.valid:
            raise ProtocolError("bad ATR: " + ", ".join(a.errors))
        if 0 not in a.protocols:
            raise ProtocolError("card offers T=%s, not T=0" % a.protocols)
        return a, T0(line, a)
    except Exception:
        line.deactivate()
        raise
