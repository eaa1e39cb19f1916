"""Small JSON state files written atomically (write a temporary file, fsync, rename), and
read back as untrusted input: a file that is truncated, empty, not JSON or holds the wrong
types is a StateError naming it (the commands say how to repair it), never a traceback."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from sesame_tools import safefile

MAX_BYTES = 1 << 20  # an issuer file remembers 200 codes: about 10 kB


class StateError(ValueError):
    """A damaged state file: `path` and what is wrong with it."""

    def __init__(self, path: Path, why: str):
        super().__init__(f"{path} is damaged ({why})")
        self.path, self.why = Path(path), why


def read(path: Path, default: dict, check=None) -> dict:
    """The file's object over `default`; `check(d)` returns what is wrong with it or ""."""
    try:
        d = safefile.read_json(path, MAX_BYTES)
    except FileNotFoundError:
        return dict(default)
    except safefile.FileError as e:
        raise StateError(path, str(e)) from None
    if not isinstance(d, dict):
        raise StateError(path, "not a JSON object")
    d = {**default, **d}
    why = check(d) if check else ""
    if why:
        raise StateError(path, why)
    return d


def whole(v, lo: int, hi: int) -> bool:
    return type(v) is int and lo <= v <= hi


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
        d = read(self.path, {"atc": atc, "pin_tries": tries}, _card_check)
        self.atc = d["atc"]
        self.pin_tries = d["pin_tries"]

    def save(self) -> None:
        write(self.path, {"atc": self.atc, "pin_tries": self.pin_tries})


def _card_check(d: dict) -> str:
    if not whole(d["atc"], 0, 0xFFFF):
        return f"atc {d['atc']!r} is not a counter 0-65535"
    if not whole(d["pin_tries"], 0, 15):
        return f"pin_tries {d['pin_tries']!r} is not 0-15"
    return ""
