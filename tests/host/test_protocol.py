"""The firmware's session, T=0 and CAP engine against the virtual card's T=0 card side
and EMV application, character by character through an in-memory card line; the
virtual card's cryptography against the pyemv oracle; the issuer check."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyemv import ac as pyemv_ac, kd as pyemv_kd

from sesame.emv import cap, tlv
from sesame.iso7816.atr import Atr
from sesame.errors import CardTimeout, PinBlocked, PinWrong
from sesame.iso7816.session import open_session
from sesame_tools.issuer import check as issuer
from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.crypto import emv2000_tree_sk, icc_mk_option_a, mac_alg3
from sesame_tools.vcard.emv import CapApplet, cryptogram
from sesame_tools.vcard.state import CardState
from sesame_tools.vcard.t0 import T0Card
from sesame_tools.vcard.t1 import T1Card

DATA = Path(__file__).parent.parent / "data"


class MemoryLine:
    """Card line joining the firmware to the virtual card's T=0 side (T=1 for a card that
    offers only T=1), byte by byte."""

    def __init__(self, profile, state):
        self.profile = profile
        self.applet = CapApplet(profile, state)
        atr = Atr(profile.atr)
        if atr.protocols == [1]:
            self.card = T1Card(self.applet, atr.edc == "crc", atr.IFSC)
        else:
            self.card = T0Card(self.applet)
        self.rx = bytearray()
        self.log = bytearray()  # every character the reader sent

    def present(self):
        return True

    def cold_reset(self):
        self.applet.reset()
        self.card.reset()
        self.rx = bytearray(self.profile.atr)

    warm_reset = cold_reset

    def deactivate(self):
        pass

    def write(self, data):
        for b in bytes(data):
            self.log.append(b)
            self.rx += self.card.feed(b)

    def read_byte(self, timeout_etu):
        if not self.rx:
            raise CardTimeout("silent")
        return self.rx.pop(0)


def pin(digits):
    b = bytearray(12)
    b[: len(digits)] = bytes(ord(d) - 48 for d in digits)
    return b, len(digits)


@pytest.fixture
def card(tmp_path):
    def make(name="visa_dpa"):
        p = profiles.load(name)
        st = CardState(tmp_path / f"{p.name}.card.json", p.atc, p.pin_try_limit)
        return p, st, MemoryLine(p, st)

    return make


def run(line, digits="1234"):
    _, t = open_session(line)
    return cap.Cap(t).run(*pin(digits))


def test_public_vector_end_to_end(card):
    p, st, line = card(DATA / "openauth_identify.json")
    r = run(line)
    assert (r.code, r.atc) == ("42511495", 0xB4)
    assert cryptogram(p, 0xB4, bytes(14) + bytes.fromhex("8000000000") + bytes(10)).hex().upper() \
        == "7F32A79FDA945643"
    assert st.atc == 0xB4


def test_default_card_code_verified_once(card, tmp_path):
    p, st, line = card()
    r = run(line)
    assert len(r.code) == 8 and r.code.isdigit()
    ipath = tmp_path / "issuer.json"
    assert issuer.verify(p, r.code, path=ipath) == (issuer.ACCEPTED, r.atc)
    assert issuer.verify(p, r.code[:4] + " " + r.code[4:], path=ipath) == (issuer.REPLAYED, r.atc)
    wrong = "%08d" % ((int(r.code) + 1) % 10**8)
    assert issuer.verify(p, wrong, path=ipath)[0] == issuer.REJECTED


def test_codes_change_and_window(card, tmp_path):
    p, st, line = card()
    codes = [run(line).code for _ in range(3)]
    assert len(set(codes)) == 3
    ipath = tmp_path / "issuer.json"
    # the third code is accepted (within the window), then the first is too old
    assert issuer.verify(p, codes[2], path=ipath)[0] == issuer.ACCEPTED
    assert issuer.verify(p, codes[0], path=ipath)[0] == issuer.REJECTED


def test_wrong_pin_counts_down_and_correct_pin_resets(card):
    p, st, line = card()
    with pytest.raises(PinWrong) as e:
        run(line, "0000")
    assert e.value.tries == 2 and st.pin_tries == 2
    with pytest.raises(PinWrong):
        run(line, "0000")
    run(line, "1234")
    assert st.pin_tries == 3


def test_blocked_card(card):
    p, st, line = card()
    for left in (2, 1):
        with pytest.raises(PinWrong):
            run(line, "9999")
    with pytest.raises(PinBlocked):
        run(line, "9999")
    with pytest.raises(PinBlocked):
        run(line, "1234")  # GET DATA says 0 tries: no VERIFY is sent
    assert st.pin_tries == 0


def test_pin_block_on_the_wire_has_no_le(card):
    p, st, line = card()
    run(line)
    i = line.log.find(bytes.fromhex("0020008008"))
    assert i >= 0
    assert line.log[i + 5:i + 13] == bytes.fromhex("241234FFFFFFFFFF")
    assert line.log[i + 13:i + 15] == b"\x80\xAE", "no Le after the PIN block: GENERATE AC follows"


def test_crypto_matches_pyemv_oracle():
    imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert icc_mk_option_a(imk, "12345678901234567", "01").hex().upper() == \
        "73AD54688CEF2934B0979857E3C719F1"
    for pan, psn in (("4970123456789012", "01"), ("5413339000001513", "00")):
        mk = icc_mk_option_a(imk, pan, psn)
        assert mk == pyemv_kd.derive_icc_mk_a(imk, pan, psn)
        for atc in (1, 0xB4, 0x1234, 0xFFFF):
            sk = emv2000_tree_sk(mk, atc)
            assert sk == pyemv_kd.derive_emv2000_tree_sk(mk, atc.to_bytes(2, "big"))
            data = bytes(range(atc % 50))
            assert mac_alg3(sk, data) == pyemv_ac.generate_ac(sk, data)


def test_profile_arqc_matches_pyemv(card):
    p, st, line = card()
    data = cap.fill_dol(tlv.dol(p.cdol1, tlv.LC_MAX), cap.terminal_data(p.aid))
    mk = pyemv_kd.derive_icc_mk_a(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), p.pan, p.psn)
    sk = pyemv_kd.derive_emv2000_tree_sk(mk, (7).to_bytes(2, "big"))
    want = pyemv_ac.generate_ac(sk, data + p.aip + (7).to_bytes(2, "big") + p.cvr)
    assert cryptogram(p, 7, data) == want


def test_state_file_is_valid_json_after_each_change(card, tmp_path):
    import json

    p, st, line = card()
    run(line)
    d = json.loads(st.path.read_text())
    assert d == {"atc": 1, "pin_tries": 3}
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]
