# Raspberry Pi Pico board: builds the card line (PIO), keypad, display and power hooks
# from pins.py and config.json. Settings (config.json): display "max7219" | "ssd1306",
# wiring "direct" | "tda8024", debounce_ms, auto_off_s, test_build, watchdog (start the
# 8 s hardware watchdog: once started it cannot be stopped, not even by Ctrl-C), sleep.
import json
import time
import machine
from machine import Pin
import pins
from drivers.rp2_cardline import PioCardLine
from sesame import keypad
from sesame.power import WATCHDOG_MS, Policy

_SLEEP_SLICE_MS = 200


def _display(kind):
    if kind == "ssd1306":
        import ssd1306  # micropython-lib, see deps.json
        from drivers.ssd1306_screen import OledDisplay
        i2c = machine.I2C(pins.I2C_ID, sda=Pin(pins.I2C_SDA), scl=Pin(pins.I2C_SCL), freq=400_000)
        return OledDisplay(ssd1306.SSD1306_I2C(128, 64, i2c))
    from drivers.max7219 import Max7219
    spi = machine.SPI(pins.SPI_ID, baudrate=5_000_000, polarity=0, phase=0,
                      sck=Pin(pins.SPI_SCK), mosi=Pin(pins.SPI_MOSI))
    return Max7219(spi, Pin(pins.MAX7219_CS, Pin.OUT, value=1))


class Board:
    name = "pico"

    def __init__(self, settings):
        machine.freq(120_000_000)  # card clock 4 MHz = sysclk / 30 (drivers/rp2_cardline.py)
        self.settings = settings
        tda = settings.get("wiring", "direct") == "tda8024"
        self.line = PioCardLine(pins.CARD_IO, pins.CARD_CLK, pins.CARD_RST, pins.CARD_VCC,
                                pins.CARD_DETECT, detect_level=1 if tda else 0, vcc_on=0,
                                tda8024=tda)
        self.display = _display(settings.get("display", "max7219"))
        rows = [Pin(p, Pin.OPEN_DRAIN, value=1) for p in pins.KEY_ROWS]
        cols = [Pin(p, Pin.IN, Pin.PULL_UP) for p in pins.KEY_COLS]
        self.keys = keypad.MatrixKeypad(rows, cols, keypad.KEYMAP_4X4, time.ticks_ms,
                                        settings.get("debounce_ms"))
        self.policy = Policy(_SLEEP_SLICE_MS)
        self.wdt = None

    def feed_watchdog(self):
        # Called by the reader loop each pass; starts the watchdog on first use if enabled.
        if self.wdt is None:
            if not self.settings.get("watchdog", False):
                return
            self.wdt = machine.WDT(timeout=WATCHDOG_MS)
            self.line.feed = self.wdt.feed  # long card waits keep it fed
        self.wdt.feed()

    def sleep_until_wake(self):
        # After the app's "off" (display off, card deactivated): light sleep in slices
        # until a key is held or the card is inserted/removed. The RP2040 port wakes
        # lightsleep on its timer only, hence the slices (~1.5 mA instead of ~25 mA).
        # Test builds stay awake (USB serial link).
        if self.settings.get("test_build") or not self.settings.get("sleep", True):
            return
        card = self.line.present()
        while True:
            self.feed_watchdog()
            act = self.policy.plan(True, self.keys.any_down(), self.line.present() != card)
            if act == "run":
                return
            machine.lightsleep(self.policy.light_ms)


def make(path="config.json"):
    try:
        with open(path) as f:
            settings = json.load(f)
    except OSError:
        settings = {}
    return Board(settings)
