"""The simulated board's run folder (its flash, its stderr log) in the temporary folder,
marked with the process that made it, so the folders a killed run left behind (kill -9
skips every clean-up) are removed when the next board starts."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "sesame-sim-"


def clean_leftovers() -> None:
    """Removes run folders whose "pid" names a process that is gone."""
    for d in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            os.kill(int((d / "pid").read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError):  # not ours, still running, or not readable: kept
            pass


def new() -> tempfile.TemporaryDirectory:
    """A fresh run folder (leftovers cleaned first), marked with this process."""
    clean_leftovers()
    d = tempfile.TemporaryDirectory(prefix=PREFIX)
    (Path(d.name) / "pid").write_text(str(os.getpid()))
    return d
