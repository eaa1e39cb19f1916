# ESP32 DevKit board: builds the card line (UART 8E2 + LEDC clock), keypad, display and
# power hooks from pins.py and config.json (same settings as boards/pico/board.py).
import json
import time
import machine
from machine import Pin
import pins
from drivers.esp32_cardline import UartCardLine
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
    name = "esp32"

    def __init__(self, settings):
        self.settings = settings
        tda = settings.get("wiring", "direct") == "tda8024"
        self.line = UartCardLine(pins.UART_ID, pins.CARD_IO_TX, pins.CARD_IO_RX, pins.CARD_CLK,
                                 pins.CARD_RST, pins.CARD_VCC, pins.CARD_DETECT,
                                 detect_level=1 if tda else 0, vcc_on=0, tda8024=tda)
        self.display = _display(settings.get("display", "max7219"))
        rows = [Pin(p, Pin.OPEN_DRAIN, value=1) for p in pins.KEY_ROWS]
        cols = [Pin(p, Pin.IN) for p in pins.KEY_COLS]  # GPIO34-39: external pull-ups
        self.keys = keypad.MatrixKeypad(rows, cols, keypad.KEYMAP_4X4, time.ticks_ms,
                                        settings.get("debounce_ms"))
        self.policy = Policy(_SLEEP_SLICE_MS)
        self.wdt = None

    def feed_watchdog(self):
        if self.wdt is None:
            if not self.settings.get("watchdog", False):
                return
            self.wdt = machine.WDT(timeout=WATCHDOG_MS)
            self.line.feed = self.wdt.feed
        self.wdt.feed()

    def sleep_until_wake(self):
        # Light sleep in slices until a key is held or the card switch changes (ESP32
        # ext1 wake can only wake on "all low" for several pins, so slices it is).
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
