# Protocol and parameters selection (ISO/IEC 7816-3 section 9), reader side: specific
# mode (TA2), PPS to TA1's rate when the board supports it, PPS to select a protocol other
# than the first offered. Loaded by sesame.iso7816.session only for cards that offer a choice.
from micropython import const
from sesame.errors import CardTimeout, ProtocolError

_PPS_ETU = const(9600)  # initial waiting time for the PPS answer
_FIRST_CHAR_ETU = const(120)


def pps(line, t, ta1):
    # PPS exchange (ISO 7816-3 9): PPSS FF, PPS0, [PPS1], PCK; True when the card
    # echoes it. ta1 < 0: no PPS1 (protocol selection only, default rate).
    req = bytearray(4)
    req[0] = 0xFF
    req[1] = (0x10 if ta1 >= 0 else 0) | t
    n = 2
    if ta1 >= 0:
        req[2] = ta1
        n = 3
    pck = 0
    for i in range(n):
        pck ^= req[i]
    req[n] = pck
    n += 1
    line.write(memoryview(req)[:n])
    got = bytearray(4)
    try:
        got[0] = line.read_byte(_PPS_ETU)
        got[1] = line.read_byte(_PPS_ETU)
        m = 2
        if got[1] & 0x10:
            got[2] = line.read_byte(_PPS_ETU)
            m = 3
        if m != n - 1:
            return False
        got[m] = line.read_byte(_PPS_ETU)
    except (CardTimeout, ProtocolError):
        return False
    return got[:n] == req[:n]


def drain(line):
    # Lets a card that answered a failed PPS finish talking (bounded).
    for _ in range(64):
        try:
            line.read_byte(_FIRST_CHAR_ETU)
        except CardTimeout:
            return
        except ProtocolError:
            pass




def can_rate(line, f, d):
    s = getattr(line, "supports_rate", None)
    return bool(s and s(f, d) and hasattr(line, "set_rate"))


def select(raw, line, a, negotiate, read_atr):
    # Returns (atr, line, protocol) once the card runs at the rate we will use.
    # raw: the board's line; line: the one the transports use (may decode inverse).
    fast = (a.Fi, a.Di) != (372, 1)
    if a.specific_mode:
        if a.specific_implicit or not fast:
            a.Fi, a.Di = 372, 1  # implicit values: the board's defaults
            return a, line, a.specific_protocol
        if can_rate(raw, a.Fi, a.Di):
            raw.set_rate(a.Fi, a.Di)
            return a, line, a.specific_protocol
        # a rate we cannot run: a warm reset may bring the negotiable mode (TA2 b8 = 0)
        raw.warm_reset()
        a, line = read_atr(raw)
        if not a.valid or a.specific_mode:
            raise ProtocolError("card's specific mode: rate not supported")
    first = a.protocols[0]
    t = first if first in (0, 1) else (0 if 0 in a.protocols else 1)
    ta1 = a.ta1 if a.ta1 is not None and (a.Fi, a.Di) != (372, 1) \
        and can_rate(raw, a.Fi, a.Di) else -1
    if not negotiate or (ta1 < 0 and t == first):
        a.Fi, a.Di = 372, 1
        if t != first:
            raise ProtocolError("card's protocol T=%d not supported" % first)
        return a, line, t
    if pps(line, t, ta1):
        if ta1 >= 0:
            raw.set_rate(a.Fi, a.Di)
        else:
            a.Fi, a.Di = 372, 1
        return a, line, t
    # failed PPS: reset, stay at the default rate with the card's default protocol
    drain(line)
    raw.warm_reset()
    a, line = read_atr(raw)
    if not a.valid or a.specific_mode or a.protocols[0] not in (0, 1):
        raise ProtocolError("card refuses PPS")
    a.Fi, a.Di = 372, 1
    return a, line, a.protocols[0]
