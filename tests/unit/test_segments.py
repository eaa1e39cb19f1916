# Text -> 7-segment patterns and the MAX7219 register writes a fake SPI bus receives.
import sys

sys.path.append(__file__.rsplit("/", 1)[0] + "/../../firmware")  # for drivers/
from sesame.panel import segments  # noqa: E402
from drivers import max7219  # noqa: E402

SEG = "ABCDEFG"  # bit 6 .. bit 0


def segs(p):
    # "A..G" segment letters lit in pattern p (plus "." for the decimal point)
    s = "".join(SEG[i] for i in range(7) if p & (0x40 >> i))
    return s + ("." if p & 0x80 else "")


def test_digits_are_the_usual_shapes():
    want = ["ABCDEF", "BC", "ABDEG", "ABCDG", "BCFG", "ACDFG", "ACDEFG", "ABC", "ABCDEFG", "ABCDFG"]
    assert [segs(segments.glyph(str(d))) for d in range(10)] == want
    assert segs(segments.glyph("-")) == "G"


def test_code_grouping_uses_the_decimal_point():
    out = segments.encode("1234 5678")
    want = [segs(segments.glyph(c)) for c in "12345678"]
    want[3] += "."  # "1234.5678": the group separator is the 4th digit's point
    assert [segs(p) for p in out] == want


def test_messages_fit_and_every_letter_has_a_shape():
    for msg in ("PIn", "----", "2 triES", "Err CArd", "no CArd", "rEAdY", "InSErt", "bUSY",
                "bLOCKEd", "PIn OFF", "no APPLi"):
        out = segments.encode(msg)
        assert len(out) == 8
        for ch in msg:
            if ch != " ":
                assert segments.glyph(ch), (msg, ch)
        n = len(msg.replace(" ", "")) if len(msg) > 8 else len(msg)
        assert all(b == 0 for b in out[n:]), msg
    assert bytes(segments.encode("Err CArd"))[3] == 0  # a space within 8 is a blank digit


class FakeSpi:
    # Records what the chip latches: one 16-bit frame per CS rising edge.
    def __init__(self):
        self.regs = {}
        self.frames = []
        self.cur = bytearray()

    def write(self, buf):
        self.cur += bytes(buf)


class FakeCs:
    def __init__(self, spi):
        self.spi = spi
        self.v = 1

    def value(self, v):
        if v and not self.v:
            f = self.spi.cur
            assert len(f) == 2, f
            self.spi.frames.append((f[0], f[1]))
            self.spi.regs[f[0]] = f[1]
            self.spi.cur = bytearray()
        self.v = v


def shown(regs):
    # What the 8-digit module shows, leftmost first (digit register 8 .. 1)
    return [segs(regs.get(r, 0)) for r in range(8, 0, -1)]


def test_max7219_init_and_code_on_the_wire():
    spi = FakeSpi()
    d = max7219.Max7219(spi, FakeCs(spi))
    r = spi.regs
    assert (r[0x0F], r[0x09], r[0x0B], r[0x0C]) == (0, 0, 7, 1)
    d.show("0377 7341")
    want = [segs(segments.glyph(c)) for c in "03777341"]
    want[3] += "."
    assert shown(r) == want
    d.show("PIn")
    assert shown(r) == [segs(segments.glyph(c)) for c in "PIn"] + [""] * 5
    d.off()
    assert r[0x0C] == 0 and shown(r) == [""] * 8
    d.show("rEAdY")  # wakes from shutdown
    assert r[0x0C] == 1 and shown(r)[0] == segs(segments.glyph("r"))
