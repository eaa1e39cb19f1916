# EMV-CAP engine: the transaction a CAP reader runs, over any transport offering
# transmit(apdu) -> data + SW1 SW2 (T=0, T=1, or a replayed trace).
# Steps and data follow DESIGN.md section 5 (EMV Book 1 12 for selection, Book 3 for
# the commands and data objects).
#
# The pure parts (terminal data, DOL filling, TDS, IPB digits) are
# shared with the issuer check. Input checks are the caller's (the app's keypad flows
# cannot produce anything else; the host tools use sesame_tools.issuer.check.check_inputs).
#
# Phases (one call to Cap.run does them all, blocking):
#   select      known CAP AIDs, then Bancontact; only when none works the PSE
#               1PAY.SYS.DDF01 and its directory, then known payment AIDs; a candidate
#               failing SELECT, GPO or READ RECORD is skipped. Belgian cards (FCI BF0C,
#               sesame.emv.belgian) get their own terminal data and code function.
#   read        GET PROCESSING OPTIONS (PDOL filled), READ RECORD of the AFL entries
#               until every tag the code needs is in hand (CDOL1 may sit late)
#   pin         GET DATA 9F17: 0 -> blocked, no VERIFY; 1 -> confirm() must say yes
#               (the reader asks the user for OK again); then VERIFY (plaintext)
#   generate    GENERATE AC (ARQC, CDOL1), GENERATE AC (AAC, CDOL2, ARC "Z3"; Belgian
#               "Z1"), its answer unused: not fetched on T=0
#   digits      [Mode-2 TDS over the AC] then token -> IPB bits -> decimal code, or the
#               Belgian function (Bancontact, or a Belgian card without an IPB)
# No exchange a CAP transaction can do without (`make bench`: characters vs minimum).
from micropython import const
from sesame.emv import tlv
from sesame.errors import (BadData, CardError, NoApplication, PinBlocked, PinInvalid, PinWrong,
                           StatusError)

_SW_OK = const(0x9000)

AID_VISA_DPA = b"\xA0\x00\x00\x00\x03\x80\x02"
AID_MC_CAP = b"\xA0\x00\x00\x00\x04\x80\x02"
CAP_AIDS = (AID_VISA_DPA, AID_MC_CAP)
AID_BANCONTACT = b"\xD0\x56\x00\x06\x66\x11\x10\x10"
FIRST_AIDS = CAP_AIDS + (AID_BANCONTACT,)  # tried before the PSE, in this order
PAYMENT_AIDS = (
    b"\xA0\x00\x00\x00\x03\x10\x10",  # Visa credit/debit
    b"\xA0\x00\x00\x00\x03\x20\x10",  # Visa Electron
    b"\xA0\x00\x00\x00\x04\x10\x10",  # MasterCard
    b"\xA0\x00\x00\x00\x04\x30\x60",  # Maestro
)
# Static Visa IPB, used when the card carries no 9F56.
VISA_IPB = b"\x00\x00\xFF\xFF\xFF\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\xB9\x38"

IDENTIFY = "identify"
RESPOND = "respond"
SIGN = "sign"


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


def belgian(fci):
    # A Belgian card (sesame.emv.belgian loads only when the FCI has issuer data BF0C).
    if b"\xBF\x0C" not in fci:
        return False
    from sesame.emv.belgian import country

    return country(fci)


def terminal_data(aid, mode=IDENTIFY, challenge="", amount="", be=False):
    # Values a CAP reader puts in PDOL/CDOL fields; every other tag is zero-filled.
    # Respond: challenge -> UN. Sign: amount (cents) -> 9F02, reference -> UN.
    # Mode-2 TDS (Sign with data fields): UN and amount stay zero.
    # be: a Belgian card (belgian(fci)): sesame.emv.belgian.rules() applies.
    d = {
        0x95: b"\x80\x00\x00\x00\x00",  # TVR
        0x9A: b"\x01\x01\x01" if aid[:5] == b"\xA0\x00\x00\x00\x03" else bytes(3),  # date: Visa 010101
        0x9F37: bcd(challenge, 4) if mode != IDENTIFY else bytes(4),  # UN
        0x9F02: bcd(amount, 6) if mode == SIGN else bytes(6),  # amount, authorised
        0x9F35: b"\x34",  # terminal type
        0x9F34: b"\x01\x00\x02",  # CVM results
        0x9F33: b"\x20\x80\x00",  # terminal capabilities
        0x8A: b"Z3",  # authorisation response code for the closing GENERATE AC
    }
    if be:
        from sesame.emv.belgian import rules

        rules(aid, d)
    return d


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
        raise BadData("GENAC: empty")
    if resp[0] == 0x80:
        r = tlv.find(resp, 0x80)
        if r is None or r[1] - r[0] < 11:
            raise BadData("GENAC: short")
        v = resp[r[0]:r[1]]
        return v[0:1], v[1:3], v[3:11], v[11:]
    if resp[0] == 0x77:
        f = tlv.collect(resp, (0x9F27, 0x9F36, 0x9F26, 0x9F10), {})
        if 0x9F27 not in f or 0x9F36 not in f or 0x9F26 not in f:
            raise BadData("GENAC: no CID/ATC/AC")
        if len(f[0x9F27]) != 1 or len(f[0x9F36]) != 2 or len(f[0x9F26]) != 8:
            raise BadData("GENAC: no CID/ATC/AC")
        return f[0x9F27], f[0x9F36], f[0x9F26], f.get(0x9F10, b"")
    raise BadData("GENAC: template")


def be_code(aid, card, be):
    # The Belgian code function applies: a Belgian card's Bancontact application, or any
    # application of a Belgian card without an IPB.
    return be and (aid[:8] == AID_BANCONTACT or not card.get(0x9F56))


def code_from(card, cid, atc, ac, iad, data=(), be=False):
    # Digits shown to the user, from the card's IPB/IAF/PSN and the first GENERATE AC.
    # be: use the Belgian code function (be_code()) instead of the IPB.
    if data:  # Mode-2 TDS fields: DES loads only for them
        from sesame.emv.des import tds

        ac = tds(ac, data)
    if be:
        from sesame.emv.belgian import code

        return code_text(code(atc, ac))
    ipb = card.get(0x9F56) or VISA_IPB
    iaf = card.get(0x9F55)
    iaf = iaf[0] if iaf else 0
    value, _ = extract(token(cid, atc, ac, iad, card.get(0x5F34), iaf), ipb)
    return code_text(value)


class Cancelled(CardError):
    # The user declined the last PIN try (no VERIFY sent), or pressed CLEAR while the
    # transaction ran (sesame.reader.loop raises it then).
    msg = "AbortEd"


def _sw(r):
    return (r[-2] << 8) | r[-1]


def _complete(card, no_ipb):
    # Every tag the code can use is in hand: CDOL1 and CDOL2, and unless no_ipb the IPB,
    # the IAF and (when the IAF puts it in the token) the PSN. A card lacking one of them
    # is read to its last record.
    if 0x8C not in card or 0x8D not in card or no_ipb:
        return 0x8C in card and 0x8D in card
    iaf = card.get(0x9F55)
    if not iaf or 0x9F56 not in card:
        return False
    return not iaf[0] & 0x40 or 0x5F34 in card


class Result:
    # What a CAP transaction produced.
    def __init__(self, code, atc, aid, tries, label=b""):
        self.code = code  # decimal string, >= 8 digits
        self.atc = atc  # int
        self.aid = aid  # DF name of the selected application
        self.tries = tries  # PIN tries left before VERIFY, or None
        self.label = label  # application label (FCI tag 50), b"" when none


class Cap:
    # One CAP transaction over `transport`.

    def __init__(self, transport):
        self.t = transport
        self._pinblk = bytearray(13)  # VERIFY APDU, wiped after use

    def _cmd(self, what, apdu, ok=(_SW_OK,)):
        r = self.t.transmit(apdu)
        if len(r) < 2:
            raise BadData(what + ": no SW")
        sw = _sw(r)
        if sw not in ok:
            raise StatusError(what, sw)
        return r[:-2], sw

    # -- selection (EMV Book 1 12.3)
    def select(self, mode=IDENTIFY, challenge="", amount=""):
        # First candidate that selects, answers GPO and carries a CDOL1: the known CAP
        # AIDs and Bancontact; only once none of them worked, the PSE directory's AIDs
        # and the known payment AIDs (sesame.emv.pse loads only then).
        # Returns (aid, fci, card tags, terminal data, Belgian).
        aids = FIRST_AIDS
        while True:
            for aid in aids:
                r = self.t.transmit(b"\x00\xA4\x04\x00" + bytes((len(aid),)) + aid + b"\x00")
                if len(r) < 2 or _sw(r) != _SW_OK:
                    continue  # 6A82, 6D00, 6283 (blocked) or anything else: next candidate
                fci = r[:-2]
                try:
                    name = tlv.value(fci, 0x84) or aid
                except BadData:
                    continue
                be = belgian(fci)
                data = terminal_data(name, mode, challenge, amount, be)
                try:
                    card = self.read_data(fci, data, be and name[:8] == AID_BANCONTACT)
                except (StatusError, BadData):  # refused or malformed (not the line): next
                    continue
                if 0x8C in card:
                    return name, fci, card, data, be
            if aids is not FIRST_AIDS:
                raise NoApplication("no CAP application")
            from sesame.emv.pse import candidates

            aids = candidates(self.t)

    # -- reading (EMV Book 3 10.1-10.2)
    def read_data(self, fci, data, no_ipb=False):
        # GET PROCESSING OPTIONS then READ RECORD of the AFL entries until every tag the
        # code needs is in hand (_complete); returns card tags. no_ipb: the code does not
        # use the IPB, IAF or PSN (Belgian Bancontact).
        pdol = tlv.value(fci, 0x9F38)
        pd = fill_dol(tlv.dol(pdol), data) if pdol else b""  # at most tlv.DOL_MAX bytes
        n = len(pd)
        body = (b"\x83" + bytes((n,)) if n < 0x80 else b"\x83\x81" + bytes((n,))) + pd
        resp, _ = self._cmd("GPO", b"\x80\xA8\x00\x00" + bytes((len(body),)) + body + b"\x00")
        if resp[:1] == b"\x80":  # format 1: AIP || AFL
            r = tlv.find(resp, 0x80)
            if r is None or r[1] - r[0] < 2:
                raise BadData("GPO")
            aip, afl = bytes(resp[r[0]:r[0] + 2]), bytes(resp[r[0] + 2:r[1]])
        elif resp[:1] == b"\x77":  # format 2: TLV objects
            aip, afl = tlv.value(resp, 0x82), tlv.value(resp, 0x94) or b""
        else:
            raise BadData("GPO")
        if len(afl) % 4:
            raise BadData("AFL")
        card = {0x82: aip}
        wanted = (0x8C, 0x8D, 0x9F56, 0x9F55, 0x5F34)
        for i in range(0, len(afl), 4):
            sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
            if not 1 <= sfi <= 30 or first == 0 or last < first:
                raise BadData("AFL")
            for rec in range(first, last + 1):
                apdu = bytes((0x00, 0xB2, rec, (sfi << 3) | 4, 0x00))
                body, _ = self._cmd("READ RECORD", apdu)
                tlv.collect(body, wanted, card)
                if _complete(card, no_ipb):
                    return card
        return card

    # -- cardholder verification (EMV Book 3 6.5.12)
    def tries_left(self):
        # GET DATA 9F17; None when the card does not tell.
        # Le 04: the answer's length (9F17 01 xx), so T=0 needs no 6C04 resend
        r = self.t.transmit(b"\x80\xCA\x9F\x17\x04")
        if len(r) >= 2 and _sw(r) == _SW_OK:
            try:
                v = tlv.value(r[:-2], 0x9F17)
            except BadData:
                return None
            if v:
                return v[0]
        return None

    def verify(self, pin, npin):
        # VERIFY with a plaintext PIN block: 00 20 00 80 08 2L PP..FF. No Le.
        # pin[:npin] holds digit values 0-9; the caller's buffer and ours are wiped.
        b = self._pinblk
        try:
            if not 4 <= npin <= 12:
                raise ValueError
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
        if len(r) < 2:
            raise BadData("VERIFY: no SW")
        sw = _sw(r)
        if sw == _SW_OK:
            return
        if sw & 0xFFF0 == 0x63C0:
            if sw & 0x0F == 0:
                raise PinBlocked("PIN blocked")
            raise PinWrong(sw & 0x0F)
        if sw == 0x6983:
            raise PinBlocked("PIN blocked")
        if sw == 0x6984:
            raise PinInvalid("PIN invalidated")
        raise StatusError("VERIFY", sw)

    # -- cryptogram (EMV Book 3 6.5.5)
    def generate(self, card, tdata, data=(), be=False):
        # be: the Belgian code function (be_code())
        cdol1 = fill_dol(tlv.dol(card[0x8C], tlv.LC_MAX), tdata)
        resp, _ = self._cmd("GENERATE AC",
                            b"\x80\xAE\x80\x00" + bytes((len(cdol1),)) + cdol1 + b"\x00")
        cid, atc, ac, iad = split_genac(resp)
        if 0x8D in card:  # close the transaction with an AAC; answer unused
            cdol2 = fill_dol(tlv.dol(card[0x8D], tlv.LC_MAX), tdata)
            # T=0: sent as case 3 (no Le), so its 61xx is not fetched with GET RESPONSE
            # (ISO/IEC 7816-3 12.2.3); the same characters reach the card. T=1: case 4.
            le = b"" if getattr(self.t, "PROTOCOL", 1) == 0 else b"\x00"
            try:
                self.t.transmit(b"\x80\xAE\x00\x00" + bytes((len(cdol2),)) + cdol2 + le)
            except CardError:
                pass
        return code_from(card, cid, atc, ac, iad, data, be), (atc[0] << 8) | atc[1]

    def run(self, pin, npin, mode=IDENTIFY, challenge="", amount="", data=(), confirm=None):
        # The whole transaction. confirm: called with no argument when the card has one
        # PIN try left; VERIFY is sent only if it returns true (None: always sent).
        # Respond: challenge. Sign: amount (cents) and reference (challenge), or data
        # (Mode-2 TDS fields). Raises CardError subclasses; the PIN buffer is wiped.
        try:
            aid, fci, card, tdata, be = self.select(mode, challenge, amount)
            tries = self.tries_left()
            if tries == 0:
                raise PinBlocked("PIN blocked")
            if tries == 1 and confirm is not None and not confirm():
                raise Cancelled("last PIN try declined")
            self.verify(pin, npin)
        finally:
            for i in range(len(pin)):
                pin[i] = 0
        code, atc = self.generate(card, tdata, data, be_code(aid, card, be))
        return Result(code, atc, aid, tries, tlv.value(fci, 0x50) or b"")
