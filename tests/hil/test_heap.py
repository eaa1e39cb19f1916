"""The whole Identify flow on the simulated board with the unix port's heap capped at
64 KB, about what MicroPython leaves free on an ESP32 without PSRAM; the code must be
accepted by the issuer check. It needs about 62 KB (`make bench`): 2 KB of margin, kept by a
packed boot (main.py) and an idle loop that allocates nothing (sesame/reader/loop.py)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sesame_tools.vcard import profile as profiles

pytestmark = pytest.mark.sim_only  # the heap cap is a power of the simulated board
SESAME = str(Path(sys.executable).parent / "sesame")


@pytest.mark.parametrize("card", ["visa_dpa", "bancontact"])
def test_identify_with_a_64k_heap(make_reader, card):
    # bancontact: the Belgian code (sesame.emv.belgian loaded) fits too
    r = make_reader(heap="64K", card=card)
    assert r.simulated
    code = r.get_code(profiles.load(card).pin)
    assert re.match(r"^\d{4} \d{4}$", code), code
    v = subprocess.run([SESAME, "verify", "--card", card, code], capture_output=True, text=True,
                       timeout=60)
    assert v.returncode == 0 and v.stdout.startswith("accepted"), v
    assert not [e for e in r.client.history if e.name == "error"]


def test_a_tiny_heap_does_fail(make_reader):
    # The cap is real: 16 KB is not enough to get a code.
    try:
        r = make_reader(heap="16K")
        r.press("CODE", *r.pin, "OK")
        shown = [e.arg for e in r.client.history if e.name == "disp"]
        ok = any(re.match(r"^\d{4} \d{4}$", s or "") for s in shown)
    except Exception:
        ok = False
    assert not ok
