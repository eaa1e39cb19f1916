"""Small JSON state files written atomically (write a temporary file, fsync, rename)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def read(path: Path, default: dict) -> dict:
    try:
        return {**default, **json.loads(Path(path).read_text())}
    except FileNotFoundError:
        return dict(default)


def write(path: Path, data: dict) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class CardState:
    """ATC and PIN try counter of one virtual card, persisted after every change."""

    def __init__(self, path: Path, atc: int, tries: int):
        self.path = Path(path)
        d = read(self.path, {"atc": atc, "pin_tries": tries})
        self.atc = int(d["atc"])
        self.pin_tries = int(d["pin_tries"])

    def save(self) -> None:
        write(self.path, {"atc": self.atc, "pin_tries": self.pin_tries})
