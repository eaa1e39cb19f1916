"""Property tests of the CAP engine (hypothesis): a card whose answers are the virtual
card's, each possibly truncated, bit-flipped, padded with garbage, replaced by random
bytes or by a deeply nested template. The engine may only return a code or raise a typed
error (CardError), and it never sends the PIN to a command other than VERIFY.

`make test` runs a short version; `make fuzz` runs it long with the link layer's."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sesame.emv import cap, tlv
from sesame.errors import CardError
from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.emv import CapApplet
from sesame_tools.vcard.state import CardState

EXAMPLES = int(os.environ.get("SESAME_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
NESTED = b""
for _ in range(100):
    NESTED = tlv.encode(0x70, NESTED)


class MangledCard:
    """The virtual card's applet behind a transport whose answers the test mangles."""

    def __init__(self, applet, data):
        self.applet = applet
        self.data = data
        self.sent: list[bytes] = []

    def transmit(self, apdu) -> bytes:
        apdu = bytes(apdu)
        self.sent.append(apdu)
        body, sw = self.applet.process(apdu)
        r = bytes(body) + sw.to_bytes(2, "big")
        how = self.data.draw(st.sampled_from(["keep"] * 4 + ["cut", "flip", "grow", "random",
                                                               "nest", "empty", "dol"]))
        if how == "cut":
            r = r[:self.data.draw(st.integers(0, max(0, len(r) - 1)))]
        elif how == "flip" and r:
            i = self.data.draw(st.integers(0, len(r) - 1))
            r = r[:i] + bytes((r[i] ^ self.data.draw(st.integers(1, 255)),)) + r[i + 1:]
        elif how == "grow":
            r = r[:-2] + self.data.draw(st.binary(max_size=40)) + r[-2:]
        elif how == "random":
            r = self.data.draw(st.binary(max_size=258))
        elif how == "nest":  # 100 nested constructed templates: no stack exhaustion
            r = NESTED + b"\x90\x00"
        elif how == "empty":
            r = b""
        elif how == "dol":  # a record or FCI whose CDOL1/CDOL2/PDOL is anything
            tag = self.data.draw(st.sampled_from([0x8C, 0x8D, 0x9F38]))
            dol = self.data.draw(st.binary(max_size=60))
            r = tlv.encode(0x70 if apdu[1] == 0xB2 else 0x6F, tlv.encode(tag, dol)) + b"\x90\x00"
        return r


@FUZZ
@given(st.data(), st.sampled_from(["visa_dpa", "mc_cap", "no_ipb", "psn"]),
       st.sampled_from(["identify", "respond", "sign"]))
def test_mangled_answers_end_in_a_code_or_a_typed_error(tmp_path_factory, data, name, mode):
    p = profiles.load(name)
    st_ = CardState(tmp_path_factory.mktemp("s") / "card.json", p.atc, p.pin_try_limit)
    card = MangledCard(CapApplet(p, st_), data)
    pin = bytearray(12)
    digits = p.pin
    pin[:len(digits)] = bytes(ord(d) - 48 for d in digits)
    kw = {"challenge": "1234"} if mode == "respond" else \
        {"amount": "100", "challenge": "7"} if mode == "sign" else {}
    try:
        r = cap.Cap(card).run(pin, len(digits), mode, **kw)
        assert r.code.isdigit()
    except CardError:
        pass
    assert pin == bytearray(12)  # wiped whatever happened
    block = bytes((0x20 | len(digits),)) + bytes.fromhex(digits.ljust(14, "F")[:14])
    for apdu in card.sent:
        if block in apdu:
            assert apdu[:4] == b"\x00\x20\x00\x80", apdu.hex()
