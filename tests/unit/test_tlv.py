from unitcheck import h, raises
from sesame.emv import tlv
from sesame.errors import ProtocolError

FCI = h("6F 1B 84 07 A0000000038002 A5 10 50 08 5649534120445041 9F38 03 9F3504")


def test_items_top_level():
    got = [(t, e - s) for t, s, e in tlv.items(FCI)]
    assert got == [(0x6F, 27)]


def test_find_nested_multibyte_tag():
    s, e = tlv.find(FCI, 0x9F38)
    assert FCI[s:e] == h("9F3504")
    assert tlv.value(FCI, 0x50) == b"VISA DPA"
    assert tlv.value(FCI, 0x9F99) is None


def test_padding_between_objects_skipped():
    buf = h("00 5A 02 1234 FF FF 5F34 01 01 00")
    assert tlv.value(buf, 0x5F34) == h("01")
    assert tlv.value(buf, 0x5A) == h("1234")


def test_long_lengths():
    big = bytes(range(200))
    enc = tlv.encode(0x70, big)
    assert enc[:3] == h("70 81 C8")
    assert tlv.value(enc, 0x70) == big
    enc2 = tlv.encode(0x70, bytes(300))
    assert enc2[:4] == h("70 82 01 2C")
    assert tlv.value(enc2, 0x70) == bytes(300)


def test_three_byte_tag():
    buf = h("DF 81 01 02 AABB")
    assert tlv.value(buf, 0xDF8101) == h("AABB")


def test_collect_first_values():
    rec = h("70 0E 8C 03 9F3704 9F56 02 FF00 5F34 01 02")
    out = tlv.collect(rec, (0x8C, 0x9F56, 0x5F34), {})
    assert out == {0x8C: h("9F3704"), 0x9F56: h("FF00"), 0x5F34: h("02")}


def test_dol():
    assert tlv.dol(h("9F02 06 9F03 06 95 05 9F37 04")) == [
        (0x9F02, 6), (0x9F03, 6), (0x95, 5), (0x9F37, 4)]
    assert tlv.dol(b"") == []


def test_malformed_raise_protocol_error():
    for bad in ("5A 05 1234", "9F", "5A", "5A 84 00000001 00", "5A 81"):
        raises(ProtocolError, tlv.value, h(bad), 0x99)
    raises(ProtocolError, tlv.dol, h("9F02"))


def test_constructed_bit():
    assert tlv.constructed(0x70)
    assert tlv.constructed(0xBF0C)
    assert not tlv.constructed(0x9F27)
    assert not tlv.constructed(0x5A)


def test_dol_lengths_are_one_byte_and_fit_a_command():
    assert tlv.dol(h("9F0206 9A03")) == [(0x9F02, 6), (0x9A, 3)]
    # the length is one plain byte: 81 is 129 bytes (not BER's "one length byte follows")
    assert tlv.dol(h("9F02 81 9F03 06")) == [(0x9F02, 0x81), (0x9F03, 6)]
    raises(ProtocolError, tlv.dol, h("9F02 7F 9F03 7F 9F04 7F"))  # 381 bytes of values
    # a PDOL's values fit in 252 bytes (inside 83 81 xx), a CDOL's in the whole Lc of 255
    assert tlv.dol(h("9F02 FF"), tlv.LC_MAX) == [(0x9F02, 255)]
    raises(ProtocolError, tlv.dol, h("9F02 FF"))
    raises(ProtocolError, tlv.dol, h("9F02 FF 9F03 01"), tlv.LC_MAX)
    raises(ProtocolError, tlv.dol, h("9F02"))  # no length


def test_deep_nesting_is_a_typed_error():
    buf = b""
    for _ in range(40):
        buf = tlv.encode(0x70, buf)
    raises(ProtocolError, tlv.find, buf, 0x5A)
    raises(ProtocolError, tlv.collect, buf, (0x5A,), {})
    shallow = tlv.encode(0x6F, tlv.encode(0xA5, tlv.encode(0xBF0C, tlv.encode(0x61, tlv.encode(0x4F, b"\xA0")))))
    assert tlv.value(shallow, 0x4F) == b"\xA0"
