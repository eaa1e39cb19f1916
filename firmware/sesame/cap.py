# EMV-CAP engine: the transaction a CAP reader runs, over any transport offering
# transmit(apdu) -> data + SW1 SW2 (T=0, T=1, or a replayed trace).
# Steps and data follow DESIGN.md section 5 (EMV Book 3 for the commands).
from micropython import const
from sesame import tlv
from sesame.errors import NoApplication, PinBlocked, PinWrong, ProtocolError, StatusError

AID_VISA_DPA = b"\xA0\x00\x00\x00\x03\x80\x02"
AID_MC_CAP = b"\xA0\x00\x00\x00\x04\x80\x02"
CAP_AIDS = (AID_VISA_DPA, AID_MC_CAP)
# Static Visa IPB, used when the card carries no 9F56.
VISA_IPB = b"\x00\x00\xFF\xFF\xFF\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\xB9\x38"

IDENTIFY = "identify"
RESPOND = "respond"
SIGN = "sign"

_SW_OK = const(0x9000)


def bcd(digits, nbytes):
    # Right-justified packed BCD of a decimal string ("1234", 6) -> 00 00 00 00 12 34.
    out = bytearray(nbytes)
    d = digits[-2 * nbytes:] if digits else ""
    pos = 2 * nbytes - len(d)
    for ch in d:
        v = ord(ch) - 48
        if not 0 <= v <= 9:
            raise ValueError("not a digit")
        if pos & 1:
            out[pos >> 1] |= v
        else:
            out[pos >> 1] |= v << 4
        pos += 1
    return bytes(out)


def terminal_data(aid, mode=IDENTIFY, challenge="", amount=""):
    # Values a CAP reader puts in PDOL/CDOL fields; every other tag is zero-filled.
    return {
        0x95: b"\x80\x00\x00\x00\x00",  # TVR
        0x9A: b"\x01\x01\x01" if aid == AID_VISA_DPA else b"\x00\x00\x00",  # date
        0x9F37: bcd(challenge, 4) if mode != IDENTIFY else bytes(4),  # UN
        0x9F02: bcd(amount, 6) if mode == SIGN else bytes(6),  # amount
        0x9F35: b"\x34",  # terminal type
        0x9F34: b"\x01\x00\x02",  # CVM results
        0x9F33: b"\x20\x80\x00",  # terminal capabilities
        0x8A: b"Z3",  # authorisation response code for the closing GENERATE AC
    }


def fill_dol(dol, data):
    # Concatenated values for a DOL: known tags right-justified/truncated to the
    # requested length, unknown tags zero (EMV Book 3 5.4).
    out = bytearray()
    for tag, n in dol:
        v = data.get(tag, b"")
        if len(v) >= n:
            out += v[len(v) - n:]
        else:
            out += bytes(n - len(v)) + v
    return bytes(out)


def token(cid, atc, ac, iad, psn=None, iaf=0):
    # The bit string the IPB selects from (PSN first when IAF b7 is set).
    t = bytes(psn) if (psn is not None and iaf & 0x40) else b""
    return t + bytes(cid) + bytes(atc) + bytes(ac) + bytes(iad)


def extract(tok, ipb):
    # Copies token bits where the IPB has a 1, MSB first; returns (value, bit count).
    v = 0
    bits = 0
    for i in range(len(ipb)):
        m = ipb[i]
        if not m:
            continue
        t = tok[i] if i < len(tok) else 0
        for b in range(7, -1, -1):
            if m >> b & 1:
                v = (v << 1) | (t >> b & 1)
                bits += 1
    return v, bits


def code_text(value):
    # At least 8 digits, zero-padded; longer codes are shown whole.
    s = str(value)
    return "0" * (8 - len(s)) + s if len(s) < 8 else s


def split_genac(resp):
    # GENERATE AC response data -> (cid, atc, ac, iad) (EMV Book 3 6.5.5.4).
    if not resp:
        raise ProtocolError("empty GENERATE AC response")
    if resp[0] == 0x80:
        r = tlv.find(resp, 0x80)
        if r is None or r[1] - r[0] < 11:
            raise ProtocolError("short format-1 GENERATE AC response")
        v = resp[r[0]:r[1]]
        return v[0:1], v[1:3], v[3:11], v[11:]
    if resp[0] == 0x77:
        f = tlv.collect(resp, (0x9F27, 0x9F36, 0x9F26, 0x9F10), {})
        if 0x9F27 not in f or 0x9F36 not in f or 0x9F26 not in f:
            raise ProtocolError("format-2 GENERATE AC response lacks CID/ATC/AC")
        return f[0x9F27], f[0x9F36], f[0x9F26], f.get(0x9F10, b"")
    raise ProtocolError("GENERATE AC response template %02X" % resp[0])


class Result:
    # What a CAP transaction produced.
    def __init__(self, code, atc, aid, tries):
        self.code = code  # decimal string, >= 8 digits
        self.atc = atc  # int
        self.aid = aid
        self.tries = tries  # PIN tries left before VERIFY, or None


def _sw(r):
    return (r[-2] << 8) | r[-1]


class Cap:
    # One CAP transaction over `transport`.
    def __init__(self, transport):
        self.t = transport
        self._pinblk = bytearray(13)  # VERIFY APDU, wiped after use

    def _cmd(self, what, apdu, ok=(_SW_OK,)):
        r = self.t.transmit(apdu)
        if len(r) < 2:
            raise ProtocolError(what + ": no status word")
        sw = _sw(r)
        if sw not in ok:
            raise StatusError(what, sw)
        return r[:-2], sw

    def select(self):
        # First CAP application that answers 9000 (DESIGN.md 5); returns (aid, fci).
        for aid in CAP_AIDS:
            apdu = b"\x00\xA4\x04\x00" + bytes((len(aid),)) + aid + b"\x00"
            r = self.t.transmit(apdu)
            if len(r) >= 2 and _sw(r) == _SW_OK:
                return aid, r[:-2]
        raise NoApplication("no CAP application")

    def read_data(self, aid, fci, data):
        # GET PROCESSING OPTIONS then READ RECORD of every AFL entry; returns card tags.
        pdol = tlv.value(fci, 0x9F38)
        pd = fill_dol(tlv.dol(pdol), data) if pdol else b""
        body = b"\x83" + bytes((len(pd),)) + pd
        resp, _ = self._cmd("GPO", b"\x80\xA8\x00\x00" + bytes((len(body),)) + body + b"\x00")
        if resp[:1] == b"\x80":
            r = tlv.find(resp, 0x80)
            if r is None or r[1] - r[0] < 2:
                raise ProtocolError("short GPO response")
            aip, afl = resp[r[0]:r[0] + 2], resp[r[0] + 2:r[1]]
        else:
            aip, afl = tlv.value(resp, 0x82), tlv.value(resp, 0x94) or b""
        card = {0x82: aip}
        wanted = (0x8C, 0x8D, 0x9F56, 0x9F55, 0x5F34, 0x5A)
        for i in range(0, len(afl) - 3, 4):
            sfi = afl[i] >> 3
            for rec in range(afl[i + 1], afl[i + 2] + 1):
                apdu = bytes((0x00, 0xB2, rec, (sfi << 3) | 4, 0x00))
                body, _ = self._cmd("READ RECORD", apdu)
                tlv.collect(body, wanted, card)
        if 0x8C not in card:
            raise ProtocolError("card has no CDOL1")
        return card

    def tries_left(self):
        # GET DATA 9F17; None when the card does not tell.
        r = self.t.transmit(b"\x80\xCA\x9F\x17\x00")
        if len(r) >= 2 and _sw(r) == _SW_OK:
            v = tlv.value(r[:-2], 0x9F17)
            if v:
                return v[0]
        return None

    def verify(self, pin, npin):
        # VERIFY with a plaintext PIN block (EMV Book 3 6.5.12): 00 20 00 80 08 2L PP..FF.
        # No Le. pin[:npin] holds digit values 0-9; the caller's buffer and ours are wiped.
        b = self._pinblk
        try:
            b[0:5] = b"\x00\x20\x00\x80\x08"
            b[5] = 0x20 | npin
            for i in range(14):
                d = pin[i] if i < npin else 0xF
                if i & 1:
                    b[6 + (i >> 1)] |= d
                else:
                    b[6 + (i >> 1)] = d << 4
            r = self.t.transmit(b)
        finally:
            for i in range(len(b)):
                b[i] = 0
            for i in range(len(pin)):
                pin[i] = 0
        sw = _sw(r)
        if sw == _SW_OK:
            return
        if sw & 0xFFF0 == 0x63C0:
            if sw & 0x0F == 0:
                raise PinBlocked("PIN blocked")
            raise PinWrong(sw & 0x0F)
        if sw in (0x6983, 0x6984):
            raise PinBlocked("PIN blocked")
        raise StatusError("VERIFY", sw)

    def run(self, pin, npin, mode=IDENTIFY, challenge="", amount=""):
        try:
            aid, fci = self.select()
            data = terminal_data(aid, mode, challenge, amount)
            card = self.read_data(aid, fci, data)
            tries = self.tries_left()
            if tries == 0:
                raise PinBlocked("PIN blocked")
            self.verify(pin, npin)
        finally:
            for i in range(len(pin)):
                pin[i] = 0
        cdol1 = fill_dol(tlv.dol(card[0x8C]), data)
        resp, _ = self._cmd("GENERATE AC", b"\x80\xAE\x80\x00" + bytes((len(cdol1),)) + cdol1 + b"\x00")
        cid, atc, ac, iad = split_genac(resp)
        if 0x8D in card:  # close the transaction with an AAC (ARC "Z3")
            cdol2 = fill_dol(tlv.dol(card[0x8D]), data)
            self.t.transmit(b"\x80\xAE\x00\x00" + bytes((len(cdol2),)) + cdol2 + b"\x00")
        ipb = card.get(0x9F56) or VISA_IPB
        iaf = card.get(0x9F55, b"\x00")[0] if card.get(0x9F55) else 0
        value, _ = extract(token(cid, atc, ac, iad, card.get(0x5F34), iaf), ipb)
        return Result(code_text(value), (atc[0] << 8) | atc[1], aid, tries)
