"""Every firmware and board file compiles with mpy-cross for both real targets: the
RP2040 (Cortex-M0+, -march=armv6m) and the ESP32 (-march=xtensawin)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(str(p.relative_to(ROOT)) for p in
               list((ROOT / "firmware").rglob("*.py")) + list((ROOT / "boards").rglob("*.py"))
               if "__pycache__" not in p.parts)


def mpy_cross():
    exe = Path(sys.executable).parent / "mpy-cross"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mpy_cross"]


@pytest.mark.parametrize("arch", ["armv6m", "xtensawin"])
def test_every_file_compiles(arch, tmp_path):
    assert len(FILES) > 20 and "boards/pico/board.py" in FILES and "boards/esp32/board.py" in FILES
    bad = []
    for f in FILES:
        out = tmp_path / (f.replace("/", "_") + ".mpy")
        r = subprocess.run(mpy_cross() + [f"-march={arch}", "-o", str(out), f], cwd=ROOT,
                           capture_output=True, text=True)
        if r.returncode or not out.exists():
            bad.append(f"{f}: {r.stderr.strip()}")
    assert not bad, "\n".join(bad)


def test_compile_check_can_fail(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text("def f(:\n")
    r = subprocess.run(mpy_cross() + ["-march=armv6m", str(f)], capture_output=True, text=True)
    assert r.returncode != 0
