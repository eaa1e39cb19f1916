# Screen layout for a 128x64 monochrome OLED (SSD1306), drawn into any object with the
# framebuf.FrameBuffer drawing methods (fill, fill_rect, text): the display text large on
# top (the code, the masked PIN or the short message), a plain prompt line below.
from micropython import const

WIDTH = const(128)
HEIGHT = const(64)
BIG_Y = const(12)  # top of the large line
BIG_SCALE = const(2)
PROMPT_Y = const(48)

# A readable prompt under each display message (the large line keeps the 7-segment text)
PROMPTS = {
    "rEAdY": "press CODE", "InSErt": "insert card", "PIn": "type PIN, OK", "bUSY": "working",
    "Err CArd": "card error", "no CArd": "no card", "bLOCKEd": "PIN blocked",
    "PIn OFF": "PIN invalidated",
    "no APPLi": "no CAP applet", "LASt try": "last PIN try: OK",
}


def prompt(text):
    p = PROMPTS.get(text)
    if p is not None:
        return p
    if text and text[0] == "-":
        return "type PIN, OK"
    if text.endswith(" triES"):
        return text.split(" ")[0] + " tries left"
    if text == "1 triE":
        return "1 try left"
    if len(text) >= 8 and text.replace(" ", "").isdigit():
        return "your code"
    return ""


class Screen:
    # Renders show(text) into fb; glyph is an 8x8 scratch FrameBuffer (with its bytearray
    # buf) the large characters are scaled up from. Nothing is allocated per frame.
    def __init__(self, fb, glyph, glyph_buf):
        self.fb = fb
        self.glyph = glyph
        self.gbuf = glyph_buf

    def _big_char(self, ch, x, y, c0):
        # glyph columns c0..7 scaled up at (x, y) (digits leave column 0 blank)
        g = self.glyph
        for i in range(len(self.gbuf)):
            self.gbuf[i] = 0
        g.text(ch, 0, 0, 1)
        s = BIG_SCALE
        for gy in range(8):
            for gx in range(c0, 8):
                if g.pixel(gx, gy):
                    self.fb.fill_rect(x + (gx - c0) * s, y + gy * s, s, s, 1)

    def draw(self, text):
        fb = self.fb
        fb.fill(0)
        # advance: 16 px (8 characters fill the width); a code "1234 5678" is 8 digits
        # of 14 px (glyph columns 1-7) with an 8 px gap
        n = len(text)
        adv = 16 if n <= 8 else 14
        gap = 8 if n > 8 else adv
        width = 0
        for ch in text:
            width += gap if ch == " " else adv
        x = (WIDTH - width) // 2
        for ch in text:
            if ch == " ":
                x += gap
                continue
            self._big_char(ch, x, BIG_Y, 0 if adv == 16 else 1)
            x += adv
        p = prompt(text)
        fb.text(p, (WIDTH - 8 * len(p)) // 2, PROMPT_Y, 1)
