"""A replay card: answers APDUs from a recorded trace (DESIGN.md section 3), so the
firmware's own CAP engine can run on the host against a card seen once.

Trace: {"atr": hex, "protocol": 0|1, "exchanges": [{"c": command hex, "r": response hex}]}.
A command matches a recorded exchange when CLA, INS, P1, P2 and the data agree (Le is
ignored); a recorded VERIFY matches any PIN block (traces hold it masked). Matching
exchanges are used in recorded order, the last one again once all were used; an
unmatched command answers 6A82.
"""

from __future__ import annotations

import json
from pathlib import Path

from sesame import cap
from sesame_tools.issuer import check_inputs

UNMATCHED = bytes.fromhex("6A82")
WRONG_LENGTH = bytes.fromhex("6700")
_INS_VERIFY = 0x20


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


class ReplayCard:
    """Transport (transmit) answering from a trace; `log` keeps what was asked."""

    def __init__(self, trace: dict):
        self.trace = trace
        self.atr = bytes.fromhex(trace.get("atr") or "")
        self.protocol = int(trace.get("protocol", 0))
        self.exchanges = []
        for x in trace["exchanges"]:
            head, data = split(_hex(x["c"]))
            self.exchanges.append((head, data, bytes.fromhex(x["r"])))
        self.used = [False] * len(self.exchanges)
        self.log: list[tuple[bytes, bytes]] = []

    @classmethod
    def load(cls, path) -> "ReplayCard":
        return cls(json.loads(Path(path).read_text()))

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
        if fresh:
            i = fresh[0]
            self.used[i] = True
            r = self.exchanges[i][2]
        elif hits:
            r = self.exchanges[hits[-1]][2]
        else:
            r = UNMATCHED
        shown = bytes(apdu[:5]) + b"\x2f" * 8 if head[1] == _INS_VERIFY else bytes(apdu)
        self.log.append((shown, r))  # never the PIN block
        return r


def pin_digits(pin: str) -> tuple[bytearray, int]:
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("a PIN is 4 to 12 digits")
    b = bytearray(12)
    for i, ch in enumerate(pin):
        b[i] = ord(ch) - 48
    return b, len(pin)


def run(trace: dict, mode: str = "identify", pin: str = "0000", challenge: str = "",
        amount: str = "", data: tuple = ()) -> cap.Result:
    """The firmware's CAP engine against the trace; raises sesame.errors.CardError."""
    check_inputs(mode, challenge, amount, tuple(data))
    card = ReplayCard(trace)
    buf, n = pin_digits(pin)
    return cap.Cap(card).run(buf, n, mode, challenge=challenge, amount=amount, data=tuple(data))
