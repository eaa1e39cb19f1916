"""Tests that need parts from outside Python (Debian's pcscd, libccid, pcsc-tools; pyscard):
`make venv` installs them as root. Without them such a test is skipped on a developer's
machine, but fails in CI (`CI` set, as .ci/run does) or as root, where they must be there:
a missing part never passes for a green run."""

from __future__ import annotations

import os

import pytest

REQUIRED = bool(os.environ.get("CI")) or os.geteuid() == 0


def need(missing: list[str] | str, what: str) -> None:
    """Skip (or fail where the parts are required) when `missing` is not empty: a list of
    parts (make venv installs them as root), or a sentence saying what is missing and where
    to get it."""
    if not missing:
        return
    why = (f"{what}: {missing}" if isinstance(missing, str) else
           f"{what} needs {', '.join(missing)} (make venv installs it as root)")
    if REQUIRED:
        pytest.fail(why + "; required in CI and as root")
    pytest.skip(why)
