"""The EMV CAP application of the virtual card: APDU in, (data, SW) out.

Commands (EMV Book 3 section 6.5): SELECT, GET PROCESSING OPTIONS, READ RECORD,
GET DATA (9F17, 9F36), VERIFY (plaintext PIN), GENERATE AC (ARQC, then AAC).
"""

from __future__ import annotations

from sesame.emv import tlv
from sesame_tools.vcard.crypto import emv2000_tree_sk, mac_alg3
from sesame_tools.vcard.profile import Profile
from sesame_tools.vcard.state import CardState

OK = 0x9000


def cryptogram(profile: Profile, atc: int, dol_data: bytes) -> bytes:
    """AC = MAC alg. 3 under the EMV2000-tree session key over
    CDOL data || AIP || ATC || CVR (Book 2 A1.2 and A1.3)."""
    sk = emv2000_tree_sk(profile.icc_mk, atc)
    return mac_alg3(sk, dol_data + profile.aip + atc.to_bytes(2, "big") + profile.cvr)


def genac_response(profile: Profile, cid: int, atc: int, ac: bytes) -> bytes:
    """Format 1 (tag 80) or format 2 (tag 77) GENERATE AC response (Book 3 6.5.5.4)."""
    atcb = atc.to_bytes(2, "big")
    if profile.genac_format == 2:
        return tlv.encode(0x77, tlv.encode(0x9F27, bytes((cid,))) + tlv.encode(0x9F36, atcb)
                          + tlv.encode(0x9F26, ac) + tlv.encode(0x9F10, profile.iad))
    return tlv.encode(0x80, bytes((cid,)) + atcb + ac + profile.iad)


class CapApplet:
    """One card's application; session fields are reset at each card reset."""

    # INS codes whose command carries data to the card (T=0 must ACK and receive P3 bytes).
    DATA_IN = {0xA4, 0xA8, 0x20, 0xAE, 0x88, 0x82}

    def __init__(self, profile: Profile, state: CardState):
        self.p = profile
        self.state = state
        self.reset()

    def reset(self) -> None:
        self.selected = False
        self.gpo = False  # GET PROCESSING OPTIONS done
        self.genac = 0  # GENERATE AC commands answered this session
        self.verified = False

    def process(self, apdu: bytes) -> tuple[bytes, int]:
        cla, ins, p1, p2 = apdu[:4]
        data = apdu[5:5 + apdu[4]] if len(apdu) > 5 else b""
        handler = {0xA4: self.select, 0xA8: self.gpo_, 0xB2: self.read_record,
                   0xCA: self.get_data, 0x20: self.verify, 0xAE: self.generate_ac}.get(ins)
        if handler is None:
            return b"", 0x6D00
        if cla not in (0x00, 0x80):
            return b"", 0x6E00
        return handler(p1, p2, data)

    PSE = b"1PAY.SYS.DDF01"

    def select(self, p1, p2, data):
        forced = self.p.select_sw.get(bytes(data))
        if forced is not None:
            return b"", forced
        if p1 != 0x04 or not data:
            return b"", 0x6A82
        if data == self.PSE and self.p.pse:  # Book 1 12.2.2: FCI with the directory SFI
            self.reset()
            a5 = tlv.encode(0x88, bytes((self.p.pse_sfi,)))
            return tlv.encode(0x6F, tlv.encode(0x84, self.PSE) + tlv.encode(0xA5, a5)), OK
        for other in self.p.extra_aids:  # a payment application we do not implement
            if other.startswith(data):
                self.reset()
                return tlv.encode(0x6F, tlv.encode(0x84, other)
                                  + tlv.encode(0xA5, tlv.encode(0x50, b"PAYMENT"))), OK
        if not self.p.aid.startswith(data):
            return b"", 0x6A82
        self.reset()
        self.selected = True
        a5 = tlv.encode(0x50, self.p.label.encode())
        if self.p.pdol:
            a5 += tlv.encode(0x9F38, self.p.pdol)
        if self.p.fci_issuer_data:  # e.g. a Belgian card's 5F2C and DF07
            a5 += tlv.encode(0xBF0C, self.p.fci_issuer_data)
        return tlv.encode(0x6F, tlv.encode(0x84, self.p.aid) + tlv.encode(0xA5, a5)), OK

    def gpo_(self, p1, p2, data):
        if not self.selected:
            return b"", 0x6985
        if data[:1] != b"\x83" or len(data) < 2 or data[1] != self.p.pdol_len \
                or len(data) != 2 + data[1]:
            return b"", 0x6700
        self.state.atc = (self.state.atc + 1) & 0xFFFF  # ATC moves on at GPO
        self.state.save()
        self.gpo = True
        if self.p.gpo_format == 2:
            return tlv.encode(0x77, tlv.encode(0x82, self.p.aip) + tlv.encode(0x94, self.p.afl)), OK
        return tlv.encode(0x80, self.p.aip + self.p.afl), OK

    def _directory(self, rec):
        # PSE directory: one record per application (template 70 { 61 { 4F 50 87 } }).
        if not 1 <= rec <= len(self.p.pse):
            return None
        aid = self.p.pse[rec - 1]
        label = self.p.label if aid == self.p.aid else "PAYMENT"
        entry = tlv.encode(0x4F, aid) + tlv.encode(0x50, label.encode()) \
            + tlv.encode(0x87, bytes((rec,)))
        return tlv.encode(0x61, entry)

    def read_record(self, p1, p2, data):
        if p2 & 0x07 != 0x04:
            return b"", 0x6A86
        body = self.p.records.get((p2 >> 3, p1))
        if body is None and self.p.pse and p2 >> 3 == self.p.pse_sfi:
            body = self._directory(p1)
        if body is None:
            return b"", 0x6A83
        return tlv.encode(0x70, body), OK

    def get_data(self, p1, p2, data):
        tag = (p1 << 8) | p2
        if tag == 0x9F17:
            return tlv.encode(0x9F17, bytes((self.state.pin_tries,))), OK
        if tag == 0x9F36:
            return tlv.encode(0x9F36, self.state.atc.to_bytes(2, "big")), OK
        return b"", 0x6A88

    def verify(self, p1, p2, data):
        if p2 != 0x80:
            return b"", 0x6A86
        if len(data) != 8 or data[0] >> 4 != 2 or not 4 <= data[0] & 0x0F <= 12:
            return b"", 0x6A80
        if self.state.pin_tries == 0:
            return b"", 0x6983
        n = data[0] & 0x0F
        digits = data[1:].hex().upper()
        given, pad = digits[:n], digits[n:]
        if given == self.p.pin and pad == "F" * len(pad):
            self.state.pin_tries = self.p.pin_try_limit
            self.state.save()
            self.verified = True
            return b"", OK
        self.state.pin_tries -= 1
        self.state.save()
        return b"", 0x63C0 | self.state.pin_tries

    def generate_ac(self, p1, p2, data):
        if not self.gpo:
            return b"", 0x6985
        first = self.genac == 0
        if self.genac >= 2:
            return b"", 0x6985
        want = self.p.cdol1_len if first else self.p.cdol2_len
        if len(data) != want:
            return b"", 0x6700
        self.genac += 1
        kind = p1 & 0xC0
        # First GENERATE AC: an ARQC (or AAC if asked); the second only an AAC here.
        cid = 0x80 if first and kind in (0x80, 0x40) else 0x00
        ac = cryptogram(self.p, self.state.atc, bytes(data))
        return genac_response(self.p, cid, self.state.atc, ac), OK
