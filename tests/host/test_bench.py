"""The short benchmark run (`make bench` runs the long one): it completes and prints
plausible wire figures, and every bundled card's Identify within 1.05 times the minimum
a correct reader needs (character counts: exact, not timings)."""

import re
import subprocess
import sys

from sesame_tools.devtools.minimum import minimum
from sesame_tools.vcard.profile import cards_dir, load


def test_quick_bench_prints_wire_figures():
    r = subprocess.run([sys.executable, "-m", "sesame_tools.devtools.bench", "--quick"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {m[0]: m for m in re.findall(r"^  (T=\d)\s+(\d+)/(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)",
                                         r.stdout, re.M)}
    assert set(rows) == {"T=0", "T=1"}, r.stdout
    for name, f, d, sent, recv, etu, resent, ms in rows.values():
        assert (f, d) == ("372", "1")
        assert int(etu) == 12 * (int(sent) + int(recv))  # no extra guard time on these cards
        assert 100 < float(ms) < 2000  # ~400 characters at 93 us per etu
    cards = {m[0]: (int(m[1]), int(m[2]), int(m[3]), float(m[4])) for m in re.findall(
        r"^  (\w+)\s+([01])\s+(\d+)\s+(\d+)\s+([\d.]+)\s+[\d.]+$", r.stdout, re.M)}
    bundled = {p.stem for p in cards_dir().glob("*.json")}
    assert set(cards) == bundled, r.stdout
    for name, (proto, chars, least, ratio) in cards.items():
        assert chars >= least, (name, "below the minimum: the minimum is wrong")
        assert ratio <= 1.05, (name, chars, least)
    assert cards["t1_card"][0] == 1 and cards["visa_dpa"][0] == 0


def test_minimum_of_the_default_card_by_hand():
    # T=0, every TPDU counted: SELECT 15 + GET RESPONSE 31 (23-byte FCI), GPO 10 + 16,
    # READ RECORD 7 (6C) + 30 and 7 + 83, GET DATA 12, VERIFY 16, GENERATE AC 37 + 28,
    # closing GENERATE AC 39 (its 61xx not fetched)
    assert minimum(load("visa_dpa")) == 46 + 26 + 37 + 90 + 12 + 16 + 65 + 39


def test_wire_at_the_pins_split():
    """The real-port bench's reading of the card's log (devtools/emubench.at_pins): a
    character every 12 etu is wire; what a side waits beyond that before speaking is the
    card's answer (after the reader's character) or the reader's turnaround (after the
    card's); the rate of the moment (PPS) gives the etu."""
    from sesame_tools.devtools.emubench import at_pins

    etu = 372 / 4e6 * 1e9
    log = [{"t": 0, "what": "inserted"}, {"t": 1, "what": "cold reset", "hz": 4e6}]
    t = 10e6
    for what, gap in (("tx", 0), ("tx", 12), ("rx", 40), ("rx", 12), ("tx", 16)):
        t += gap * etu
        log.append({"t": t, "what": what, "b": 0})
    log.append({"t": t + 1, "what": "rate", "f": 372, "d": 4})
    log.append({"t": t + 12 * etu / 4, "what": "rx", "b": 0})
    w = at_pins(log)
    assert w["chars"] == 6 and w["turns"] == 2  # card then reader: twice
    assert abs(w["turn_ms"] - 28 * etu / 1e6) < 1e-9
    assert abs(w["answer_ms"] - 4 * etu / 1e6) < 1e-9
    assert abs(w["chars_ms"] - (4 * 12 * etu + 12 * etu / 4) / 1e6) < 1e-9
    assert abs(w["span_ms"] - (80 * etu + 3 * etu) / 1e6) < 1e-9
