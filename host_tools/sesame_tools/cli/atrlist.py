"""pcsc-tools' list of known cards (smartcard_list.txt, Debian package pcsc-tools): which
card an ATR belongs to, found as ATR_analysis finds it.

Format (the file's own header): an ATR as a regular expression over upper-case hex
bytes separated by spaces ("3B 65 00 .. 20 63 CB 6[89] .."), then one or more lines
starting with a tab that describe the card, then an empty line; `#` starts a comment.
An ATR matches a line when the whole "3B 65 ..." text matches its expression, case
ignored. ATR_analysis looks for the file in these places, first found wins, and so do we.

The file is input like any other: only regular files of at most MAX_BYTES are read, and
only expressions made of hex digits, spaces, `.`, bracket classes and at most
MAX_STARS `.*` are used (every line of the real list is), so no expression can make the
matching slow; the others are counted in `skipped`.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

MAX_BYTES = 16 << 20
MAX_STARS = 2
MAX_PATTERN = 300  # characters of one expression
INSTALL_HINT = "install pcsc-tools for card names: apt-get install pcsc-tools"
_SAFE = re.compile(r"[0-9A-Fa-f .\[\],*-]+")


def search_path() -> list[Path]:
    """Where ATR_analysis (pcsc-tools 1.6) looks for the list, in its order."""
    home = Path(os.environ.get("HOME", "~")).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return [cache / "smartcard_list.txt", home / ".smartcard_list.txt",
            Path("/usr/local/pcsc/smartcard_list.txt"), Path("/usr/share/pcsc/smartcard_list.txt"),
            Path("/usr/local/share/pcsc/smartcard_list.txt")]


class ListError(ValueError):
    """The given file cannot be used as a card list (the message says why)."""


class CardList:
    """The entries of one smartcard_list.txt: (expression text, compiled, descriptions)."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.entries: list[tuple[str, re.Pattern, list[str]]] = []
        self.skipped = 0
        cur: list[str] | None = None
        for line in text.splitlines():
            if line.startswith("\t"):
                if cur is not None:
                    cur.append(line.strip())
                continue
            line = line.strip()
            if not line or line.startswith("#"):
                cur = None
                continue
            if len(line) > MAX_PATTERN or not _SAFE.fullmatch(line) \
                    or line.count("*") > MAX_STARS:
                self.skipped += 1
                cur = None
                continue
            try:
                rx = re.compile(line, re.IGNORECASE)
            except re.error:
                self.skipped += 1
                cur = None
                continue
            cur = []
            self.entries.append((line, rx, cur))

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "CardList | None":
        """The list at `path` (ListError if unusable), else the first usable one with
        entries on search_path() (a failed download leaves an empty one), else None."""
        if path is None:
            for p in search_path():
                try:
                    found = cls.read(p)
                except (ListError, OSError):
                    continue
                if found.entries:
                    return found
            return None
        try:
            return cls.read(Path(path))
        except OSError as e:
            raise ListError(f"{path}: {e.strerror or e}") from None

    @classmethod
    def read(cls, path: Path) -> "CardList":
        # O_NONBLOCK: opening a FIFO must not wait for a writer; refused just after
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ListError(f"{path}: not a regular file")
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ListError(f"{path}: larger than {MAX_BYTES >> 20} MB, not a card list")
        return cls(path, data.decode("utf-8", errors="replace"))

    def match(self, raw: bytes) -> list[tuple[str, list[str]]]:
        """(expression, descriptions) of every entry the ATR matches, in file order."""
        text = bytes(raw).hex(" ").upper()
        return [(line, descr) for line, rx, descr in self.entries if rx.fullmatch(text)]

    def atrs(self) -> list[str]:
        """Every expression of the list, in file order (literal ATRs and patterns)."""
        return [line for line, _, _ in self.entries]
