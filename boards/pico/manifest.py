# Sésame frozen into your own MicroPython build for the Raspberry Pi Pico, in MicroPython's
# manifest format (docs.micropython.org/en/latest/reference/manifest.html):
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/sesame/boards/pico/manifest.py
# Paths are relative to this file. The port's own manifest comes first: it freezes what
# every build of the port has (_boot.py mounts the filesystem); a board with a manifest
# of its own (Pico W, ...) includes "$(BOARD_DIR)/manifest.py" instead.
# A frozen main.py runs at boot in place of any main.py on the filesystem
# (shared/runtime/pyexec.c: pyexec_file_if_exists looks for a frozen one first); to keep
# your own, include this file with main=False. The settings stay in config.json on the
# filesystem (`sesame flash --set`, or write it with mpremote); without one the
# reader starts with the defaults (a production build; boards/README.md, Settings).
options.defaults(main=True)
metadata(description="Sésame, an open EMV-CAP reader: the firmware for one board", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")
require("ssd1306")  # the OLED driver (boards/pico/package.json "deps")
package("sesame", base_path="../../firmware")
package("drivers", base_path="../../firmware")
module("board.py")
module("pins.py")
if options.main:
    module("main.py", base_path="../../firmware")
