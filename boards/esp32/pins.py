# Pin map of the ESP32 DevKit (ESP32-WROOM-32, 38-pin DevKitC) build: the one place its
# GPIO numbers live. Read by board.py on the ESP32 and by the host's wiring generator.
# Physical pin = DevKitC header and position from the top, USB at the bottom
# (J2 = the side with 3V3, J3 = the side with GND/IO23).
# WROOM modules only: on ESP32-WROVER modules (DevKitC-VE, boards with PSRAM) GPIO16 and
# GPIO17 are the PSRAM's chip select and clock (Espressif's WROVER data sheet and
# ESP-WROVER-KIT guide) and are not on the header: such a board needs the card I/O on
# another free pair (not GPIO6-11, the flash; not the strapping pins 0, 2, 12, 15).
# Card supply and TDA8024: as on the Pico (boards/pico/pins.py): soft start and discharge
# MOSFETs on the direct wiring; TDA8024 VDD from 3V3, VDDP from 5 V, straps for CLK = XTAL1.
BOARD = "ESP32 DevKitC (ESP32-WROOM-32)"
# (signal, GPIO, physical pin, direct 3.3 V wiring, TDA8024 wiring)
WIRING = (
    ("card I/O RX", 16, "J3-12", "C7 I/O + 10k pull-up to card VCC (not 3V3)", "I/OUC"),
    ("card I/O TX", 17, "J3-11", "C7 I/O through a BAT54 Schottky (cathode at GPIO17)", "same, to I/OUC"),
    ("card CLK", 25, "J2-9", "C3 CLK (100R series)", "XTAL1 (XTAL2 open)"),
    ("card RST", 26, "J2-10", "C2 RST", "RSTIN"),
    ("card VCC on", 27, "J2-11", "1k to AO3401 gate (4k7 + 1uF to 3V3) and 2N7002 gate; low = on",
     "CMDVCC (low = on)"),
    ("card detect", 4, "J3-13", "socket switch to GND", "OFF (low = no card or fault)"),
    ("key row 1", 13, "J2-15", "keypad row 1 (1 2 3 A)", "same"),
    ("key row 2", 14, "J2-12", "keypad row 2 (4 5 6 B)", "same"),
    ("key row 3", 32, "J2-7", "keypad row 3 (7 8 9 C)", "same"),
    ("key row 4", 33, "J2-8", "keypad row 4 (* 0 # D)", "same"),
    ("key col 1", 34, "J2-5", "keypad column 1 + 10k pull-up to 3V3", "same"),
    ("key col 2", 35, "J2-6", "keypad column 2 + 10k pull-up to 3V3", "same"),
    ("key col 3", 36, "J2-3", "keypad column 3 + 10k pull-up to 3V3", "same"),
    ("key col 4", 39, "J2-4", "keypad column 4 (A B C D) + 10k pull-up to 3V3", "same"),
    ("MAX7219 CS", 5, "J3-10", "MAX7219 module CS/LOAD", "same"),
    ("MAX7219 CLK", 18, "J3-9", "MAX7219 module CLK (VSPI SCK)", "same"),
    ("MAX7219 DIN", 23, "J3-2", "MAX7219 module DIN (VSPI MOSI)", "same"),
    ("OLED SDA", 21, "J3-6", "SSD1306 SDA (I2C0)", "same"),
    ("OLED SCL", 22, "J3-3", "SSD1306 SCL (I2C0)", "same"),
)
POWER = (
    ("3V3", "J2-1", "AO3401 source (drain -> C1 VCC, 10uF + 100nF), pull-ups, OLED VCC; "
     "TDA8024 VDD, CLKDIV1, 5V/3V"),
    ("5V", "J2-19", "MAX7219 module VCC; TDA8024 VDDP (5 V class A cards)"),
    ("GND", "J2-14", "card C5 GND, 2N7002 source (drain: 100R to C1), displays; TDA8024 GND, "
     "PGND, CLKDIV2"),
)

UART_ID = 2
CARD_IO_RX = 16
CARD_IO_TX = 17
CARD_CLK = 25
CARD_RST = 26
CARD_VCC = 27
CARD_DETECT = 4
KEY_ROWS = (13, 14, 32, 33)
KEY_COLS = (34, 35, 36, 39)
SPI_ID = 2
SPI_SCK = 18
SPI_MOSI = 23
MAX7219_CS = 5
I2C_ID = 0
I2C_SDA = 21
I2C_SCL = 22
