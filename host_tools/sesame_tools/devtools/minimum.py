"""The fewest characters a correct CAP reader can exchange with a card for one Identify:
the yardstick `make bench` holds the firmware's transaction against.

The minimum is the exchanges a CAP Identify cannot do without, plus the GET DATA 9F17 and
the closing GENERATE AC that real readers keep, each in its cheapest correct form:

- selection: a correct reader prefers the CAP applications, so it SELECTs the known CAP
  AIDs (Visa DPA, MasterCard CAP) and then Bancontact, in that order, up to the card's
  application (the failed ones answered by a status word only). When the application is
  none of them, it SELECTs the PSE (answered by a status, or by the FCI and then every
  directory record up to the first that fails), then its candidates up to the
  application: the PSE's AIDs (by priority), then the known payment AIDs;
- GET PROCESSING OPTIONS with the PDOL's data;
- READ RECORD of the AFL's records in order, up to the last one holding a tag the code
  needs (CDOL1, CDOL2, the IPB, the IAF, the PSN when the IAF puts it in the token; for
  Bancontact only the CDOLs); a card lacking one of them is read to its end, since no
  reader can know it is missing before;
- GET DATA 9F17, VERIFY, the first GENERATE AC, and the closing GENERATE AC when the card
  has a CDOL2.

Characters per command (ISO/IEC 7816-3): T=0 sends the 5-byte header, the card's
procedure byte, the command data and the status word; response data whose length the
reader knows (GET DATA 9F17: 4 bytes) comes in the same TPDU; data of unknown length
costs a first TPDU answered 6Cxx (READ RECORD); a case-4 command's data comes with GET
RESPONSE after 61xx, except the closing GENERATE AC's, which is never used. T=1: one
I-block each way (NAD PCB LEN, INF, LRC: 4 characters around the APDU; 5 with a CRC).
The card's answers (their lengths) come from the virtual card's own applet, fed these
commands alone: the figure belongs to the card, not to the reader under test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sesame.emv import tlv
from sesame.iso7816.atr import Atr
from sesame_tools.vcard.emv import CapApplet
from sesame_tools.vcard.profile import Profile
from sesame_tools.vcard.state import CardState

DPA, MC_CAP = bytes.fromhex("A0000000038002"), bytes.fromhex("A0000000048002")
BANCONTACT = bytes.fromhex("D056000666111010")
PAYMENT = [bytes.fromhex(a) for a in ("A0000000031010", "A0000000032010", "A0000000041010",
                                      "A0000000043060")]
PSE = b"1PAY.SYS.DDF01"


def _select(aid: bytes) -> bytes:
    return bytes((0x00, 0xA4, 0x04, 0x00, len(aid))) + aid + b"\x00"


def _read(sfi: int, rec: int) -> bytes:
    return bytes((0x00, 0xB2, rec, (sfi << 3) | 4, 0x00))


def _records_needed(p: Profile, applet: CapApplet) -> list[tuple[int, int]]:
    """The AFL's records up to the last one holding a needed tag (all of them when the
    card lacks one)."""
    afl = p.afl
    order = [(afl[i] >> 3, r) for i in range(0, len(afl), 4)
             for r in range(afl[i + 1], afl[i + 2] + 1)]
    found: dict[int, int] = {}  # tag -> index of the first record holding it
    for k, (sfi, rec) in enumerate(order):
        data, sw = applet.process(_read(sfi, rec))
        for tag in (0x8C, 0x8D, 0x9F56, 0x9F55, 0x5F34):
            if sw == 0x9000 and tag not in found and tlv.find(data, tag) is not None:
                found[tag] = k
    bancontact = p.aid == BANCONTACT and bool(p.fci_issuer_data)
    need = [0x8C, 0x8D] if bancontact else [0x8C, 0x8D, 0x9F56, 0x9F55]
    if not bancontact and p.iaf and p.iaf[0] & 0x40:
        need.append(0x5F34)
    if any(t not in found for t in need):
        return order
    return order[:max(found[t] for t in need) + 1]


def commands(p: Profile) -> list[tuple[bytes, str]]:
    """The commands of the minimum, in order, each with how its answer is taken:
    "status" (no data wanted), "known" (length known), "unknown" (T=0: 6Cxx first),
    "fetch" (T=0: GET RESPONSE after 61xx), "unused" (closing GENERATE AC); "directory"
    and "records" stand for the READ RECORDs the card's answers decide."""
    out: list[tuple[bytes, str]] = []
    for aid in (DPA, MC_CAP, BANCONTACT):
        out.append((_select(aid), "fetch"))
        if p.aid.startswith(aid):
            break
    else:
        out.append((_select(PSE), "fetch"))
        out.append((b"", "directory"))  # its records, when the card has a PSE
        listed = list(p.pse)  # the virtual card's priorities follow this order
        for aid in listed + [a for a in PAYMENT if a not in listed]:
            out.append((_select(aid), "fetch"))
            if p.aid.startswith(aid):
                break
    pd = sum(n for _, n in tlv.dol(p.pdol)) if p.pdol else 0
    out.append((b"\x80\xA8\x00\x00" + bytes((pd + 2, 0x83, pd)) + bytes(pd) + b"\x00", "fetch"))
    out.append((b"", "records"))  # the AFL's, once GPO has run on the card
    out.append((b"\x80\xCA\x9F\x17\x04", "known"))
    out.append((b"\x00\x20\x00\x80\x08" + bytes(8), "status"))
    n1 = sum(n for _, n in tlv.dol(p.cdol1, tlv.LC_MAX))
    out.append((b"\x80\xAE\x80\x00" + bytes((n1,)) + bytes(n1) + b"\x00", "fetch"))
    if p.cdol2:
        n2 = sum(n for _, n in tlv.dol(p.cdol2, tlv.LC_MAX))
        out.append((b"\x80\xAE\x00\x00" + bytes((n2,)) + bytes(n2) + b"\x00", "unused"))
    return out


def _t0(apdu: bytes, how: str, n: int) -> int:
    """T=0 characters of one command whose answer has n data bytes."""
    lc = apdu[4] if len(apdu) > 5 else 0
    first = 5 + (1 + lc if lc else 0) + 2  # header, [ACK, data], SW1 SW2 (61xx, 6Cxx, status)
    if not n or how in ("status", "unused"):
        return first
    if how == "known":
        return 5 + 1 + n + 2
    if how == "unknown":  # P3 = 00 answered 6Cxx, then the header again with P3 = n
        return 5 + 2 + 5 + 1 + n + 2
    return first + 5 + 1 + n + 2  # GET RESPONSE


def _t1(apdu: bytes, n: int, crc: bool) -> int:
    edc = 2 if crc else 1
    return (3 + len(apdu) + edc) + (3 + n + 2 + edc)


def minimum(p: Profile) -> int:
    """Characters (both ways, after the ATR and any PPS or S(IFS)) of the minimum."""
    atr = Atr(p.atr)
    t1 = atr.protocols[:1] == [1]
    with tempfile.TemporaryDirectory() as d:
        applet = CapApplet(p, CardState(Path(d) / "min.json", p.atc, p.pin_try_limit))
        applet.state.pin_tries = p.pin_try_limit
        total = 0
        for apdu, how in commands(p):
            if how == "records":
                todo = [(_read(sfi, rec), "unknown") for sfi, rec in _records_needed(p, applet)]
            elif how == "directory":
                todo = []
                for rec in range(1, 17) if p.pse else ():  # up to the first that fails
                    todo.append((_read(p.pse_sfi, rec), "unknown"))
                    if applet.process(todo[-1][0])[1] != 0x9000:
                        break
            else:
                if apdu[1] == 0x20:  # the card's own PIN, so that it answers 9000
                    digits = p.pin + "F" * (14 - len(p.pin))
                    apdu = apdu[:5] + bytes.fromhex("2" + format(len(p.pin), "X") + digits)
                todo = [(apdu, how)]
            for a, h in todo:
                data, sw = applet.process(a)
                n = len(data) if sw == 0x9000 else 0
                total += _t1(a, n, atr.edc == "crc") if t1 else _t0(a, h, n)
        return total
