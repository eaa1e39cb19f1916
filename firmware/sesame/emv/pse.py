# The PSE directory (EMV Book 1 12.2.3): AIDs a card lists under 1PAY.SYS.DDF01, and the
# selection order after it. Loaded by the CAP engine only once none of the known CAP AIDs
# and Bancontact worked (a small heap matters).
from micropython import const
from sesame.emv import tlv
from sesame.emv.cap import CAP_AIDS, FIRST_AIDS, PAYMENT_AIDS
from sesame.errors import BadData

PSE = b"1PAY.SYS.DDF01"
_MAX_RECORDS = const(16)  # directory records read at most


def candidates(t):
    # SELECT the PSE over transport t; returns the AIDs to try next (order_candidates).
    r = t.transmit(b"\x00\xA4\x04\x00\x0E" + PSE + b"\x00")
    listed = []
    if len(r) >= 2 and r[-2:] == b"\x90\x00":
        listed = directory(t, r[:-2])
    return order_candidates(listed)


def order_candidates(pse_aids):
    # Selection order once FIRST_AIDS failed: the PSE's AIDs (CAP ones first, then by
    # priority), then the known payment AIDs; no AID twice, none of FIRST_AIDS again.
    out = [a for a in pse_aids if a[:7] in CAP_AIDS and a not in FIRST_AIDS]
    for a in tuple(pse_aids) + PAYMENT_AIDS:
        if a not in out and a not in FIRST_AIDS:
            out.append(a)
    return out


def directory(t, fci):
    # Reads the directory records named by the FCI's SFI (88) over transport t; returns
    # the AIDs by priority (87 b4-b1; none = last), the card's order among equals.
    try:
        sfi = tlv.value(fci, 0x88)
    except BadData:
        return []
    if not sfi or not 1 <= sfi[0] <= 30:
        return []
    found = []
    for rec in range(1, _MAX_RECORDS + 1):
        r = t.transmit(bytes((0x00, 0xB2, rec, (sfi[0] << 3) | 4, 0x00)))
        if len(r) < 2 or r[-2:] != b"\x90\x00":
            break
        try:
            for tag, s, e in tlv.items(r, 0, len(r) - 2):
                if tag == 0x70:
                    _entries(r, s, e, found)
        except BadData:
            break
    found.sort()
    return [e[2] for e in found]


def _entries(buf, s, e, found):
    for tag, vs, ve in tlv.items(buf, s, e):
        if tag != 0x61:
            continue
        entry = buf[vs:ve]
        aid = tlv.value(entry, 0x4F)
        prio = tlv.value(entry, 0x87)
        if aid and 5 <= len(aid) <= 16:
            found.append((((prio[0] & 0x0F) if prio else 0) or 16, len(found), aid))
