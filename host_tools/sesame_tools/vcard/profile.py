"""Card profiles: the JSON personalisation of a virtual card, and where its state lives."""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sesame.emv import tlv
from sesame.errors import CardError
from sesame_tools import safefile
from sesame_tools.vcard import schema
from sesame_tools.vcard.crypto import icc_mk_option_a

DEFAULT_CARD = "visa_dpa"
MAX_BYTES = 256 * 1024  # a profile is a few kB; 64 records of 254 bytes fit
_BUNDLED = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def cards_dir() -> Path:
    return Path(str(resources.files("sesame_tools.vcard") / "cards"))


class StateDirError(OSError):
    def __str__(self) -> str:
        return self.strerror


def state_dir() -> Path:
    """Where card and issuer state files live: $SESAME_STATE_DIR or ~/.local/state/sesame."""
    d = os.environ.get("SESAME_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "sesame")
    p = Path(d)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StateDirError(e.errno, f"state folder {p}: {e.strerror} (set $SESAME_STATE_DIR "
                            "to a folder you can write)") from None
    _clean_leftovers(p)
    return p


def _clean_leftovers(d: Path) -> None:
    """Temporary files of a write a killed run did not finish (state.write renames them
    into place within milliseconds: one a minute old is a leftover)."""
    now = time.time()
    for t in d.glob("*.tmp"):
        try:
            if now - t.lstat().st_mtime > 60:
                t.unlink()
        except OSError:
            pass


def safe_name(name: str) -> str:
    """A file name for a profile's state files: the name's letters, digits, '-' and '_'
    (anything else, a '/' or '..' included, becomes '_'), plus a short hash of the whole
    name when something was replaced, so two names never share a file."""
    safe = _SAFE.sub("_", name)[:64] or "card"
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe


def _hex(s: str | None) -> bytes:
    return bytes.fromhex(s) if s else b""


@dataclass
class Profile:
    """A personalised card. Hex strings in the JSON become bytes here."""

    name: str
    atr: bytes
    aid: bytes
    label: str
    pan: str
    psn: str
    expiry: str
    icc_mk: bytes
    pin: str
    pin_try_limit: int
    atc: int
    aip: bytes
    afl: bytes
    cvr: bytes
    iad: bytes
    ipb: bytes | None
    iaf: bytes | None
    cdol1: bytes
    cdol2: bytes
    pdol: bytes
    genac_format: int
    records: dict = field(default_factory=dict)  # (sfi, record) -> record body (bytes)
    gpo_format: int = 1  # GET PROCESSING OPTIONS response: 1 (tag 80) or 2 (tag 77)
    pse: list = field(default_factory=list)  # AIDs (bytes) in the PSE directory; [] = no PSE
    pse_sfi: int = 9  # SFI of the PSE directory records
    extra_aids: list = field(default_factory=list)  # other selectable AIDs (bytes), GPO 6985
    select_sw: dict = field(default_factory=dict)  # SELECT data (bytes) -> forced SW (int)
    fci_issuer_data: bytes = b""  # FCI issuer discretionary data (BF0C's value), b"" = none
    path: Path | None = None
    link: dict = field(default_factory=dict)  # link layer: protocols, faults (vcard/server.py)

    @property
    def cdol1_len(self) -> int:
        return sum(n for _, n in tlv.dol(self.cdol1, tlv.LC_MAX))

    @property
    def cdol2_len(self) -> int:
        return sum(n for _, n in tlv.dol(self.cdol2, tlv.LC_MAX))

    @property
    def pdol_len(self) -> int:
        return sum(n for _, n in tlv.dol(self.pdol))


def _default_records(p: dict, ipb: bytes | None, iaf: bytes | None) -> dict:
    """Record 1: PAN, expiry, PSN. Record 2: CDOL1, CDOL2, IAF, IPB (a later record, as on
    French cards, so readers that only look at the first record fail)."""
    r1 = (tlv.encode(0x5A, bytes.fromhex(p["pan"] + ("F" if len(p["pan"]) % 2 else "")))
          + tlv.encode(0x5F24, bytes.fromhex(p.get("expiry", "301231")))
          + tlv.encode(0x5F34, bytes.fromhex(p.get("psn", "00"))))
    r2 = tlv.encode(0x8C, bytes.fromhex(p["cdol1"]))
    if p.get("cdol2"):
        r2 += tlv.encode(0x8D, bytes.fromhex(p["cdol2"]))
    if iaf:
        r2 += tlv.encode(0x9F55, iaf)
    if ipb:
        r2 += tlv.encode(0x9F56, ipb)
    return {(1, 1): r1, (1, 2): r2}


def load(card: str | os.PathLike | None = None) -> Profile:
    """Load a profile by path, or by name among the bundled cards (default: visa_dpa)."""
    card = DEFAULT_CARD if card is None else card
    path = Path(card)
    if not os.path.lexists(path) and _BUNDLED.match(str(card).removesuffix(".json")):
        path = cards_dir() / (str(card).removesuffix(".json") + ".json")
    if str(card) == "" or not os.path.lexists(path):
        names = ", ".join(sorted(p.stem for p in cards_dir().glob("*.json")))
        raise FileNotFoundError(f"no card profile {str(card)!r} (bundled: {names})")
    try:
        p = safefile.read_json(path, MAX_BYTES)
    except FileNotFoundError:
        raise FileNotFoundError(f"no card profile {str(card)!r}") from None
    schema.check(p)  # SchemaError (a ValueError) naming the key
    return _build(p, path)


def _build(p: dict, path: Path) -> Profile:
    if "icc_mk" in p:
        icc_mk = bytes.fromhex(p["icc_mk"])
    else:
        icc_mk = icc_mk_option_a(bytes.fromhex(p["issuer_mk"]), p["pan"], p.get("psn", "00"))
    ipb = _hex(p.get("ipb")) or None
    iaf = _hex(p.get("iaf")) or None
    if "records" in p:
        records = {}
        for key, body in p["records"].items():
            sfi, rec = (int(x) for x in key.split("."))
            records[(sfi, rec)] = bytes.fromhex(body)
    else:
        records = _default_records(p, ipb, iaf)
    prof = Profile(
        name=p.get("name", path.stem), atr=bytes.fromhex(p["atr"]), aid=bytes.fromhex(p["aid"]),
        label=p.get("label", ""), pan=p["pan"], psn=p.get("psn", "00"),
        expiry=p.get("expiry", "301231"), icc_mk=icc_mk, pin=p["pin"],
        pin_try_limit=int(p.get("pin_try_limit", 3)), atc=int(p.get("atc", 0)),
        aip=bytes.fromhex(p.get("aip", "1000")), afl=bytes.fromhex(p.get("afl", "08010200")),
        cvr=bytes.fromhex(p.get("cvr", "A50006040000")), iad=bytes.fromhex(p["iad"]),
        ipb=ipb, iaf=iaf, cdol1=bytes.fromhex(p["cdol1"]), cdol2=_hex(p.get("cdol2")),
        pdol=_hex(p.get("pdol")), genac_format=int(p.get("genac_format", 1)),
        records=records, path=path, link=dict(p.get("link", {})),
        gpo_format=int(p.get("gpo_format", 1)),
        pse=[bytes.fromhex(a) for a in p.get("pse", [])], pse_sfi=int(p.get("pse_sfi", 9)),
        extra_aids=[bytes.fromhex(a) for a in p.get("extra_aids", [])],
        select_sw={bytes.fromhex(k): int(v, 16) for k, v in p.get("select_sw", {}).items()},
        fci_issuer_data=_hex(p.get("fci_issuer_data")))
    for key in ("cdol1", "cdol2", "pdol"):  # DOLs the virtual card fills at each transaction
        try:
            tlv.dol(getattr(prof, key), tlv.LC_MAX)
        except CardError:
            raise schema.SchemaError(f"{key}: not a data object list (tag, length pairs)") from None
    return prof


def with_tck(hexatr: str) -> str:
    """The ATR given in hex (TS to the last historical byte) with its check byte TCK
    appended: the XOR of every byte after TS (ISO 7816-3 8.2.5). Hex in, upper-case hex out."""
    b = bytes.fromhex(hexatr)
    x = 0
    for c in b[1:]:
        x ^= c
    return (b + bytes((x,))).hex().upper()
