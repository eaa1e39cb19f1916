"""Link layer on the host: `sesame atr` (JSON keys, person's view, stdin), and the sim
board's card line (MicroPython unix port) against the virtual card, counters included."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from sesame.iso7816.inverse import INVERSE
from sesame_tools.cli.atr import atr as atr_cmd
from sesame_tools.sim.board import ROOT, micropython_exe
from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.server import VirtualCard

KEYS = ["valid", "convention", "protocols", "Fi", "Di", "fmax_mhz", "N", "WI", "IFSC", "BWI",
        "CWI", "edc", "specific_mode", "historical", "tck", "errors", "card"]


def test_atr_json_keys_and_values():
    r = CliRunner().invoke(atr_cmd, ["--json", "3B808131FE458B", "3B6500002063CB6800"])
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.output.splitlines()]
    assert [list(d) for d in lines] == [KEYS, KEYS]
    t1, t0 = lines
    assert t1["protocols"] == [1] and t1["IFSC"] == 254 and (t1["BWI"], t1["CWI"]) == (4, 5)
    assert t1["tck"] == "ok" and t0["tck"] == "absent" and t0["historical"] == "2063CB6800"


def test_atr_inverse_read_in_direct_convention_and_stdin():
    # 3F 65 00 00 20 63 CB 68 00 as a direct-convention reader sees it
    inv = bytes(INVERSE[b] for b in bytes.fromhex("3F6500002063CB6800")).hex()
    assert inv.startswith("03")
    r = CliRunner().invoke(atr_cmd, ["--json"], input=inv + "\n3F65\n")
    lines = [json.loads(x) for x in r.output.splitlines()]
    assert lines[0]["valid"] and lines[0]["convention"] == "inverse", lines[0]
    assert not lines[1]["valid"] and "truncated" in lines[1]["errors"]
    assert r.exit_code == 1  # one ATR was malformed


def test_atr_human_output_and_malformed():
    r = CliRunner().invoke(atr_cmd, ["3B808131FE4500", "12"])
    assert "Direct Convention" in r.output and "bad TCK" in r.output
    assert "bad TS 12" in r.output and r.exit_code == 1


SCRIPT = r"""
import sys, json
sys.path.insert(0, "firmware")
sys.path.insert(0, "boards/sim")
from board import SimLine
from sesame.iso7816.session import open_session
line = SimLine(sys.argv[1])
line.insert()
a, t = open_session(line)
r = t.transmit(bytes.fromhex("00A4040007A000000003800200"))
c = line.counters
print(json.dumps({"proto": 1 if type(t).__name__ == "T1" else 0, "sw": r[-2:].hex(), "tx": c.tx, "rx": c.rx,
                  "etu": c.etu, "repeats": c.repeats, "resent": c.resent}))
line.deactivate()
"""


def run_line(tmp_path: Path, atr: str, link: dict, state_dir) -> dict:
    base = json.loads((profiles.cards_dir() / "visa_dpa.json").read_text())
    base.update(atr=atr, link=link)
    p = tmp_path / "card.json"
    p.write_text(json.dumps(base))
    vc = VirtualCard(profiles.load(p), tmp_path / "state.json")
    addr = vc.serve()
    try:
        script = tmp_path / "line.py"
        script.write_text(SCRIPT)
        r = subprocess.run([micropython_exe(), str(script), addr], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        vc.close()


def test_counters_t0(tmp_path):
    c = run_line(tmp_path, "3B6500002063CB6800", {}, None)
    assert c["proto"] == 0 and c["sw"] == "9000"
    # header 5 + AID 7 + GET RESPONSE 5 sent; ATR 9 + ACK + 61xx + C0 + data + SW received
    assert c["tx"] == 17 and c["rx"] > 9 + 4 and c["etu"] == 12 * (c["tx"] + c["rx"])
    assert c["repeats"] == 0 and c["resent"] == 0


def test_counters_count_repeats_and_retransmissions(tmp_path):
    c = run_line(tmp_path, "3B6500002063CB6800", {"parity_char": 2, "reject_char": 3}, None)
    assert c["sw"] == "9000" and c["repeats"] == 2, c
    t1 = "3B808131FE458B"
    c = run_line(tmp_path, t1, {"corrupt_edc": 2}, None)
    assert c["proto"] == 1 and c["sw"] == "9000" and c["resent"] == 1, c


def test_virtual_card_refuses_blocks_over_its_ifsc_and_counts_repeats():
    # what makes the tiny-IFSC and corrupt-EDC cases of tests/hil/test_linklayer.py able
    # to fail: a reader that did not chain, or did not ask again, is caught by the card
    from sesame.iso7816 import edc
    from sesame_tools.vcard.faults import Faults
    from sesame_tools.vcard.t1 import T1Card

    class Applet:
        def process(self, apdu):
            return b"", 0x9000

    f = Faults({})
    c = T1Card(Applet(), crc=False, ifsc=16, faults=f)
    out = b"".join(c.feed(b) for b in edc.block(0, 0x00, bytes(17), False))
    assert edc.decode(out, False) == (0, edc.r_pcb(0, 2), b"")  # R-block, "other error"
    assert f.fired == {"block over IFSC": 1}
    out = b"".join(c.feed(b) for b in edc.block(0, 0x00, bytes(16), False))
    assert edc.decode(out, False) == (0, 0x00, b"\x90\x00")
    again = b"".join(c.feed(b) for b in edc.block(0, edc.r_pcb(0, 1), b"", False))
    assert again == out and f.fired["repeat asked"] == 1
