"""Where the emulated Pico's parts are: MicroPython for RPI_PICO (.uf2), the RP2040 bootrom,
Node.js and the npm modules of js/ (rp2040js). Each missing part is one clear sentence
saying how to get it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
JS = HERE / "js"
ROOT = HERE.parents[2]  # the checkout: host_tools/sesame_tools/emu -> repo
SHARED = ROOT.parent / "shared" / "rp2"  # ../shared/rp2 next to the checkout
UF2_NAME = "micropython-v1.28.0-RPI_PICO.uf2"
BOOTROM_NAME = "rp2040-bootrom-b1.bin"
GET_UF2 = ("get MicroPython for the Pico from https://micropython.org/download/RPI_PICO/ "
           "(or build it with ../shared/rp2/build.sh) and set $SESAME_PICO_UF2 to the .uf2")


class MissingPart(FileNotFoundError):
    """A part of the emulated Pico is not installed; str() says how to get it."""


def find_uf2() -> Path:
    """$SESAME_PICO_UF2 (the .uf2, or a folder holding it) if set, else ../shared/rp2/."""
    env = os.environ.get("SESAME_PICO_UF2")
    if env:
        p = Path(env).expanduser()
        p = p / UF2_NAME if p.is_dir() else p
        if p.is_file():
            return p
        raise MissingPart(f"$SESAME_PICO_UF2 is {env}, which is not a MicroPython .uf2: {GET_UF2}")
    p = SHARED / UF2_NAME
    if p.is_file():
        return p
    raise MissingPart(f"MicroPython for the Pico not found in {SHARED}: {GET_UF2}")


def find_bootrom(uf2: Path | None = None) -> Path:
    env = os.environ.get("SESAME_PICO_BOOTROM")
    places = [Path(env).expanduser()] if env else []
    if uf2 is not None:
        places.append(uf2.parent / BOOTROM_NAME)
    places.append(SHARED / BOOTROM_NAME)
    for p in places:
        if p.is_file():
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
