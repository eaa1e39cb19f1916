# Raspberry Pi Pico board: the PIO card line, the 120 MHz system clock it needs and the
# keypad columns' pull-ups; display, keypad rows, settings (config.json), watchdog and
# sleep are shared with the ESP32 in firmware/drivers/realboard.py. The RP2040 port wakes
# lightsleep on its timer only, hence sleep in slices (~1.5 mA instead of ~25 mA).
# MicroPython's rp2 lightsleep wakes with runtime_init_clocks_optional_usb(): the build's
# default clk_sys and clk_peri = clk_sys (125 MHz, ports/rp2/modmachine.c and
# clocks_extra.c, v1.28), so after each sleep the 120 MHz the card line needs is set again
# (machine.freq also puts clk_peri back on the 48 MHz USB PLL, as at boot) and the
# display's bus is made again, its divider from that clock (the MAX7219 takes 10 MHz at
# most; 5 MHz from 125 MHz would be 13 MHz).
import machine
from machine import Pin
import pins
from drivers.realboard import RealBoard, load_settings, make_bus, tda8024
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

    def woke(self):
        machine.freq(SYS_HZ)
        make_bus(self.settings.get("display", "max7219"), self.pins)


def make(path="config.json"):
    return Board(load_settings(path))
