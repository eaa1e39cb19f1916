# The SSD1306 OLED as a Sésame display: micropython-lib's `ssd1306` driver (installed
# with `mpremote mip install ssd1306`, in the "deps" of the board's package.json) owns the
# framebuffer and the bus; sesame.panel.oled lays the screen out into it.
import framebuf
from sesame.panel import oled


class OledDisplay:
    # Fields: dev (an ssd1306.SSD1306_I2C/SPI, itself a FrameBuffer), screen, on.
    def __init__(self, dev):
        self.dev = dev
        gbuf = bytearray(8)
        glyph = framebuf.FrameBuffer(gbuf, 8, 8, framebuf.MONO_VLSB)
        self.screen = oled.Screen(dev, glyph, gbuf)
        self.on = True

    def show(self, text):
        if not self.on:
            self.dev.poweron()
            self.on = True
        self.screen.draw(text)
        self.dev.show()

    def off(self):
        self.dev.fill(0)
        self.dev.show()
        self.dev.poweroff()
        self.on = False
