"""Where the firmware and the boards live in the checkout, and the files a board's
filesystem gets from them: what `sesame flash` copies and what the simulated board
boots. Modules go there compiled (sesame/reader/app.mpy <- firmware/sesame/reader/app.py);
main.py stays source, since MicroPython runs it by that name."""

from __future__ import annotations

from pathlib import Path

import sesame

FIRMWARE = Path(sesame.__file__).resolve().parent.parent
ROOT = FIRMWARE.parent
BOARDS = ROOT / "boards"


def board_files(board: str) -> dict[str, Path]:
    """Board path -> source file. The drivers go to the real boards only (the simulated
    board's card line and display are in boards/sim/board.py)."""
    files = {"main.py": FIRMWARE / "main.py"}
    folders = ["sesame"] + (["drivers"] if board != "sim" else [])
    for top in folders:
        for p in sorted((FIRMWARE / top).rglob("*.py")):
            files[p.relative_to(FIRMWARE).with_suffix(".mpy").as_posix()] = p
    for p in sorted((BOARDS / board).glob("*.py")):
        files[f"{p.stem}.mpy"] = p
    return files
