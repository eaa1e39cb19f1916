"""The emulated Raspberry Pi Pico (issue #15): MicroPython v1.28.0 on rp2040js with the
harness's fixes, a card at its pins answered by the project's virtual card. See
emulator.py (the board), options.py (its card timing and flash file, checked), pincard.py
(the card's host half), js/ (the Node.js side)."""

from sesame_tools.emu.emulator import EmuError, Emulator
from sesame_tools.emu.firmware import MissingPart

__all__ = ["Emulator", "EmuError", "MissingPart"]
