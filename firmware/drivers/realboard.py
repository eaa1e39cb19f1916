# What the real boards (boards/pico, boards/esp32) share: config.json, the display, the
# keypad rows, the watchdog and the sleep hooks the reader calls. A board's board.py
# subclasses RealBoard with what differs: its card line, clocks and keypad columns.
# Settings (config.json): display "max7219" | "ssd1306", wiring "direct" | "tda8024",
# debounce_ms, auto_off_s, test_build, watchdog (start the 8 s hardware watchdog: once
# started it cannot be stopped, not even by Ctrl-C), sleep.
import json
import time
import machine
from machine import Pin
from sesame.panel import keypad, power

_SLEEP_SLICE_MS = 200


def load_settings(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return {}


def tda8024(settings):
    # True when the card is wired through a TDA8024 interface chip (else "direct").
    return settings.get("wiring", "direct") == "tda8024"


def make_bus(kind, pins):
    # The display's bus. Its divider comes from the peripheral clock when it is made, so
    # a board whose clocks change (RP2040 after lightsleep) makes it again: MicroPython's
    # SPI(id, ...) and I2C(id, ...) reconfigure the one object of that id.
    if kind == "ssd1306":
        return machine.I2C(pins.I2C_ID, sda=Pin(pins.I2C_SDA), scl=Pin(pins.I2C_SCL), freq=400_000)
    return machine.SPI(pins.SPI_ID, baudrate=5_000_000, polarity=0, phase=0,  # MAX7219: 10 MHz max
                       sck=Pin(pins.SPI_SCK), mosi=Pin(pins.SPI_MOSI))


def make_display(kind, pins):
    bus = make_bus(kind, pins)
    if kind == "ssd1306":
        import ssd1306  # micropython-lib: the "deps" of the board's package.json
        from drivers.ssd1306_screen import OledDisplay
        return OledDisplay(ssd1306.SSD1306_I2C(128, 64, bus))
    from drivers.max7219 import Max7219
    return Max7219(bus, Pin(pins.MAX7219_CS, Pin.OUT, value=1))


class RealBoard:
    # Fields: settings, line (the card line), display, keys, policy, wdt (None until
    # the watchdog is started). Subclasses define name and key_col(gpio) -> Pin.
    name = ""

    def __init__(self, settings, pins, line):
        self.settings = settings
        self.pins = pins
        self.line = line
        self.display = make_display(settings.get("display", "max7219"), pins)
        rows = [Pin(p, Pin.OPEN_DRAIN, value=1) for p in pins.KEY_ROWS]
        cols = [self.key_col(p) for p in pins.KEY_COLS]
        self.keys = keypad.MatrixKeypad(rows, cols, keypad.KEYMAP_4X4, time.ticks_ms,
                                        settings.get("debounce_ms"))
        self.policy = power.Policy(_SLEEP_SLICE_MS)
        self.wdt = None

    def key_col(self, gpio):
        raise NotImplementedError

    def woke(self):
        # After a light sleep: a board whose clocks change sets them again (boards/pico).
        pass

    def feed_watchdog(self):
        # Called by the reader loop each pass; starts the watchdog on first use if enabled.
        if self.wdt is None:
            if not self.settings.get("watchdog", False):
                return
            self.wdt = machine.WDT(timeout=power.WATCHDOG_MS)
            self.line.feed = self.wdt.feed  # long card waits keep it fed
        self.wdt.feed()

    def sleep_until_wake(self):
        # After the app's "off" (display off, card deactivated): light sleep in slices
        # until a key is held or the card is inserted/removed (neither port wakes light
        # sleep from a keypad matrix, see the boards' READMEs). Test builds stay awake.
        if power.may_sleep(self.settings) and power.wait_for_wake(
                self.policy, self.feed_watchdog, self.keys.any_down, self.line.present,
                machine.lightsleep):
            self.woke()
