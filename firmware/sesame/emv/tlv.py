# BER-TLV as EMV uses it (EMV Book 3 Annex B): tags of 1-3 bytes read as one int
# (0x9F27), definite lengths of 1-3 bytes, 00/FF padding between objects skipped.
# Values are returned as (start, end) offsets into the caller's buffer: no copies.
from micropython import const
from sesame.errors import BadData

_DEPTH = const(8)  # nesting a search follows (EMV FCIs nest 5 deep): a card cannot
# exhaust the C stack with a 254-byte response nesting 100 templates


def _tag(buf, i, end):
    # Returns (tag, next offset). Book 3 B1: b5-b1 = 11111 means more tag bytes follow,
    # each with b8 = 1 while another follows.
    t = buf[i]
    i += 1
    if t & 0x1F == 0x1F:
        while True:
            if i >= end:
                raise BadData("TLV: truncated tag")
            b = buf[i]
            i += 1
            t = (t << 8) | b
            if not b & 0x80:
                break
            if t > 0xFFFFFF:
                raise BadData("TLV: tag too long")
    return t, i


def _length(buf, i, end):
    if i >= end:
        raise BadData("TLV: missing length")
    n = buf[i]
    i += 1
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or i + k > end:
            raise BadData("TLV: bad length")
        n = 0
        for _ in range(k):
            n = (n << 8) | buf[i]
            i += 1
    return n, i


def constructed(tag):
    # b6 of the first tag byte marks a constructed object.
    while tag > 0xFF:
        tag >>= 8
    return bool(tag & 0x20)


def _object(buf, i, end):
    # The object at or after i (padding skipped): (tag, value_start, value_end), or None
    # at the end of the template.
    while i < end and buf[i] in (0x00, 0xFF):  # padding between objects (Book 3 B1)
        i += 1
    if i >= end:
        return None
    tag, i = _tag(buf, i, end)
    n, i = _length(buf, i, end)
    if i + n > end:
        raise BadData("TLV: value overruns its template")
    return tag, i, i + n


def items(buf, start=0, end=None):
    # Yields (tag, value_start, value_end) for each object at this level.
    if end is None:
        end = len(buf)
    o = _object(buf, start, end)
    while o is not None:
        yield o
        o = _object(buf, o[2], end)


def find(buf, tag, start=0, end=None, depth=0):
    # Depth-first search for `tag`; returns (start, end) of its value or None. A loop over
    # _object, not items(): a generator per nesting level is 136 bytes of heap each, which
    # a Belgian card's nested FCI (BF0C) needed at the transaction's peak.
    if depth > _DEPTH:
        raise BadData("TLV: nested too deep")
    if end is None:
        end = len(buf)
    o = _object(buf, start, end)
    while o is not None:
        t, s, e = o
        if t == tag:
            return s, e
        if constructed(t):
            r = find(buf, tag, s, e, depth + 1)
            if r:
                return r
        o = _object(buf, e, end)
    return None


def value(buf, tag):
    # Copy of the value of `tag` (bytes) or None.
    r = find(buf, tag)
    return None if r is None else bytes(buf[r[0]:r[1]])


def collect(buf, wanted, out, depth=0):
    # Stores into dict `out` a copy of the first value found for each tag in `wanted`.
    if depth > _DEPTH:
        raise BadData("TLV: nested too deep")
    for t, s, e in items(buf):
        if t in wanted and t not in out:
            out[t] = bytes(buf[s:e])
        if constructed(t):
            collect(memoryview(buf)[s:e], wanted, out, depth + 1)
    return out


def dol(buf, limit=None):
    # A Data Object List (Book 3 5.4): tag + one length byte pairs (a plain byte, 0-255,
    # not a BER length), no values; the values together fit the command: at most limit
    # bytes (default DOL_MAX: a PDOL's, inside tag 83). Returns [(tag, len)].
    if limit is None:
        limit = DOL_MAX
    out = []
    i, end = 0, len(buf)
    total = 0
    while i < end:
        tag, i = _tag(buf, i, end)
        if i >= end:
            raise BadData("DOL: missing length")
        n = buf[i]
        i += 1
        total += n
        if total > limit:
            raise BadData("DOL: too long")
        out.append((tag, n))
    return out


DOL_MAX = const(252)  # PDOL values: Lc 255 - tag 83 and a 2-byte length
LC_MAX = const(255)  # CDOL values: the whole data field of GENERATE AC


def encode(tag, val):
    # One TLV object (used by the virtual card and tests; lengths up to 65535).
    t = b""
    while True:
        t = bytes((tag & 0xFF,)) + t
        tag >>= 8
        if not tag:
            break
    n = len(val)
    if n < 0x80:
        ln = bytes((n,))
    elif n < 0x100:
        ln = bytes((0x81, n))
    else:
        ln = bytes((0x82, n >> 8, n & 0xFF))
    return t + ln + bytes(val)
