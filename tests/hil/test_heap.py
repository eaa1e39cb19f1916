"""The whole Identify flow on the simulated board with the unix port's heap capped at
64 KB, about what MicroPython leaves free on an ESP32 without PSRAM; the code must be
accepted by the issuer check. It needs 63 KB (the Bancontact card 64 KB), kept so by a
packed boot (main.py), an idle loop that allocates nothing (sesame/reader/loop.py) and code
a transaction may not need loaded on demand.
The board has no PC/SC channel here, as a Pico flashed without `pcsc` (the default): the
budget is the CAP flow's. With the channel (the simulated board's socket, the CCID slot
loading only at its first byte), the last test below."""

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
    r = make_reader(heap="64K", card=card, pcsc=None)
    assert r.simulated
    code = r.get_code(profiles.load(card).pin)
    assert re.match(r"^\d{4} \d{4}$", code), code
    v = subprocess.run([SESAME, "verify", "--card", card, code], capture_output=True, text=True,
                       timeout=60)
    assert v.returncode == 0 and v.stdout.startswith("accepted"), v
    assert not [e for e in r.client.history if e.name == "error"]


@pytest.mark.parametrize("card", ["visa_dpa", "bancontact"])
def test_identify_with_the_pc_sc_channel_attached(make_reader, card):
    # A board with its PC/SC channel (sesame.ccid stays unloaded until the PC speaks)
    r = make_reader(heap="64K", card=card)
    assert r.board.pcsc_port
    code = r.get_code(profiles.load(card).pin)
    assert re.match(r"^\d{4} \d{4}$", code), code


def test_a_tiny_heap_does_fail(make_reader):
    # The cap is real: 16 KB is not enough to start the reader, and the host is told why
    # as soon as the board's traceback is in (not after the link's 10 s timeout)
    from sesame_tools.boardio.testlink import LinkTimeout

    with pytest.raises(LinkTimeout, match="the reader is not running: the board says MemoryError"):
        make_reader(heap="16K")
