# Raspberry Pi Pico board: the PIO card line, the 120 MHz system clock it needs and the
# keypad columns' pull-ups; display, keypad rows, settings (config.json), watchdog and
# sleep are shared with the ESP32 in firmware/drivers/realboard.py. The RP2040 port wakes
# lightsleep on its timer only, hence sleep in slices (~1.5 mA instead of ~25 mA).
import machine
from machine import Pin
import pins
from drivers.realboard import RealBoard, load_settings, tda8024
from drivers.rp2_cardline import SYS_HZ, PioCardLine


class Board(RealBoard):
    name = "pico"

    def __init__(self, settings):
        machine.freq(SYS_HZ)  # card clock 4 MHz = sysclk / 30 (drivers/rp2_cardline.py)
        tda = tda8024(settings)
        line = PioCardLine(pins.CARD_IO, pins.CARD_CLK, pins.CARD_RST, pins.CARD_VCC,
                           pins.CARD_DETECT, detect_level=1 if tda else 0, vcc_on=0,
                           tda8024=tda)
        super().__init__(settings, pins, line)
        if settings.get("pcsc"):  # the PC/SC channel: a second USB serial (/dev/ttyACM1)
            from drivers.usb_cdc_channel import CdcChannel

            self.pcsc = CdcChannel()

    def key_col(self, gpio):
        return Pin(gpio, Pin.IN, Pin.PULL_UP)


def make(path="config.json"):
    return Board(load_settings(path))
