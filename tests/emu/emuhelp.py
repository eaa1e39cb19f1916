"""Helpers shared by the emulated Pico's tests (imported as `emuhelp`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sesame_tools.boardio.testlink import LinkClient

ROOT = Path(__file__).resolve().parents[2]
CODE_RE = re.compile(r"^\d{4} \d{4}$")
TIMES: dict[str, float] = {}  # wall-clock figures, printed at the end of the session


def sesame(*args, timeout=600, **kw) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "sesame"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, **kw)


def mpremote(port: str, *args, timeout=120) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "mpremote"
    return subprocess.run([str(exe), "connect", port, *args], capture_output=True, text=True,
                          timeout=timeout)


def settle(client: LinkClient, quiet: float = 0.5, limit: float = 10.0) -> None:
    """Reads events until the link has been quiet for `quiet` s: LinkClient.sync() pings
    every 0.5 s until one is answered, and a board slow to boot answers the others after
    it returns (key() skips those, but a test reading events itself would see them)."""
    import time

    end = time.monotonic() + limit
    while time.monotonic() < end and client.next_event(quiet) is not None:
        pass


def identify(client: LinkClient, pin: str = "1234", timeout: float = 180) -> tuple[str, str]:
    """CODE, the PIN, OK; returns (final state, its display text)."""
    client.send("!status")
    client.wait("state", timeout=10)
    for k in ("CODE", *pin, "OK"):
        client.key(k, timeout=timeout)
    ev = [e for e in client.history if e.name in ("state", "disp")][-2:]
    return ev[0].arg, ev[1].arg


def happened(emu) -> set:
    """What the virtual card saw happen, over every card session of the run."""
    out: set = set()
    for s in emu.vcard.sessions:
        out |= set(s.faults.fired)
    return out
