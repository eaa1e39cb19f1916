"""Where the emulated Pico's parts are: MicroPython for RPI_PICO (.uf2), the RP2040 bootrom,
Node.js and the npm modules of js/ (rp2040js). Each missing part is one clear sentence
saying how to get it."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
JS = HERE / "js"
ROOT = HERE.parents[2]  # the checkout: host_tools/sesame_tools/emu -> repo
SHARED = ROOT.parent / "shared" / "rp2"  # ../shared/rp2 next to the checkout
UF2_NAME = "micropython-v1.28.0-RPI_PICO.uf2"
BOOTROM_NAME = "rp2040-bootrom-b1.bin"
BOOTROM_BYTES = 16 * 1024  # the RP2040 datasheet 2.8: a 16 kB ROM at 0x00000000
GET_UF2 = ("get MicroPython for the Pico from https://micropython.org/download/RPI_PICO/ "
           "(or build it with ../shared/rp2/build.sh) and set $SESAME_PICO_UF2 to the .uf2")


class MissingPart(FileNotFoundError):
    """A part of the emulated Pico is not installed; str() says how to get it."""


def find_uf2() -> Path:
    """$SESAME_PICO_UF2 (the .uf2, or a folder holding it) if set, else ../shared/rp2/."""
    env = os.environ.get("SESAME_PICO_UF2")
    if env:
        p = Path(env).expanduser()
        if p.is_dir():
            if not (p / UF2_NAME).is_file():
                raise MissingPart(f"$SESAME_PICO_UF2 is the folder {env}, which holds no "
                                  f"{UF2_NAME}: {GET_UF2}")
            p = p / UF2_NAME
        if not p.is_file():
            raise MissingPart(f"$SESAME_PICO_UF2 is {env}, which is not a file: {GET_UF2}")
        why = uf2_problem(p)
        if why:
            raise MissingPart(f"$SESAME_PICO_UF2 is {env}, which {why}: {GET_UF2}")
        return p
    p = SHARED / UF2_NAME
    if p.is_file():
        why = uf2_problem(p)
        if why:
            raise MissingPart(f"{p} {why}: {GET_UF2}")
        return p
    raise MissingPart(f"MicroPython for the Pico not found in {SHARED}: {GET_UF2}")


# UF2 (github.com/microsoft/uf2, README "File format"): 512-byte blocks, two magic words at
# 0 and 4 and one at 508, flags at 8, target address at 12, payload size at 16 (at most 476),
# the family ID at 28 when flag 0x2000 is set; RP2040's family is 0xe48bff56 and its flash is
# at 0x10000000 (RP2040 datasheet 2.2, address map). js/board.js loads the same blocks.
UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
UF2_NOT_MAIN_FLASH, UF2_FAMILY_PRESENT = 0x1, 0x2000
RP2040_FAMILY = 0xE48BFF56
FLASH_BASE, FLASH_SIZE = 0x10000000, 2 * 1024 * 1024
MAX_UF2_BYTES = 2 * FLASH_SIZE * 512 // 256  # the whole flash at 256 bytes a block


def uf2_problem(path: Path) -> str | None:
    """None if the file is a UF2 with RP2040 flash blocks, else what is wrong with it."""
    try:
        size = path.stat().st_size
        if size == 0:
            return "is empty"
        if size > MAX_UF2_BYTES:
            return f"is {size} bytes, more than a UF2 of the Pico's 2 MB flash can be"
        data = path.read_bytes()
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    blocks = 0
    for off in range(0, len(data) - 511, 512):
        m0, m1, flags, addr, n, _, _, family = struct.unpack_from("<8I", data, off)
        end = struct.unpack_from("<I", data, off + 508)[0]
        if (m0, m1, end) != UF2_MAGIC or flags & UF2_NOT_MAIN_FLASH or n > 476:
            continue
        if flags & UF2_FAMILY_PRESENT and family != RP2040_FAMILY:
            continue
        if FLASH_BASE <= addr and addr + n <= FLASH_BASE + FLASH_SIZE:
            blocks += 1
    return None if blocks else "is not a UF2 file for the RP2040 (no RP2040 flash blocks in it)"


def find_bootrom(uf2: Path | None = None) -> Path:
    env = os.environ.get("SESAME_PICO_BOOTROM")
    places = [Path(env).expanduser()] if env else []
    if uf2 is not None:
        places.append(uf2.parent / BOOTROM_NAME)
    places.append(SHARED / BOOTROM_NAME)
    for p in places:
        if p.is_file():
            if p.stat().st_size != BOOTROM_BYTES:
                raise MissingPart(f"{p} is not the RP2040 bootrom ({BOOTROM_NAME}: "
                                  f"{BOOTROM_BYTES} bytes): set $SESAME_PICO_BOOTROM to it")
            return p
    raise MissingPart(f"the RP2040 bootrom ({BOOTROM_NAME}, raspberrypi/pico-bootrom revision B1) "
                      f"is not next to the .uf2 nor in {SHARED}: set $SESAME_PICO_BOOTROM to it")


def find_node() -> str:
    node = shutil.which("node") or ("/usr/bin/node" if Path("/usr/bin/node").exists() else None)
    if not node:
        raise MissingPart("Node.js is not installed (Debian: `sudo apt-get install nodejs npm`)")
    return node


def check_modules() -> Path:
    mod = JS / "node_modules" / "rp2040js" / "package.json"
    if not mod.is_file():
        raise MissingPart(f"the emulator's npm modules are missing: run `make venv` "
                          f"(or `npm ci --prefix {JS}`)")
    return JS / "main.js"
