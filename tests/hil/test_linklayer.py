"""ISO 7816-3 link layer end to end on the simulated board: the Identify flow (CODE, PIN,
OK) over T=0 and T=1, direct and inverse convention, default rate and after PPS, and under
each fault the virtual card can inject (recovered, or a clear error on the display)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from sesame_tools.vcard.profile import with_tck
from sesame_tools.vcard import profile as profiles

pytestmark = pytest.mark.sim_only
CODE_RE = re.compile(r"^\d{4} \d{4}$")


T0_ATR = "3B6500002063CB6800"
T0_PPS_ATR = "3B1596" + "2063CB6800"  # TA1 96: Fi 512, Di 32
T1_ATR = with_tck("3B808131FE45")  # T=1, IFSC 254, BWI 4, CWI 5, LRC
T1_CRC_ATR = with_tck("3B808171FE4501")  # TC3 01: CRC
T1_PPS_ATR = with_tck("3B9096" + "8131FE45")
T1_TINY_ATR = with_tck("3B8081311045")  # TA3 10: IFSC 16
T1_FIRST_T0_ATR = with_tck("3B808031FE45")  # offers T=0 then T=1
T0_WI1_ATR = "3BE50000400120" + "63CB6800"  # TC2 01: WWT 960 etu (89 ms + the sim's 100 ms)
T1_BWI0_ATR = with_tck("3B808131FE05")  # TB3 05: BWT 1 931 etu (180 ms + the sim's 100 ms)

# name: (ATR, link config, what the virtual card must have seen happen)
CASES = {
    "t0-direct": (T0_ATR, {}, {"T=0"}),
    # a TCK after a T=0-only ATR (real cards do), and stray bytes: dropped, never a
    # procedure byte
    "t0-tck-after-atr": (T0_ATR, {"after_atr": "TCK"}, {"T=0", "after atr"}),
    "t0-inverse-tck-after-atr": ("3F6500002063CB6800", {"after_atr": "TCK"},
                                 {"T=0", "inverse", "after atr"}),
    "t0-stray-after-atr": (T0_ATR, {"after_atr": "00 FF 60 61"}, {"T=0", "after atr"}),
    "t1-stray-after-atr": (T1_ATR, {"after_atr": "00 E1"}, {"T=1", "after atr"}),
    "t0-inverse": ("3F6500002063CB6800", {}, {"T=0", "inverse"}),
    "t0-pps": (T0_PPS_ATR, {}, {"T=0", "pps ok"}),
    "t1-direct": (T1_ATR, {}, {"T=1"}),
    "t1-crc": (T1_CRC_ATR, {}, {"T=1"}),
    "t1-inverse": ("3F" + T1_ATR[2:], {}, {"T=1", "inverse"}),
    "t1-pps": (T1_PPS_ATR, {}, {"T=1", "pps ok"}),
    "t0-inverse-pps": ("3F" + T0_PPS_ATR[2:], {}, {"T=0", "inverse", "pps ok"}),
    "t1-inverse-pps": ("3F" + T1_PPS_ATR[2:], {}, {"T=1", "inverse", "pps ok"}),
    "t1-first-t0-offered": (T1_FIRST_T0_ATR, {"protocols": [0, 1]}, {"T=0"}),
    "t0-parity": (T0_ATR, {"parity_char": 3}, {"parity_char"}),
    "t1-parity": (T1_ATR, {"parity_char": 8}, {"parity_char"}),
    "t0-rejected-char": (T0_ATR, {"reject_char": 7}, {"reject_char"}),
    "t0-rejected-first-char": (T0_ATR, {"reject_char": 1}, {"reject_char"}),
    "t1-rejected-char": (T1_ATR, {"reject_char": 9}, {"reject_char"}),
    # the very first character of a T=1 card (no T=0 error signal: the block goes bad)
    "t1-rejected-first-char": (T1_ATR, {"reject_char": 1}, {"reject_char", "T=1"}),
    # the LEN byte of the first I-block (characters 6-8: after the 5 of S(IFS request))
    # garbled: the card must resynchronise on the silence that follows, not wait for
    # the rest of a block that never comes
    "t1-garbled-len": (T1_ATR, {"reject_char": 8}, {"reject_char", "T=1", "resynchronised"}),
    "t0-null-slow": (T0_ATR, {"null_bytes": 3, "null_delay_ms": 20}, {"null_bytes"}),
    # 5 NULLs 70 ms apart: each gap within WWT (TC2 01: 960 etu = 89 ms at 4 MHz), the
    # whole answer well beyond it
    "t0-null-slower-than-wwt": (T0_WI1_ATR, {"null_bytes": 5, "null_delay_ms": 70,
                                             "null_on": 3}, {"null_bytes"}),
    "t1-corrupt-edc": (T1_ATR, {"corrupt_edc": 3}, {"corrupt_edc", "repeat asked"}),
    "t1-crc-corrupt-edc": (T1_CRC_ATR, {"corrupt_edc": 3}, {"corrupt_edc", "repeat asked"}),
    "t1-lost-block": (T1_ATR, {"lose_block": 2}, {"lose_block", "repeat asked"}),
    "t1-wtx": (T1_ATR, {"wtx": 2}, {"wtx"}),
    # the answer comes 450 ms after the WTX (x4) is granted: beyond BWT, within 4 x BWT
    "t1-wtx-slow": (T1_BWI0_ATR, {"wtx": 4, "wtx_on": 2, "wtx_delay_ms": 450}, {"wtx"}),
    # IFSC 16 (the card rejects longer blocks) and the card's answers in 16-byte pieces
    "t1-tiny-ifsc": (T1_TINY_ATR, {"ifsd_max": 16},
                     {"T=1", "reader chained", "card chained"}),
    "t0-pps-refused": (T0_PPS_ATR, {"pps": "refuse"}, {"pps refused", "warm reset", "T=0"}),
    "t1-pps-wrong": (T1_PPS_ATR, {"pps": "wrong"}, {"pps refused", "warm reset", "T=1"}),
    # a 3F card offering T=14 only, whose ATR after a warm reset is a direct T=0 one
    "warm-atr-differs": (with_tck("3F800E"), {"warm_atr": T0_ATR},
                         {"inverse", "warm reset", "T=0"}),
}

# what must NOT have happened: a reader that waited BWT only (not WTX x BWT) would time
# out, ask for the block again and still get the code
NOT_SEEN = {"t1-wtx-slow": {"repeat asked"}, "t1-wtx": {"repeat asked"},
            "t1-tiny-ifsc": {"block over IFSC"}}

FAILS = {
    "t0-removed": (T0_ATR, {"remove_after": 30}, {"removed"}),
    "t1-removed": (T1_ATR, {"remove_after": 30}, {"removed"}),
    "t0-nonsense-procedure": (T0_ATR, {"bad_procedure": 2}, {"bad_procedure"}),
    "t1-always-corrupt": (T1_ATR, {"always_corrupt": True}, {"corrupt_edc"}),
}


def card(tmp_path: Path, name: str, atr: str, link: dict) -> str:
    base = json.loads((profiles.cards_dir() / "visa_dpa.json").read_text())
    base.update(name=name, atr=atr, link=link)
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps(base))
    return str(p)


def happened(r) -> set:
    out: set = set()
    for s in r.board.vcard.sessions:
        out |= set(s.faults.fired)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_identify_over_link(make_reader, tmp_path, name):
    atr, link, seen = CASES[name]
    r = make_reader(card=card(tmp_path, name, atr, link))
    code = r.get_code()
    assert CODE_RE.match(code), code
    assert seen <= happened(r), happened(r)
    assert not NOT_SEEN.get(name, set()) & happened(r), happened(r)


@pytest.mark.parametrize("name", sorted(FAILS))
def test_unrecoverable_fault_shows_error(make_reader, tmp_path, name):
    atr, link, seen = FAILS[name]
    r = make_reader(card=card(tmp_path, name, atr, link))
    r.idle()
    r.press("CODE", *r.pin, "OK")
    shown = [e.arg for e in r.client.history if e.name == "disp"][-1]
    states = [e.arg for e in r.client.history if e.name == "state"]
    assert "code" not in states[-1:], states
    assert shown and not CODE_RE.match(shown), shown
    assert seen <= happened(r), happened(r)
    assert not [e for e in r.client.history if e.name == "error"]  # a typed error, no bug
    if "removed" not in seen:  # the card is deactivated after the error
        last = r.board.vcard.sessions[-1]
        for _ in range(50):
            if not last.powered:
                break
            time.sleep(0.05)
        assert not last.powered and "deactivated" in last.faults.fired, last.faults.fired


def test_t1_fits_a_68k_heap(make_reader, tmp_path):
    # T=1 code (sesame.iso7816.t1, sesame.iso7816.edc) and its block buffers load only for
    # T=1 cards (and T=0's only for T=0 cards): a T=0 card runs in 63 KB, a T=1 card in
    # 68 KB (`make bench`; a board without the PC/SC channel)
    r = make_reader(card=card(tmp_path, "t1-small-heap", T1_ATR, {}), heap="68K", pcsc=None)
    assert CODE_RE.match(r.get_code())
    assert "T=1" in happened(r)
