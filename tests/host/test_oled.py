"""The OLED layout tests (tests/unit/mpy_oled.py) need framebuf: run them under the
MicroPython unix port, where framebuf is the same C module as on the boards."""

import subprocess

from sesame_tools.sim.board import ROOT, micropython_exe


def test_oled_layout_under_micropython():
    r = subprocess.run([micropython_exe(), "-X", "heapsize=256K", "tests/mpy_run.py", "mpy_oled"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed, 0 failed" in r.stdout, r.stdout
