"""The pure firmware unit tests again, under the MicroPython unix port (the real runtime)."""

import subprocess
from pathlib import Path

import pytest

from sesame_tools.sim.board import ROOT, micropython_exe

MODULES = sorted(p.stem for p in (Path(__file__).parent / "unit").glob("test_*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_unit_module_under_micropython(module):
    r = subprocess.run([micropython_exe(), "-X", "heapsize=256K", "tests/mpy_run.py", module],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if module == "test_fuzz":  # its counts per target (shown with pytest -s: make fuzz)
        print("".join(x + "\n" for x in r.stdout.splitlines() if x.startswith("fuzz ")))
    assert r.returncode == 0, r.stdout + r.stderr
    assert " passed, 0 failed" in r.stdout
    assert not r.stdout.startswith("0 passed"), "no test ran"
