# Sésame frozen into your own MicroPython build for the ESP32 (MicroPython's manifest
# format; boards/README.md says more):
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/sesame/boards/esp32/manifest.py
# A frozen main.py runs at boot in place of the filesystem's (shared/runtime/pyexec.c,
# pyexec_file_if_exists): include this file with main=False to keep yours. A board with
# a manifest of its own (TINYPICO...) includes "$(BOARD_DIR)/manifest.py" in place of the
# port's. Settings stay in config.json on the filesystem.
options.defaults(main=True)
metadata(description="Sésame, an open EMV-CAP reader: the firmware for one board", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")
require("ssd1306")  # the OLED driver (boards/esp32/package.json "deps")
package("sesame", base_path="../../firmware")
package("drivers", base_path="../../firmware")
module("board.py")
module("pins.py")
if options.main:
    module("main.py", base_path="../../firmware")
