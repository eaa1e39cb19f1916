"""The harness's JavaScript tests (host_tools/sesame_tools/emu/js/test/*.test.js, node:test):
one test per register behaviour each fix to rp2040js adds, and the card at the pins against
a scripted reader. Run here so `pytest tests/emu` covers them."""

from __future__ import annotations

import subprocess

import pytest

from sesame_tools.emu import firmware

FILES = sorted(p.name for p in (firmware.JS / "test").glob("*.test.js"))


def test_there_are_js_tests():
    assert {"pio.test.js", "flash.test.js", "card.test.js", "nets.test.js", "usb.test.js",
            "pwm.test.js", "chipregs.test.js"} <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_js(parts, name):
    r = subprocess.run([parts["node"], "--test", f"test/{name}"], cwd=firmware.JS,
                       capture_output=True, text=True, timeout=300)
    summary = [line for line in r.stdout.splitlines() if line.startswith(("not ok", "# pass", "# fail"))]
    assert r.returncode == 0, "\n".join(summary) + "\n" + r.stdout[-4000:] + r.stderr[-2000:]
    assert "# fail 0" in r.stdout and "# pass 0" not in r.stdout, summary
