"""Property tests of the link layer (hypothesis): ATR build -> parse round trip, T=1 block
encode -> decode round trip, and random byte streams from a "card" into the ATR parser and
the T=0 / T=1 reader state machines, which may only end in a typed error (CardError).

`make test` runs a short version; `make fuzz` sets SESAME_FUZZ_EXAMPLES (>= 100 000 cases
in all) and prints how many cases each property ran."""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sesame.iso7816 import atr, edc
from sesame.errors import CardError, CardTimeout
from sesame.iso7816.inverse import INVERSE
from sesame.iso7816.session import open_session
from sesame.iso7816.t0 import T0
from sesame.iso7816.t1 import T1

EXAMPLES = int(os.environ.get("SESAME_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
COUNTS: Counter = Counter()


class StreamLine:
    """A card that sends the given bytes whatever the reader does, then falls silent."""

    def __init__(self, data: bytes):
        self.data = data
        self.i = 0
        self.sent = 0

    def present(self):
        return True

    def cold_reset(self):
        pass

    warm_reset = cold_reset
    deactivate = cold_reset

    def write(self, buf):
        self.sent += len(buf)

    def read_byte(self, timeout_etu):
        assert timeout_etu > 0
        if self.i >= len(self.data):
            raise CardTimeout("silent")
        b = self.data[self.i]
        self.i += 1
        return b


def build_atr(inverse, ta1, tc1, groups, hist):
    """groups: list of (protocol, ta, tb, tc) for TD1, TD2, ...; returns raw ATR bytes."""
    y = (1 if ta1 is not None else 0) | (4 if tc1 is not None else 0) | (8 if groups else 0)
    out = bytearray([0x3F if inverse else 0x3B, (y << 4) | len(hist)])
    raw = bytearray([out[0], out[1]])
    if ta1 is not None:
        raw.append(ta1)
    if tc1 is not None:
        raw.append(tc1)
    for k, (proto, ta, tb, tc) in enumerate(groups):
        yy = (1 if ta is not None else 0) | (2 if tb is not None else 0) | (4 if tc is not None else 0)
        if k + 1 < len(groups):
            yy |= 8
        raw.append((yy << 4) | proto)
        for v in (ta, tb, tc):
            if v is not None:
                raw.append(v)
    raw += hist
    if any(g[0] != 0 for g in groups):
        x = 0
        for c in raw[1:]:
            x ^= c
        raw.append(x)
    return bytes(raw)


ta1s = st.one_of(st.none(), st.sampled_from([0x11, 0x13, 0x18, 0x94, 0x95, 0x96]))
group = st.tuples(st.sampled_from([0, 1]), st.one_of(st.none(), st.integers(16, 254)),
                  st.one_of(st.none(), st.integers(0, 0x9F)), st.one_of(st.none(), st.integers(0, 1)))


@FUZZ
@given(st.booleans(), ta1s, st.one_of(st.none(), st.integers(0, 255)),
       st.lists(group, max_size=3), st.binary(max_size=10))
def test_atr_build_parse_round_trip(inverse, ta1, tc1, groups, hist):
    assume(not (groups and groups[0][3] == 0))  # TC2 00 is reserved (a WWT of 0)
    raw = build_atr(inverse, ta1, tc1, groups, hist)
    if len(raw) > atr.MAX_LEN:
        return
    COUNTS["atr round trip"] += 1
    a = atr.Atr(raw)
    assert a.valid, (raw.hex(), a.errors)
    assert a.convention == ("inverse" if inverse else "direct")
    assert bytes(a.historical) == hist
    assert a.N == (tc1 or 0)
    if ta1 is not None:
        assert (a.Fi, a.Di) == (atr.FI[ta1 >> 4], atr.DI[ta1 & 15])
    offered = []
    for p, *_ in groups:
        if p not in offered:
            offered.append(p)
    assert a.protocols == (offered or [0])
    # groups[0] holds TA2 TB2 TC2 (global); later groups belong to their TD's protocol
    assert a.specific_mode == (bool(groups) and groups[0][1] is not None)
    t1 = [g for i, g in enumerate(groups) if i >= 1 and g[0] == 1]
    if t1 and t1[0][1] is not None:
        assert a.IFSC == t1[0][1]
    if t1 and t1[0][3] is not None:
        assert a.edc == ("crc" if t1[0][3] & 1 else "lrc")
    assert a.tck == ("ok" if any(p != 0 for p, *_ in groups) else "absent")
    # the same ATR as a direct-convention reader sees an inverse one
    if inverse:
        assert atr.Atr(bytes(INVERSE[b] for b in raw)).raw == raw
    # and as the session reads it off a line
    assert atr.remaining(bytearray(raw), len(raw)) == 0


@FUZZ
@given(st.binary(max_size=40))
def test_atr_parser_never_raises(raw):
    COUNTS["atr random"] += 1
    a = atr.Atr(raw)
    assert a.valid or a.errors
    atr.remaining(bytearray(raw), len(raw))


@FUZZ
@given(st.integers(0, 255), st.sampled_from([0x00, 0x20, 0x40, 0x60, 0x81, 0x90, 0xC1, 0xE3]),
       st.binary(max_size=254), st.booleans())
def test_t1_block_round_trip(nad, pcb, inf, crc):
    COUNTS["t1 block round trip"] += 1
    raw = edc.block(nad, pcb, inf, crc)
    assert len(raw) == 3 + len(inf) + (2 if crc else 1)
    assert edc.decode(raw, crc) == (nad, pcb, inf)
    i = len(raw) - 1
    assert edc.decode(raw[:i] + bytes((raw[i] ^ 0x01,)), crc) is None


APDUS = st.sampled_from([bytes.fromhex(x) for x in (
    "00A404000E315041592E5359532E444446303100", "00B2010C00", "80CA9F1700",
    "0020008008241234FFFFFFFFFF", "80A8000002830000", "80E60000")])


@FUZZ
@given(APDUS, st.binary(max_size=300))
def test_t0_reader_on_random_card(apdu, stream):
    COUNTS["t0 random card"] += 1
    a = atr.Atr(bytes.fromhex("3B6500002063CB6800"))
    try:
        T0(StreamLine(stream), a).transmit(apdu)
        COUNTS["t0 answered"] += 1
    except CardError:
        pass


@FUZZ
@given(APDUS, st.booleans(), st.binary(max_size=300))
def test_t1_reader_on_random_card(apdu, crc, stream):
    COUNTS["t1 random card"] += 1
    a = atr.Atr(edc.block(0, 0, b"", False) and bytes.fromhex("3B808131FE458B"))
    a.edc = "crc" if crc else "lrc"
    try:
        T1(StreamLine(stream), a).transmit(apdu)
        COUNTS["t1 answered"] += 1
    except CardError:
        pass


@FUZZ
@given(st.binary(max_size=120))
def test_session_on_random_card(stream):
    COUNTS["session random card"] += 1
    try:
        open_session(StreamLine(stream))
    except CardError:
        pass


def teardown_module(module):
    total = sum(v for k, v in COUNTS.items() if "answered" not in k)
    print("\nfuzz counts: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
          + f"; total {total}")
