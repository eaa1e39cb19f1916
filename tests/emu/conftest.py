"""Fixtures for the emulated Pico (host_tools/sesame_tools/emu): its parts (the .uf2, the
bootrom, Node.js and the npm modules; tests/parts.py: a missing one skips these tests on a
developer's machine with where to get it, and fails them in CI), a blank board, and one
board flashed once per session with `sesame flash --test-build` whose flash image each
test boots from a copy of."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from emuhelp import LinkClient, TIMES, sesame, settle
from parts import need
from sesame_tools.emu import Emulator, firmware


LONG = "emu_matrix"  # the card timing / link-layer matrices: minutes, not seconds


def pytest_configure(config):
    config.addinivalue_line("markers", f"{LONG}: a long emulated-Pico run (make emu-test, or "
                            "pytest tests/emu, or SESAME_EMU_ALL=1)")


def _wants_all(config) -> bool:
    if os.environ.get("SESAME_EMU_ALL"):
        return True
    here = Path(__file__).resolve().parent
    for arg in config.args:
        p = Path(arg.split("::")[0]).resolve()
        if p == here or here in p.parents:
            return True  # tests/emu (or a file in it) named on the command line
    return False


def pytest_collection_modifyitems(config, items):
    """`make test` (pytest over tests/) runs the emulator's short share; the matrices run
    when tests/emu is named (`pytest tests/emu`, `make emu-test`) or SESAME_EMU_ALL=1."""
    if _wants_all(config):
        return
    long = [i for i in items if LONG in i.keywords]
    if long:
        items[:] = [i for i in items if LONG not in i.keywords]
        config.hook.pytest_deselected(items=long)
        config._emu_deselected = len(long)


_RESULTS: dict[str, dict[str, list[str]]] = {}  # file -> outcome -> test ids


def pytest_runtest_logreport(report):
    if not report.nodeid.startswith("tests/emu/"):
        return
    if report.when == "call" or report.outcome != "passed":
        if hasattr(report, "wasxfail"):
            outcome = "xfail (known defect)" if report.skipped else "XPASS"
        else:
            outcome = report.outcome
        file, _, test = report.nodeid.partition("::")
        _RESULTS.setdefault(file.rsplit("/", 1)[-1], {}).setdefault(outcome, []).append(test)


def pytest_terminal_summary(terminalreporter):
    if _RESULTS:
        terminalreporter.write_sep("-", "emulated Pico: what passes")
        for file, outcomes in sorted(_RESULTS.items()):
            n = sum(len(v) for v in outcomes.values())
            terminalreporter.write_line(f"  {file}: {len(outcomes.get('passed', []))} of {n} passed")
            for outcome, tests in sorted(outcomes.items()):
                names = " ".join(t.split("[", 1)[1].rstrip("]") if "[" in t else t for t in tests)
                terminalreporter.write_line(f"    {outcome}: {names}")
    n = getattr(terminalreporter.config, "_emu_deselected", 0)
    if n:
        terminalreporter.write_line(f"{n} long emulated-Pico tests deselected: `make emu-test` "
                                    "(or pytest tests/emu) runs them")
    if TIMES:
        terminalreporter.write_sep("-", "emulated Pico, wall-clock seconds")
        for k, v in TIMES.items():
            terminalreporter.write_line(f"  {k}: {v:.1f} s")


@pytest.fixture(scope="session")
def parts():
    """The emulator's parts, or a skip (a failure in CI) saying how to get the missing one."""
    try:
        uf2 = firmware.find_uf2()
        return {"uf2": uf2, "bootrom": firmware.find_bootrom(uf2), "node": firmware.find_node(),
                "main": firmware.check_modules()}
    except firmware.MissingPart as e:
        need(str(e), "the emulated Pico")


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    d = tmp_path / "state"
    d.mkdir()
    monkeypatch.setenv("SESAME_STATE_DIR", str(d))
    return d


@pytest.fixture(scope="session")
def flashed(parts, tmp_path_factory):
    """A flash image holding MicroPython and the test build `sesame flash` put there."""
    d = tmp_path_factory.mktemp("flashed")
    image = d / "pico.flash"
    t0 = time.monotonic()
    with Emulator(inserted=False, flash_file=image) as emu:
        t1 = time.monotonic()
        r = sesame("flash", "--port", emu.port, "--board", "pico", "--test-build", timeout=900)
        TIMES["boot blank to pty"] = t1 - t0
        TIMES["sesame flash --test-build"] = time.monotonic() - t1
        assert r.returncode == 0, r.stdout + r.stderr + emu.errors()
        assert "@ready sesame" in r.stdout and "board=pico" in r.stdout, r.stdout
    return {"image": image, "output": r.stdout}


@pytest.fixture
def make_emu(tmp_path, state_dir):
    """make_emu(image=None, **Emulator options) -> a started Emulator on a copy of image."""
    made: list[Emulator] = []

    def make(image: Path | None = None, **kw) -> Emulator:
        flash = tmp_path / f"flash{len(made)}.img"
        if image is not None:
            shutil.copyfile(image, flash)
        kw.setdefault("flash_file", flash)
        emu = Emulator(**kw)
        made.append(emu)
        emu.start()
        return emu

    yield make
    for emu in made:
        emu.stop()


@pytest.fixture
def reader(flashed, make_emu):
    """make(**Emulator options) -> (emulator, test-link client) of the flashed board, at
    @ready. The client waits for the boot's @ready rather than pinging (LinkClient.sync):
    with the same host lines in the same order the emulated run is the same every time
    (the firmware's heap, hence where its garbage collections fall, included)."""
    opened: list[LinkClient] = []

    def make(**kw):
        t0 = time.monotonic()
        emu = make_emu(flashed["image"], **kw)
        client = LinkClient(emu.port)
        opened.append(client)
        try:
            client.wait("ready", timeout=90)
        except Exception:  # the boot line was missed: ping until it answers
            client.sync(60)
            settle(client)
        TIMES.setdefault("boot to the test link (flashed board)", time.monotonic() - t0)
        return emu, client

    yield make
    for c in opened:
        c.close()
