"""Where the emulated Pico's parts come from, and the one-line errors when one is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sesame_tools.emu import Emulator, MissingPart, firmware


def test_uf2_from_the_environment_or_shared(monkeypatch, tmp_path, parts):
    monkeypatch.delenv("SESAME_PICO_UF2", raising=False)
    assert firmware.find_uf2() == firmware.SHARED / firmware.UF2_NAME
    fake = tmp_path / "mp.uf2"
    fake.write_bytes(b"x")
    monkeypatch.setenv("SESAME_PICO_UF2", str(fake))
    assert firmware.find_uf2() == fake
    monkeypatch.setenv("SESAME_PICO_UF2", str(tmp_path))  # a folder holding it
    (tmp_path / firmware.UF2_NAME).write_bytes(b"x")
    assert firmware.find_uf2() == tmp_path / firmware.UF2_NAME


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
