"""Where the emulated Pico's parts come from, and the one-line errors when one is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sesame_tools.emu import Emulator, MissingPart, firmware


def test_uf2_from_the_environment_or_shared(monkeypatch, tmp_path, parts):
    real = parts["uf2"].read_bytes()  # from $SESAME_PICO_UF2 or ../shared/rp2
    if (firmware.SHARED / firmware.UF2_NAME).is_file():
        monkeypatch.delenv("SESAME_PICO_UF2", raising=False)
        assert firmware.find_uf2() == firmware.SHARED / firmware.UF2_NAME
    other = tmp_path / "mp.uf2"
    other.write_bytes(real)
    monkeypatch.setenv("SESAME_PICO_UF2", str(other))
    assert firmware.find_uf2() == other
    monkeypatch.setenv("SESAME_PICO_UF2", str(tmp_path))  # a folder holding it
    (tmp_path / firmware.UF2_NAME).write_bytes(real)
    assert firmware.find_uf2() == tmp_path / firmware.UF2_NAME


def test_a_uf2_that_is_not_micropython_for_the_rp2040_is_refused(monkeypatch, tmp_path, parts):
    real = parts["uf2"].read_bytes()
    family = real[28:32]
    for what, content in (("is empty", b""), ("no RP2040 flash blocks", b"UF2\n" * 300),
                          ("no RP2040 flash blocks", real.replace(family, b"\0\0\0\0")),
                          ("no RP2040 flash blocks", real[:511])):
        f = tmp_path / "x.uf2"
        f.write_bytes(content)
        monkeypatch.setenv("SESAME_PICO_UF2", str(f))
        with pytest.raises(MissingPart, match=what):
            firmware.find_uf2()
    f.write_bytes(real[:512])  # one good block is a UF2 (what it holds is the firmware's)
    assert firmware.find_uf2() == f


def test_missing_firmware_says_where_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("SESAME_PICO_UF2", str(tmp_path / "nothing.uf2"))
    with pytest.raises(MissingPart) as e:
        Emulator(inserted=False).start()
    msg = str(e.value)
    assert "\n" not in msg
    assert "micropython.org/download/RPI_PICO" in msg and "build.sh" in msg
    monkeypatch.delenv("SESAME_PICO_UF2")
    monkeypatch.setattr(firmware, "SHARED", tmp_path / "rp2")
    with pytest.raises(MissingPart, match="micropython.org/download/RPI_PICO"):
        firmware.find_uf2()


def test_missing_npm_modules_name_the_command(monkeypatch, tmp_path):
    monkeypatch.setattr(firmware, "JS", tmp_path)
    with pytest.raises(MissingPart, match=r"make venv"):
        firmware.check_modules()


def test_cli_error_is_one_line(monkeypatch, tmp_path):
    env = {"SESAME_PICO_UF2": str(tmp_path / "none.uf2"), "PATH": "/usr/bin:/bin"}
    exe = Path(sys.executable).parent / "sesame"
    r = subprocess.run([str(exe), "emu", "--serve"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "RPI_PICO" in lines[0], r.stderr


def test_bad_card_timing_is_refused():
    with pytest.raises(ValueError, match="answer_etu"):
        Emulator(timing={"answer_etu": 15})
    with pytest.raises(ValueError, match="unknown"):
        Emulator(timing={"answer": 20})


def test_bad_inputs_to_sesame_emu_end_in_a_one_line_error(tmp_path, parts):
    """devtools/badcases.py's `sesame emu` cases (timing, --atr-extra, --card, --flash,
    $SESAME_PICO_UF2) through the real command line: none gives a traceback or hangs, each
    refusal is one "Error:" line (click's usage lines may come before it), the ones that
    start the board print its port and stop cleanly on SIGTERM; no device is written."""
    from sesame_tools.devtools.badcases import all_cases
    from sesame_tools.devtools.badinputs import run_cases

    cases = [c for c in all_cases(tmp_path) if c.command == "emu"]
    outcomes = run_cases(cases, tmp_path)
    bad = []
    for o in outcomes:
        lines = [x for x in o.stderr.splitlines() if x.strip()]
        refused = o.status != 0
        if o.kind != "clean" or (refused and (not lines or not lines[-1].startswith("Error: ")
                                              or sum(x.startswith("Error") for x in lines) != 1
                                              or any(x.startswith("  ") for x in lines))):
            bad.append(f"{o.case.what}: {o.kind} exit {o.status}: {o.stderr[-300:]}")
    assert not bad, "\n".join(bad)
    started = [o.case.what for o in outcomes if o.status == 0]
    assert "emu --flash a new file (starts)" in started and len(started) < 10, started
    assert (tmp_path / "emu-flash" / "new.img").stat().st_size == 2 * 1024 * 1024  # saved
    for dev in ("/dev/null", "/dev/zero"):
        assert Path(dev).is_char_device()
    assert not Path("/dev/null.tmp").exists()
