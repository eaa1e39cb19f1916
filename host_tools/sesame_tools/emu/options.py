"""What a user gives the emulated Pico, checked before anything starts: the card's
ISO 7816-3 timing (js/card.js DEFAULT_TIMING has the defaults) and the flash image file.
A bad value is a ValueError whose str() is one line saying what is wrong."""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path

import sesame_tools.emu.firmware as parts

TIMING_KEYS = ("atr_clocks", "char_etu", "answer_etu", "bit_error_etu", "error_at_etu",
               "error_len_etu", "check_at_etu", "repeat_after_etu", "max_repeats", "tck",
               "atr_extra")
MAX_ATR_EXTRA = 64  # bytes a card sends after its ATR (an ATR itself is at most 33)


class FlashFileError(ValueError):
    """The flash image file cannot be used; str() says why."""


def check_timing(timing: dict) -> dict:
    """The card's timing options, checked against ISO 7816-3's tolerances."""
    bad = [k for k in timing if k not in TIMING_KEYS]
    if bad:
        raise ValueError(f"unknown card timing {', '.join(bad)} (known: {', '.join(TIMING_KEYS)})")
    # char_etu 11: only for a T=1 card whose TC1 is 255 (CGT = 11 etu, ISO 7816-3 11.2)
    limits = {"atr_clocks": (400, 40000), "char_etu": (11, 1000), "answer_etu": (16, 1e7),
              "bit_error_etu": (-0.2, 0.2), "error_at_etu": (10.3, 10.7),
              "error_len_etu": (1, 2), "check_at_etu": (10.8, 11.2),
              "repeat_after_etu": (2, 100), "max_repeats": (1, 100)}
    for k, (lo, hi) in limits.items():
        if k in timing and not lo <= float(timing[k]) <= hi:
            raise ValueError(f"card timing {k}={float(timing[k]):g} is outside ISO 7816-3's "
                             f"{lo:g}..{hi:g}")
    timing = dict(timing)
    if "atr_extra" in timing:  # js/card.js reads it as pairs of hex digits
        try:
            extra = bytes.fromhex(str(timing["atr_extra"]))
        except ValueError:
            raise ValueError(f"card timing atr_extra={str(timing['atr_extra'])[:40]!r} is not "
                             f"hex bytes (as 3B00: two hex digits a byte)") from None
        if len(extra) > MAX_ATR_EXTRA:
            raise ValueError(f"card timing atr_extra is {len(extra)} bytes: at most "
                             f"{MAX_ATR_EXTRA} after the ATR")
        timing["atr_extra"] = extra.hex()
    return timing


def check_flash_file(path: Path | str) -> Path:
    """The --flash image: absent, empty (a blank flash) or a 2 MB image, in a folder where
    it can be written (the node side saves it as FILE.tmp, then renames it over FILE)."""
    if not str(path):
        raise FlashFileError("an empty file name: give the name of a file for the flash image")
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:  # a path through a file, a loop of links, a name too long
        raise FlashFileError(f"{path}: {e.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "not a regular file")
        raise FlashFileError(f"{path} is {kind}: give the name of a file for the flash image")
    if st is not None and st.st_size not in (0, parts.FLASH_SIZE):
        raise FlashFileError(f"{path} is {st.st_size} bytes, not a flash image of the Pico "
                             f"({parts.FLASH_SIZE} bytes, as `sesame emu --flash` writes): give a "
                             f"new file name to start with a blank flash")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as e:
        raise FlashFileError(f"cannot write to {path.parent}: {e.strerror}") from None
    return path
