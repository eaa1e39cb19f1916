"""A replay card: answers APDUs from a recorded trace (DESIGN.md section 3), so the
firmware's own CAP engine can run on the host against a card seen once.

Trace: {"atr": hex, "protocol": 0|1, "exchanges": [{"c": command hex, "r": response hex}]}.
A command matches a recorded exchange when CLA, INS, P1, P2 and the data agree (Le is
ignored); a recorded VERIFY matches any PIN block (traces hold it masked). Matching
exchanges are used in recorded order, the last one again once all were used; an
unmatched command answers 6A82.
"""

from __future__ import annotations

from sesame.emv import cap
from sesame.iso7816 import atr as _atr
from sesame_tools import safefile
from sesame.reader.trace import command_text
from sesame_tools.issuer.check import check_inputs

UNMATCHED = bytes.fromhex("6A82")
WRONG_LENGTH = bytes.fromhex("6700")
_INS_VERIFY = 0x20
MAX_BYTES = 4 << 20  # a trace of one transaction is a few kB
MAX_EXCHANGES = 10_000  # a CAP transaction makes about 10 (a card with a large PSE, 100)
_MAX_HEX = 2 * 261  # a short APDU or response: 5 + 255 + 1 bytes, 256 + 2


def _hex(s: str) -> bytes:
    # A masked VERIFY block ("2?FFFF...") is kept as its header only.
    return bytes.fromhex(s.replace("?", "0"))


def split(apdu: bytes) -> tuple[bytes, bytes]:
    """(CLA INS P1 P2, command data) of a short APDU; Le dropped (ISO 7816-4 cases 1-4)."""
    apdu = bytes(apdu)
    if len(apdu) < 4:
        raise ValueError(f"APDU too short: {apdu.hex()}")
    head = apdu[:4]
    if len(apdu) <= 5:  # case 1, or case 2 (P3 = Le)
        return head, b""
    lc = apdu[4]
    return head, apdu[5:5 + lc]


class TraceError(ValueError):
    """The file is not a replay trace (the message says what is wrong, and where)."""


def _hex_field(x, i: int, key: str) -> str:
    v = x.get(key) if isinstance(x, dict) else None
    if not isinstance(v, str) or len(v) > _MAX_HEX:
        raise TraceError(f"exchange {i + 1}: no {key!r} hex string of at most {_MAX_HEX // 2} bytes")
    try:
        # only a command may hold "?" (the masked PIN digits of a recorded VERIFY)
        bytes.fromhex(v) if key == "r" or "?" not in v else _hex(v)
    except ValueError:
        raise TraceError(f"exchange {i + 1}: {key!r} is not hex: {v[:40]!r}") from None
    return v


def parse(trace) -> tuple[bytes, int, list[tuple[bytes, bytes, bytes]]]:
    """(ATR, protocol, [(header, data, response)]) of a trace; TraceError if malformed."""
    if not isinstance(trace, dict) or not isinstance(trace.get("exchanges"), list):
        hint = " (a card profile? traces come from `sesame trace`)" \
            if isinstance(trace, dict) and "aid" in trace else ""
        raise TraceError('not a replay trace: no "exchanges" list' + hint)
    atr = trace.get("atr") or ""
    try:
        atr_b = bytes.fromhex(atr)
    except (TypeError, ValueError):
        raise TraceError(f"atr is not hex: {str(atr)[:40]!r}") from None
    protocol = trace.get("protocol", 0)
    if type(protocol) is not int or protocol not in (0, 1):
        raise TraceError(f"protocol is 0 or 1, not {protocol!r}")
    if len(atr_b) > _atr.MAX_LEN:
        raise TraceError(f"atr is {len(atr_b)} bytes, more than an ATR can be ({_atr.MAX_LEN})")
    if len(trace["exchanges"]) > MAX_EXCHANGES:
        raise TraceError(f"{len(trace['exchanges'])} exchanges, more than a transaction makes "
                         f"({MAX_EXCHANGES})")
    out = []
    for i, x in enumerate(trace["exchanges"]):
        c, r = _hex_field(x, i, "c"), _hex_field(x, i, "r")
        if len(c) < 8:
            raise TraceError(f"exchange {i + 1}: command {c!r} is shorter than 4 bytes")
        if len(r) < 4:
            raise TraceError(f"exchange {i + 1}: response {r!r} has no status word")
        head, data = split(_hex(c))
        out.append((head, data, bytes.fromhex(r)))
    return atr_b, protocol, out


def load(path) -> dict:
    """A trace file as a dict; TraceError if it is not one: not a regular file, over
    MAX_BYTES, not UTF-8 JSON or nested too deep."""
    try:
        return safefile.read_json(path, MAX_BYTES)
    except safefile.FileError as e:
        raise TraceError(str(e)) from None


class ReplayCard:
    """Transport (transmit) answering from a trace; `log` keeps what was asked and
    `unmatched` the commands the trace had no answer to (PIN blocks masked)."""

    def __init__(self, trace: dict):
        self.trace = trace
        self.atr, self.protocol, self.exchanges = parse(trace)
        self.PROTOCOL = self.protocol  # as a transport's (the CAP engine asks)
        self.used = [False] * len(self.exchanges)
        self.log: list[tuple[str, bytes]] = []
        self.unmatched: list[str] = []

    @classmethod
    def load(cls, path) -> "ReplayCard":
        return cls(load(path))

    def _matches(self, i: int, head: bytes, data: bytes) -> bool:
        h, d, _ = self.exchanges[i]
        if h != head:
            return False
        return head[1] == _INS_VERIFY or d == data

    def transmit(self, apdu) -> bytes:
        if len(apdu) < 4:
            return WRONG_LENGTH
        head, data = split(apdu)
        hits = [i for i in range(len(self.exchanges)) if self._matches(i, head, data)]
        fresh = [i for i in hits if not self.used[i]]
        shown = command_text(apdu)  # hex, a VERIFY's PIN block masked as in traces
        if fresh:
            i = fresh[0]
            self.used[i] = True
            r = self.exchanges[i][2]
        elif hits:
            r = self.exchanges[hits[-1]][2]
        else:
            r = UNMATCHED
            self.unmatched.append(shown)
        self.log.append((shown, r))  # never the PIN block
        return r


def run(trace, mode: str = "identify", challenge: str = "",
        amount: str = "", data: tuple = ()) -> cap.Result:
    """The firmware's CAP engine against the trace (a dict or a ReplayCard); raises
    sesame.errors.CardError, TraceError for a malformed trace, ValueError for inputs."""
    check_inputs(mode, challenge, amount, tuple(data))
    card = trace if isinstance(trace, ReplayCard) else ReplayCard(trace)
    pin = bytearray(12)  # "0000": any PIN matches the recorded (masked) VERIFY
    return cap.Cap(card).run(pin, 4, mode, challenge=challenge, amount=amount, data=tuple(data))
