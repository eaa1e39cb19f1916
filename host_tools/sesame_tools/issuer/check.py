"""Issuer-side check of a CAP code: recompute the codes the card would give for the
next transaction counters, accept a match once, refuse replays.

The expected code is built with the firmware's own DOL filling, Mode-2 TDS, IPB
extraction and Belgian rules (sesame.emv.cap) and the card's cryptogram function, as an
issuer host would from its keys, for the same inputs the reader took (mode, challenge
or reference, amount, TDS data fields).

ATC window: the code carries only the ATC bits the IPB selects (5 with a typical CAP
IPB, the low byte with the static Visa IPB and with the Belgian function), so the issuer
tries every counter from the last accepted one + 1 to + `window`. Counters whose ATC bits disagree with the code are
dropped before any cryptography; the others are checked with the full code, so a window
wider than the ATC bits can tell apart still accepts only the right counter.

State (per card, $SESAME_STATE_DIR/<card>.issuer.json): the last accepted ATC and the
recently accepted (ATC, code) pairs; read and written under an exclusive lock, replaced
atomically (write, fsync, rename), so concurrent checks and crashes cannot accept a
code twice.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from sesame.emv import cap, tlv
from sesame_tools.vcard import state as states
from sesame_tools.vcard.emv import cryptogram
from sesame_tools.vcard.profile import Profile, safe_name, state_dir

ACCEPTED, REJECTED, REPLAYED = "accepted", "rejected", "replayed"
MODES = (cap.IDENTIFY, cap.RESPOND, cap.SIGN)
MAX_CHALLENGE = 8  # digits of a challenge / reference (UN, n8)
MAX_AMOUNT = 12  # digits of an amount in cents (9F02, n12)
MAX_FIELDS = 10  # Mode-2 TDS data fields
MAX_FIELD = 10  # digits per TDS field
MAX_CODE = 20  # digits of a code: 8, up to 10 with the static Visa IPB, a few more with others
_KEEP = 200  # accepted counters remembered to recognise replays
_CID = b"\x80"  # the first GENERATE AC answers an ARQC


def _digits(s: str, most: int, what: str) -> None:
    if len(s) > most:
        raise ValueError(f"{what}: at most {most} digits")
    if s and not (s.isascii() and s.isdigit()):
        raise ValueError(f"{what}: digits only")


def check_inputs(mode: str, challenge: str = "", amount: str = "", data: tuple = ()) -> None:
    """ValueError unless the inputs fit the mode (what the reader's keypad flows produce:
    the firmware's engine trusts its caller)."""
    if mode not in MODES:
        raise ValueError("mode is one of identify, respond, sign")
    _digits(challenge, MAX_CHALLENGE, "challenge")
    _digits(amount, MAX_AMOUNT, "amount")
    if len(data) > MAX_FIELDS:
        raise ValueError(f"at most {MAX_FIELDS} data fields")
    for f in data:
        if not f:
            raise ValueError("empty data field")
        _digits(f, MAX_FIELD, "data field")
    if data and (mode != cap.SIGN or challenge or amount):
        raise ValueError("data fields are Sign mode 2 (TDS) only, without amount or challenge")
    if mode == cap.IDENTIFY and (challenge or amount):
        raise ValueError("Identify takes no challenge or amount")
    if mode == cap.RESPOND and amount:
        raise ValueError("Respond takes no amount")


def normalise(code: str) -> str:
    """'1234 5678' or '12345678' -> '12345678'; raises ValueError on anything else."""
    digits = "".join(code.split())
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= MAX_CODE):
        raise ValueError(f"a code is 8 to {MAX_CODE} digits, got {code[:24]!r}")
    return digits


def _card_tags(p: Profile) -> dict:
    """What the reader reads from the card that shapes the digits (IPB, IAF, PSN)."""
    tags = {0x5F34: bytes.fromhex(p.psn) if p.psn else b""}
    if p.ipb:
        tags[0x9F56] = p.ipb
    if p.iaf:
        tags[0x9F55] = p.iaf
    if not tags[0x5F34]:
        del tags[0x5F34]
    return tags


def belgian(p: Profile) -> bool:
    """The card is Belgian, told as the reader tells it (sesame.emv.cap.belgian) from the
    issuer data the card's FCI carries."""
    return bool(p.fci_issuer_data) and cap.belgian(tlv.encode(0xBF0C, p.fci_issuer_data))


def expected_code(p: Profile, atc: int, mode: str = cap.IDENTIFY, challenge: str = "",
                  amount: str = "", data: tuple = ()) -> str:
    data = tuple(data)
    check_inputs(mode, challenge, amount, data)
    be = belgian(p)
    tdata = cap.terminal_data(p.aid, mode, challenge, amount, be)
    cdol1 = cap.fill_dol(tlv.dol(p.cdol1, tlv.LC_MAX), tdata)
    ac = cryptogram(p, atc, cdol1)
    tags = _card_tags(p)
    return cap.code_from(tags, _CID, atc.to_bytes(2, "big"), ac, p.iad, data,
                         cap.be_code(p.aid, tags, be))


def _be_code(p: Profile) -> bool:
    return cap.be_code(p.aid, _card_tags(p), belgian(p))


def code_bits(p: Profile, code: str) -> int:
    """The number the code's ATC bits are read from: the code itself, or for the Belgian
    function the v before its last digit was added in front (v < 2^26 < 10^8: one v)."""
    value = int(code)
    if _be_code(p):
        value = (value - (value % 10) * 10_000_000) % 100_000_000
    return value


def atc_filter(p: Profile):
    """(mask, f): mask = the bits of code_bits() that come from the ATC; f(atc) = those
    bits (the Belgian function: ATC byte 1 as v's bits 8-15)."""
    if _be_code(p):
        return 0xFF00, lambda atc: (atc & 0xFF) << 8
    tags = _card_tags(p)
    ipb = tags.get(0x9F56) or cap.VISA_IPB
    iaf = tags[0x9F55][0] if 0x9F55 in tags else 0
    psn = tags.get(0x5F34)
    ones = cap.token(b"\0", b"\xff\xff", bytes(8), p.iad and bytes(len(p.iad)), psn and b"\0", iaf)
    mask, _ = cap.extract(ones, ipb)

    def bits(atc: int) -> int:
        t = cap.token(b"\0", atc.to_bytes(2, "big"), bytes(8), bytes(len(p.iad)),
                      psn and b"\0", iaf)
        return cap.extract(t, ipb)[0]

    return mask, bits


def _record_check(d: dict) -> str:
    if not states.whole(d["last_atc"], 0, 0xFFFF):
        return f"last_atc {d['last_atc']!r} is not a counter 0-65535"
    used = d["used"]
    if not (isinstance(used, list) and all(
            isinstance(u, list) and len(u) == 2 and states.whole(u[0], 0, 0xFFFF)
            and isinstance(u[1], str) for u in used)):
        return "used is not a list of [ATC, code]"
    if not (isinstance(d["accepted"], list) and all(states.whole(a, 0, 0xFFFF) for a in d["accepted"])):
        return "accepted is not a list of counters"
    return ""


def read_record(path: Path, p: Profile) -> dict:
    """The issuer's record of one card; StateError when it is damaged (no code is then
    accepted: a lost record could let a code be accepted twice)."""
    return states.read(path, {"last_atc": p.atc, "accepted": [], "used": []}, _record_check)


def issuer_state_path(p: Profile) -> Path:
    return state_dir() / f"{safe_name(p.name)}.issuer.json"


def verify(p: Profile, code: str, mode: str = cap.IDENTIFY, challenge: str = "",
           amount: str = "", window: int = 32, path: Path | None = None,
           data: tuple = ()) -> tuple[str, int | None]:
    """Returns (ACCEPTED|REJECTED|REPLAYED, atc or None) and records an acceptance.
    Raises ValueError for a malformed code or inputs the mode does not take."""
    code = normalise(code)
    data = tuple(data)
    check_inputs(mode, challenge, amount, data)
    value = code_bits(p, code)
    mask, atc_bits = atc_filter(p)
    path = Path(path or issuer_state_path(p))
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one check at a time per card
        st = read_record(path, p)
        last = int(st["last_atc"])
        for atc, used in reversed(st["used"]):
            if used == code:
                return REPLAYED, atc
        for atc in reversed(st["accepted"]):  # state files written before "used"
            if expected_code(p, atc, mode, challenge, amount, data) == code:
                return REPLAYED, atc
        for atc in range(last + 1, min(last + window, 0xFFFF) + 1):
            if atc_bits(atc) != value & mask:
                continue
            if expected_code(p, atc, mode, challenge, amount, data) == code:
                st["last_atc"] = atc
                st["used"] = (st["used"] + [[atc, code]])[-_KEEP:]
                st["accepted"] = []
                states.write(path, st)
                return ACCEPTED, atc
        return REJECTED, None
