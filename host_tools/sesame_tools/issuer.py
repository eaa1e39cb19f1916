"""Issuer-side check of a CAP code: recompute the codes the card would give for the
next transaction counters, accept a match once, refuse replays.

The expected code is built with the firmware's own DOL filling and IPB extraction
(sesame.cap) and the card's cryptogram function, as an issuer host would from its keys.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from sesame import cap, tlv
from sesame_tools.vcard import state as states
from sesame_tools.vcard.emv import cryptogram
from sesame_tools.vcard.profile import Profile, state_dir

ACCEPTED, REJECTED, REPLAYED = "accepted", "rejected", "replayed"
_KEEP = 200  # accepted counters remembered to recognise replays


def normalise(code: str) -> str:
    """'1234 5678' or '12345678' -> '12345678'; raises ValueError on anything else."""
    digits = "".join(code.split())
    if not digits.isdigit() or len(digits) < 8:
        raise ValueError(f"a code is 8 or more digits, got {code!r}")
    return digits


def expected_code(p: Profile, atc: int, mode: str = cap.IDENTIFY, challenge: str = "",
                  amount: str = "") -> str:
    data = cap.terminal_data(p.aid, mode, challenge, amount)
    cdol1 = cap.fill_dol(tlv.dol(p.cdol1), data)
    ac = cryptogram(p, atc, cdol1)
    psn = bytes.fromhex(p.psn) if p.psn else None
    iaf = p.iaf[0] if p.iaf else 0
    tok = cap.token(b"\x80", atc.to_bytes(2, "big"), ac, p.iad, psn, iaf)
    value, _ = cap.extract(tok, p.ipb or cap.VISA_IPB)
    return cap.code_text(value)


def issuer_state_path(p: Profile) -> Path:
    return state_dir() / f"{p.name}.issuer.json"


def verify(p: Profile, code: str, mode: str = cap.IDENTIFY, challenge: str = "",
           amount: str = "", window: int = 20, path: Path | None = None) -> tuple[str, int | None]:
    """Returns (ACCEPTED|REJECTED|REPLAYED, atc or None) and records an acceptance."""
    code = normalise(code)
    path = Path(path or issuer_state_path(p))
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one check at a time per card
        st = states.read(path, {"last_atc": p.atc, "accepted": []})
        last = int(st["last_atc"])
        for atc in reversed(st["accepted"]):
            if expected_code(p, atc, mode, challenge, amount) == code:
                return REPLAYED, atc
        for atc in range(last + 1, min(last + window, 0xFFFF) + 1):
            if expected_code(p, atc, mode, challenge, amount) == code:
                st["last_atc"] = atc
                st["accepted"] = (st["accepted"] + [atc])[-_KEEP:]
                states.write(path, st)
                return ACCEPTED, atc
        return REJECTED, None
