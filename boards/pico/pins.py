# Pin map of the Raspberry Pi Pico build: the one place its GPIO numbers live. Read by
# board.py on the Pico and by the host's wiring generator (sesame_tools/devtools/wiring.py), which
# draws the README's wiring picture from it. Physical pin = the Pico header pin number.
#
# Card supply, direct wiring: VCC on switches a P-MOSFET (AO3401: source 3V3, drain C1)
# through 1k, its gate pulled up by 4k7 (off while the Pico boots: RP2040 pads start with
# a pull-down) and held by 1 uF to 3V3: a soft start of about 1 ms, so charging the card's
# 10 uF does not dip the Pico's 3V3 (the line waits 5 ms before CLK). The same GPIO drives
# an N-MOSFET (2N7002) that discharges C1 through 100R while the card is off (about 1 ms
# instead of ~100 ms through the I/O pull-up alone): a cold reset is then a power cycle,
# and the line waits for it (drivers/cardline.py).
# TDA8024 (NXP data sheet): VDD, the MCU side, from 3V3 (I/OUC and OFF have pull-ups to
# VDD; the RP2040 is not 5 V tolerant, and its 3.3 V levels are valid inputs at that VDD);
# VDDP, the card's DC-DC converter, from 5 V; 5V/3V high: VCC = 5 V (class A); CLKDIV1
# high, CLKDIV2 low: CLK = XTAL1, the 4 MHz the firmware generates and counts the etu in.
BOARD = "Raspberry Pi Pico (RP2040)"
# (signal, GPIO, physical pin, direct 3.3 V wiring, TDA8024 wiring)
WIRING = (
    ("card I/O", 2, 4, "C7 I/O + 10k pull-up to card VCC (not 3V3)", "I/OUC"),
    ("card CLK", 3, 5, "C3 CLK (100R series)", "XTAL1 (XTAL2 open)"),
    ("card RST", 4, 6, "C2 RST", "RSTIN"),
    ("card VCC on", 5, 7, "1k to AO3401 gate (4k7 + 1uF to 3V3) and 2N7002 gate; low = on",
     "CMDVCC (low = on)"),
    ("card detect", 6, 9, "socket switch to GND", "OFF (low = no card or fault)"),
    ("key row 1", 7, 10, "keypad row 1 (1 2 3 A)", "same"),
    ("key row 2", 8, 11, "keypad row 2 (4 5 6 B)", "same"),
    ("key row 3", 9, 12, "keypad row 3 (7 8 9 C)", "same"),
    ("key row 4", 10, 14, "keypad row 4 (* 0 # D)", "same"),
    ("key col 1", 11, 15, "keypad column 1", "same"),
    ("key col 2", 12, 16, "keypad column 2", "same"),
    ("key col 3", 13, 17, "keypad column 3", "same"),
    ("key col 4", 14, 19, "keypad column 4 (A B C D)", "same"),
    ("MAX7219 CS", 17, 22, "MAX7219 module CS/LOAD", "same"),
    ("MAX7219 CLK", 18, 24, "MAX7219 module CLK (SPI0 SCK)", "same"),
    ("MAX7219 DIN", 19, 25, "MAX7219 module DIN (SPI0 TX)", "same"),
    ("OLED SDA", 20, 26, "SSD1306 SDA (I2C0)", "same"),
    ("OLED SCL", 21, 27, "SSD1306 SCL (I2C0)", "same"),
)
POWER = (
    ("3V3(OUT)", 36, "AO3401 source (drain -> C1 VCC, 10uF + 100nF), pull-ups, OLED VCC; "
     "TDA8024 VDD, CLKDIV1, 5V/3V"),
    ("VBUS 5 V", 40, "MAX7219 module VCC; TDA8024 VDDP (5 V class A cards)"),
    ("GND", 38, "card C5 GND, 2N7002 source (drain: 100R to C1), displays; TDA8024 GND, "
     "PGND, CLKDIV2"),
)

CARD_IO = 2
CARD_CLK = 3
CARD_RST = 4
CARD_VCC = 5
CARD_DETECT = 6
KEY_ROWS = (7, 8, 9, 10)
KEY_COLS = (11, 12, 13, 14)
SPI_ID = 0
SPI_SCK = 18
SPI_MOSI = 19
MAX7219_CS = 17
I2C_ID = 0
I2C_SDA = 20
I2C_SCL = 21
