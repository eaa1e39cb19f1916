# The OLED screen layout drawn into a real framebuf.FrameBuffer: MicroPython only
# (CPython has no framebuf), run by tests/host/test_oled.py under the unix port.
import sys

sys.path.append(__file__.rsplit("/", 1)[0] + "/../../firmware")  # for drivers/
import framebuf  # noqa: E402
from sesame.panel import oled  # noqa: E402


def make():
    buf = bytearray(oled.WIDTH * oled.HEIGHT // 8)
    fb = framebuf.FrameBuffer(buf, oled.WIDTH, oled.HEIGHT, framebuf.MONO_VLSB)
    gbuf = bytearray(8)
    g = framebuf.FrameBuffer(gbuf, 8, 8, framebuf.MONO_VLSB)
    return fb, oled.Screen(fb, g, gbuf)


def glyph_pixels(ch):
    b = bytearray(8)
    g = framebuf.FrameBuffer(b, 8, 8, framebuf.MONO_VLSB)
    g.text(ch, 0, 0, 1)
    return [[g.pixel(x, y) for x in range(8)] for y in range(8)]


def read_big(fb, x, y, c0=0):
    # The 8x8 glyph (columns c0..7) scaled by 2 at (x, y), read back at half resolution;
    # checks that every 2x2 block is uniform.
    out = []
    for gy in range(8):
        row = [0] * c0
        for gx in range(8 - c0):
            px = [fb.pixel(x + gx * 2 + dx, y + gy * 2 + dy) for dx in (0, 1) for dy in (0, 1)]
            assert len(set(px)) == 1, (x, y, gx, gy)
            row.append(px[0])
        out.append(row)
    return out


def columns_lit(fb, y0, y1):
    return [x for x in range(oled.WIDTH) if any(fb.pixel(x, y) for y in range(y0, y1))]


def test_code_in_large_digits_with_a_group_gap():
    fb, s = make()
    s.draw("0377 7341")
    # 8 digits * 14 px + 8 px gap = 120 px, centred: first digit at x = 4
    x = 4
    for i, ch in enumerate("03777341"):
        assert read_big(fb, x, oled.BIG_Y, 1) == glyph_pixels(ch), ch
        x += 14 + (8 if i == 3 else 0)
    # the gap between the groups is empty
    lit = columns_lit(fb, oled.BIG_Y, oled.BIG_Y + 16)
    assert not [c for c in lit if 4 + 4 * 14 <= c < 4 + 4 * 14 + 8]
    # nothing above the large line, the prompt below it
    assert columns_lit(fb, 0, oled.BIG_Y) == []
    p = oled.prompt("0377 7341")
    assert p == "your code"
    ref, _ = make()
    ref.text(p, (oled.WIDTH - 8 * len(p)) // 2, oled.PROMPT_Y, 1)
    for y in range(oled.PROMPT_Y, oled.PROMPT_Y + 8):
        for x in range(oled.WIDTH):
            assert fb.pixel(x, y) == ref.pixel(x, y)


def test_messages_and_masked_pin():
    fb, s = make()
    s.draw("PIn")
    assert read_big(fb, (128 - 48) // 2, oled.BIG_Y) == glyph_pixels("P")
    assert oled.prompt("PIn") == "type PIN, OK"
    s.draw("----")
    assert read_big(fb, (128 - 64) // 2 + 16, oled.BIG_Y) == glyph_pixels("-")
    assert oled.prompt("2 triES") == "2 tries left"
    assert oled.prompt("1 triE") == "1 try left"
    assert oled.prompt("LASt try") == "last PIN try: OK"
    s.draw("")  # blank screen
    assert columns_lit(fb, 0, oled.HEIGHT) == []
