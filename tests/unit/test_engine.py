# The CAP engine over an APDU-level scripted card (transport seam), with the
# openauth Identify vector's card answers: the code must be 42511495.
from unitcheck import h, raises
from sesame import cap, tlv
from sesame.errors import NoApplication, PinBlocked, PinWrong

CDOL1 = "9F02069F03069F1A0295055F2A029A039C019F3704"
IPB = "00001F00000000000FFFFF00000000008000"


def rec(*objs):
    # READ RECORD response template 70 around (tag, hex value) pairs
    body = b"".join(tlv.encode(t, h(v)) for t, v in objs)
    return tlv.encode(0x70, body).hex()


REC1 = rec((0x5A, "5413339000001513"))
REC2 = rec((0x8C, CDOL1), (0x9F56, IPB))
GENAC = "80 12 80 00B4 7F32A79FDA945643 06770A03A48000"


class Card:
    # Answers by command prefix; records every APDU it receives.
    def __init__(self, tries=3, verify_sw="9000"):
        self.log = []
        self.answers = [
            ("00A4040007A0000000038002", "6A82"),
            ("00A4040007A0000000048002", "6F 09 84 07 A0000000048002 9000"),
            ("80A8000002830000", "77 0A 82 02 1000 94 04 08010200 9000"),
            ("00B2010C00", REC1 + " 9000"),
            ("00B2020C00", REC2 + " 9000"),
            ("80CA9F1700", "9F17 01 %02X 9000" % tries),
            ("0020008008", verify_sw),
            ("80AE8000", GENAC + " 9000"),
            ("80AE0000", "80 12 00 00B4 0000000000000000 06770A03A48000 9000"),
        ]

    def transmit(self, apdu):
        x = bytes(apdu).hex().upper()
        self.log.append(x)
        for prefix, reply in self.answers:
            if x.startswith(prefix.replace(" ", "")):
                return h(reply)
        return h("6D00")


def pin(digits):
    b = bytearray(12)
    for i, d in enumerate(digits):
        b[i] = ord(d) - 48
    return b, len(digits)


def test_identify_vector_through_engine():
    card = Card()
    p, n = pin("1234")
    r = cap.Cap(card).run(p, n)
    assert r.code == "42511495"
    assert r.atc == 0xB4 and r.aid == cap.AID_MC_CAP and r.tries == 3
    # VERIFY: plaintext PIN block, no Le
    verify = [x for x in card.log if x.startswith("00200080")][0]
    assert verify == "0020008008241234FFFFFFFFFF"
    # first GENERATE AC asks for an ARQC with CDOL1 filled (MasterCard CAP: date 000000)
    gen1 = [x for x in card.log if x.startswith("80AE8000")][0]
    assert gen1 == "80AE80001D" + "00" * 14 + "8000000000" + "0000" + "000000" + "00" + "00000000" + "00"
    # the second one closes with an AAC and ARC Z3 (CDOL1 layout reused here as CDOL2: none)
    assert p == bytearray(12), "PIN buffer wiped"


def test_second_record_cdol_and_close_with_aac():
    card = Card()
    card.answers[4] = ("00B2020C00", rec((0x8C, CDOL1), (0x8D, "8A02 9F3704"), (0x9F56, IPB)) + "9000")
    p, n = pin("1234")
    cap.Cap(card).run(p, n)
    gen2 = [x for x in card.log if x.startswith("80AE0000")][0]
    assert gen2 == "80AE000006" + "5A33" + "00000000" + "00"


def test_wrong_pin_tries_left():
    card = Card(verify_sw="63C2")
    p, n = pin("9999")
    e = raises(PinWrong, cap.Cap(card).run, p, n)
    assert e.tries == 2
    assert "9999" not in str(e)
    assert p == bytearray(12)
    assert not [x for x in card.log if x.startswith("80AE")], "no GENERATE AC after a wrong PIN"


def test_blocked_pin_never_verified():
    card = Card(tries=0)
    p, n = pin("1234")
    raises(PinBlocked, cap.Cap(card).run, p, n)
    assert not [x for x in card.log if x.startswith("0020")]
    assert p == bytearray(12)
    raises(PinBlocked, cap.Cap(Card(verify_sw="6983")).run, *pin("1234"))


def test_no_cap_application():
    card = Card()
    card.answers = []
    raises(NoApplication, cap.Cap(card).run, *pin("1234"))
