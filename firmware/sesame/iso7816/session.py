# Card session: activation, ATR, PPS, protocol choice (ISO/IEC 7816-3 sections 6-9).
#
# The card line a board provides (the seam between the pure layers and silicon).
# Required:
#   present() -> bool            card-detect switch
#   cold_reset()                 VCC, CLK, I/O high, RST low 40 000-45 000 clocks, RST high;
#                                back to F 372, D 1, N 0, direct convention, T=0 rules
#   warm_reset()                 RST low then high with VCC and CLK kept (same defaults)
#   deactivate()                 RST low, CLK low, I/O low, VCC off (safe to call twice)
#   write(buf)                   send characters; in T=0 mode repeats one the card rejects
#                                (error signal), a few times, then raises ProtocolError
#   read_byte(timeout_etu) -> int  one character; raises CardTimeout (silence), CardAbsent
#                                (card gone) or ProtocolError (parity error it could not
#                                recover: in T=0 mode after signalling it a few times, in
#                                T=1 mode at once, the block is then rejected by T=1)
# Optional (looked up with getattr; a board without one gets the default behaviour):
#   set_convention(inverse) -> bool  called when TS was read as 03 (an inverse 3F read in
#                                direct convention). True: the board decodes and encodes
#                                from now on; False/None: the session does it (byte table).
#                                A board that detects TS itself returns 3F and is not asked.
#   set_guard(n)                 extra guard time N (TC1; 255 = minimum) for what we send
#   set_protocol(t)              0: T=0 character rules (error signal + repetition);
#                                1: T=1 (no error signal, parity errors reported)
#   supports_rate(f, d) -> bool  whether the board can run at etu = F/D clocks (PPS is
#                                only tried when True)
#   vcc_class                    the class of operating conditions the board supplies (0 =
#                                A, 5 V; 1 = B, 3 V; 2 = C, 1.8 V; ISO 7816-3): a card
#                                whose class indicator leaves it out is refused
#   set_rate(f, d)               after a successful PPS: etu = F/D clocks from now on
#   counters                     a sesame.iso7816.session.Counters the board keeps up to date
#                                (tx/rx characters, etu elapsed, repeats); the transports
#                                add their retransmissions (T=1 blocks, T=0 resends)
#   on_wait                      None, or a function the reader sets: the line calls it
#                                every few tens of ms while read_byte waits for the card;
#                                it may raise a CardError (CLEAR, the transaction's
#                                deadline), which read_byte lets through
from micropython import const
from sesame.iso7816 import atr as _atr
from sesame.errors import CardAbsent, CardTimeout, ProtocolError

_FIRST_CHAR_ETU = const(120)  # 40 000-45 000 clocks at F = 372 (EMV Book 1 8.2.2)
_CHAR_ETU = const(9600)  # between two ATR characters
_QUIET_ETU = const(20)  # after the ATR: the line quiet this long (a character time and more)
_STRAYS = const(32)  # characters dropped after an ATR before the card is given up
_TS_INVERSE_AS_DIRECT = const(0x03)

# The transports' large buffers, made once and lent to each session: a 260-byte buffer
# asked for in the middle of a transaction may find no room in the fragmented heap of a
# small board (the 64 KB heap test failed that way with 9 KB free in pieces of at most
# 112 bytes). The response buffer is made when this module loads (at boot, while the heap
# is whole); the T=1 blocks at the first T=1 session (the heap is then still in one piece:
# the idle loop allocates nothing), so a T=0 card never pays for them.
_RESP = bytearray(260)  # response data + SW (T=0 and T=1)
_blocks = None  # T=1 blocks sent and received (2 x edc.MAX_BLOCK)


class Counters:
    # Wire statistics a card line keeps (benchmarks report wire time from them).
    def __init__(self):
        self.clear()

    def clear(self):
        self.tx = 0  # characters sent
        self.rx = 0  # characters received
        self.etu = 0  # etu on the wire: 12 (+ N) per character; boards with a clock add waits
        self.repeats = 0  # characters repeated after an error signal (both ways)
        self.resent = 0  # blocks / TPDUs the transports sent again


def read_atr(line):
    # Reads the ATR; returns (Atr, line to use from now on: the same, or an InverseLine).
    buf = bytearray(_atr.MAX_LEN)
    ts = line.read_byte(_FIRST_CHAR_ETU)
    if ts == _TS_INVERSE_AS_DIRECT:
        f = getattr(line, "set_convention", None)
        if not (f and f(True)):
            from sesame.iso7816.inverse import InverseLine  # inverse cards only

            line = InverseLine(line)
        ts = 0x3F
    buf[0] = ts
    n = 1
    while True:
        more = _atr.remaining(buf, n)
        if more <= 0:
            break
        if n + more > _atr.MAX_LEN:
            return _atr.Atr(bytes(buf[:n]) + bytes(more)), line  # reported as too long
        for _ in range(more):
            buf[n] = line.read_byte(_CHAR_ETU)
            n += 1
    # Then until the line has been quiet for _QUIET_ETU: what comes is dropped (a TCK that a
    # T=0-only card sends although ISO 7816-3 8.2.5 says it is absent, noise), so no stray
    # byte is ever read as a procedure byte or a block (DESIGN.md 5).
    for _ in range(_STRAYS):
        try:
            line.read_byte(_QUIET_ETU)
        except CardTimeout:
            return _atr.Atr(buf[:n]), line
        except ProtocolError:
            pass  # a stray with a parity error: dropped as well
    raise ProtocolError("card keeps talking after its ATR")


def _usable(a):
    if not a.valid:
        return False
    if a.specific_mode:
        return a.specific_protocol in (0, 1)
    return 0 in a.protocols or 1 in a.protocols


def open_session(line, negotiate=True):
    # Activates the card and returns (atr, transport). Deactivates it on failure.
    global _blocks
    if not line.present():
        raise CardAbsent("no card")
    raw = line
    try:
        line.cold_reset()
        a, line = read_atr(raw)
        if not _usable(a):
            raw.warm_reset()  # ISO 7816-3 6.2.3: a second chance with a warm reset
            a, line = read_atr(raw)
        if not a.valid:
            raise ProtocolError("bad ATR: " + ", ".join(a.errors))
        if not _usable(a):
            raise ProtocolError("card offers T=%s, no T=0 or T=1" % a.protocols)
        if a.class_indicator is not None:  # a rare ATR byte: its check loads only then
            from sesame.iso7816.vclass import check

            check(raw, a.class_indicator)
        t = a.protocols[0]
        if a.specific_mode or a.ta1 is not None or t not in (0, 1):
            from sesame.iso7816.pps import select  # cards with a choice only (heap on small boards)

            a, line, t = select(raw, line, a, negotiate, read_atr)
        f = getattr(raw, "set_guard", None)
        if f:
            f(a.N)
        f = getattr(raw, "set_protocol", None)
        if f:
            f(t)
        if t == 1:
            from sesame.iso7816.t1 import T1  # loaded for T=1 cards only

            if _blocks is None:
                _blocks = (bytearray(259), bytearray(259))
            tr = T1(line, a, bufs=(_blocks[0], _blocks[1], _RESP))
            tr.start()
            return a, tr
        from sesame.iso7816.t0 import T0  # loaded for T=0 cards only (a T=1 session has no room to spare)

        return a, T0(line, a, _RESP)
    except Exception:
        raw.deactivate()
        raise
