"""Tests that need parts from outside Python (Debian's pcscd, libccid, pcsc-tools; pyscard):
`make venv` installs them as root. Without them such a test is skipped on a developer's
machine, but fails in CI (`CI` set, as .ci/run does) or as root, where they must be there:
a missing part never passes for a green run."""

from __future__ import annotations

import os

import pytest

REQUIRED = bool(os.environ.get("CI")) or os.geteuid() == 0


def need(missing: list[str] | str, what: str) -> None:
    """Skip (or fail where the parts are required) when `missing` is not empty."""
    if not missing:
        return
    items = [missing] if isinstance(missing, str) else missing
    why = f"{what} needs {', '.join(items)} (make venv installs it as root)"
    if REQUIRED:
        pytest.fail(why + "; required in CI and as root")
    pytest.skip(why)
