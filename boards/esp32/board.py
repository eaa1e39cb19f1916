# ESP32 DevKit board: the card line (UART 8E2 + LEDC clock) and the keypad columns
# (GPIO34-39: input only, external pull-ups); display, keypad rows, settings
# (config.json, as on the Pico), watchdog and sleep are shared with the Pico in
# firmware/drivers/realboard.py. Light sleep in slices: ESP32 ext1 wake can only wake on
# "all low" for several pins, which a keypad matrix cannot give.
from machine import Pin
import pins
from drivers.esp32_cardline import UartCardLine
from drivers.realboard import RealBoard, load_settings, tda8024


class Board(RealBoard):
    name = "esp32"
    pcsc_on_stdio = True  # one USB serial: PC/SC mode on it, `!pcsc on` (sesame.reader.pchost)

    def __init__(self, settings):
        tda = tda8024(settings)
        line = UartCardLine(pins.UART_ID, pins.CARD_IO_TX, pins.CARD_IO_RX, pins.CARD_CLK,
                            pins.CARD_RST, pins.CARD_VCC, pins.CARD_DETECT,
                            detect_level=1 if tda else 0, vcc_on=0, tda8024=tda)
        super().__init__(settings, pins, line)

    def key_col(self, gpio):
        return Pin(gpio, Pin.IN)  # no internal pull-up on GPIO34-39


def make(path="config.json"):
    return Board(load_settings(path))
