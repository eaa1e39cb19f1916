"""Where the firmware and the boards live in the checkout, and the files a board's
filesystem gets from them: what `sesame flash` copies and what the simulated board
boots. Modules go there compiled (sesame/reader/app.mpy <- firmware/sesame/reader/app.py);
main.py stays source, since MicroPython runs it by that name.

The same files as source are what boards/<board>/package.json lists for
`mpremote mip install` (MicroPython's package format: "urls" = [board path, source
path relative to the package.json]; "deps" = micropython-lib packages, the one place a
board names them). `python -m sesame_tools.firmware` rewrites those lists from the tree
(the deps stay as written); the tests check that they match."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import sesame

FIRMWARE = Path(sesame.__file__).resolve().parent.parent
ROOT = FIRMWARE.parent
BOARDS = ROOT / "boards"
MIP_BOARDS = ("pico", "esp32", "sim")
NOT_ON_THE_BOARD = {"manifest.py"}  # boards/<board>/manifest.py is for firmware builds


def board_files(board: str) -> dict[str, Path]:
    """Board path -> source file. The drivers go to the real boards only (the simulated
    board's card line and display are in boards/sim/board.py)."""
    files = {"main.py": FIRMWARE / "main.py"}
    folders = ["sesame"] + (["drivers"] if board != "sim" else [])
    for top in folders:
        for p in sorted((FIRMWARE / top).rglob("*.py")):
            files[p.relative_to(FIRMWARE).with_suffix(".mpy").as_posix()] = p
    for p in sorted((BOARDS / board).glob("*.py")):
        if p.name not in NOT_ON_THE_BOARD:
            files[f"{p.stem}.mpy"] = p
    return files


def package_urls(board: str) -> list[list[str]]:
    """The "urls" of boards/<board>/package.json: board_files(board) as .py sources."""
    here = BOARDS / board
    return [[dest[:-4] + ".py" if dest.endswith(".mpy") else dest,
             Path(os.path.relpath(src, here)).as_posix()]
            for dest, src in board_files(board).items()]


def package_deps(board: str) -> list[list[str]]:
    """The micropython-lib packages the board needs: [name, version] pairs, the "deps" of
    boards/<board>/package.json (none when there is no such file)."""
    try:
        pkg = json.loads((BOARDS / board / "package.json").read_text())
    except FileNotFoundError:
        return []
    return [[str(d[0]), str(d[1]) if len(d) > 1 else "latest"] for d in pkg.get("deps", [])]


def package_json(board: str) -> str:
    """The text boards/<board>/package.json must hold: one line per file."""
    def lines(pairs):
        return ",\n".join(f"    {json.dumps(p)}" for p in pairs)

    deps = package_deps(board)
    return ("{\n"
            f'  "urls": [\n{lines(package_urls(board))}\n  ],\n'
            f'  "deps": [' + (f"\n{lines(deps)}\n  " if deps else "") + "],\n"
            f'  "version": {json.dumps(sesame.VERSION)}\n'
            "}\n")


if __name__ == "__main__":
    for b in sys.argv[1:] or MIP_BOARDS:
        (BOARDS / b / "package.json").write_text(package_json(b))
        print(f"wrote boards/{b}/package.json")
