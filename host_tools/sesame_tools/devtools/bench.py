"""Benchmarks that print figures (`make bench`; a short run is in `make test`).

1. Wire: one Identify transaction, the firmware's session, transport and CAP engine on the
   MicroPython unix port over the simulated board's card line against the virtual card,
   for T=0 and T=1 at the default rate and after PPS. Printed: characters each way, etu,
   retransmissions and the wire time these take on a real line with a 4 MHz card clock
   (ATR and PPS at F 372 D 1, the rest at the negotiated F/D). The simulated line has no
   clock, so the wire time is computed from the counters, not measured.
   Then every bundled card: the characters of its Identify (after the ATR, PPS and
   S(IFS)) against the minimum for the same card, and their ratio. The minimum
   (sesame_tools.devtools.minimum) is the exchanges a CAP Identify cannot do without
   (the SELECTs a correct reader must try in the preference order up to the card's
   application, GET PROCESSING OPTIONS, the READ RECORDs up to the last one holding a
   tag the code needs, VERIFY, the first GENERATE AC) plus GET DATA 9F17 and the
   closing GENERATE AC that real readers keep, each in its cheapest correct form (T=0:
   no 6Cxx round for a length known in advance, no GET RESPONSE for an unused answer).
2. Boot: what main.py's imports cost on the unix port, from the .mpy files the simulated
   board boots (as `sesame flash` puts them on a board): the heap the loaded modules keep
   (gc.mem_alloc() after a collection) and the time to load them (median of 15 runs).
3. Heap: the smallest MicroPython heap (unix port, 64-bit: objects about twice their
   size on the 32-bit boards) in which `sesame sim --keys "CODE <pin> OK"` still gives a
   code, for a T=0 and a T=1 card, found by bisection in steps of 2 KB.
4. The real port (sesame_tools.devtools.emubench): heap, boot, CPU and wire at the pins of
   the rp2 port on the emulated Pico, beside the unix-port figures above.

    python -m sesame_tools.devtools.bench [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sesame.iso7816.atr import Atr
from sesame_tools.boardio.mpybuild import compile_mpy
from sesame_tools.devtools import emubench
from sesame_tools.devtools.minimum import minimum
from sesame_tools.firmware import ROOT, board_files
from sesame_tools.sim.board import micropython_exe
from sesame_tools.vcard.profile import with_tck
from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.server import VirtualCard

CLOCK_HZ = 4_000_000


# name -> (ATR, what it shows)
CASES = {
    "T=0": ("3B6500002063CB6800", "F 372 D 1"),
    "T=0 + PPS": ("3B1596" + "2063CB6800", "TA1 96: F 512 D 32"),
    "T=1": (with_tck("3B808131FE45"), "IFSC 254, LRC"),
    "T=1 + PPS": (with_tck("3B9096" + "8131FE45"), "TA1 96: F 512 D 32"),
}

SCRIPT = r"""
import sys, json, time
sys.path.insert(0, "firmware")
sys.path.insert(0, "boards/sim")
from board import SimLine
from sesame.iso7816.session import open_session
from sesame.emv.cap import Cap
line = SimLine(sys.argv[1])
line.insert()
t0 = time.ticks_ms()
a, t = open_session(line)
c = line.counters
setup = (c.tx, c.rx, c.etu)
c.clear()
pin = bytearray(12)
for i, d in enumerate(sys.argv[2]):
    pin[i] = ord(d) - 48
r = Cap(t).run(pin, len(sys.argv[2]), "identify")
ms = time.ticks_diff(time.ticks_ms(), t0)
print(json.dumps({"proto": t.PROTOCOL, "code": r.code, "setup": setup, "tx": c.tx, "rx": c.rx,
                  "etu": c.etu, "repeats": c.repeats, "resent": c.resent, "host_ms": ms}))
line.deactivate()
"""


def run_identify(base: dict, work: Path) -> dict:
    """One Identify on the unix port against the virtual card personalised by `base`:
    the counters of the session's setup and of the transaction."""
    card = work / f"bench-{len(list(work.iterdir()))}.json"
    card.write_text(json.dumps(base))
    vc = VirtualCard(profiles.load(card), work / (card.stem + ".state.json"))
    addr = vc.serve()
    try:
        script = work / "bench_line.py"
        script.write_text(SCRIPT)
        r = subprocess.run([micropython_exe(), str(script), addr, base["pin"]], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        if r.returncode:
            raise RuntimeError(f"{base.get('name')}: {r.stdout}{r.stderr}")
        return json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        vc.close()


def wire(name: str, work: Path) -> dict:
    atr, _ = CASES[name]
    base = json.loads((profiles.cards_dir() / "visa_dpa.json").read_text())
    base.update(atr=atr, link={})
    out = run_identify(base, work)
    a = Atr(bytes.fromhex(atr))
    negotiated = (a.Fi, a.Di) if "PPS" in name else (372, 1)
    us = out["setup"][2] * 372 / CLOCK_HZ * 1e6 + out["etu"] * negotiated[0] / negotiated[1] / CLOCK_HZ * 1e6
    out.update(name=name, rate=negotiated, wire_ms=us / 1000)
    return out


BOOT = r"""
import gc, time, sys
gc.collect()
a0 = gc.mem_alloc()
t0 = time.ticks_us()
gc.threshold(2048)  # as main.py
import board
from sesame.reader.loop import Reader
t1 = time.ticks_us()
gc.collect()
print(gc.mem_alloc() - a0, time.ticks_diff(t1, t0), len(sys.modules))
"""


def against_minimum(work: Path) -> list[tuple[str, int, int, int]]:
    """(card, protocol, characters of the transaction, the minimum's) for every bundled
    profile: the transaction after the ATR, PPS and S(IFS), as the minimum counts."""
    rows = []
    for path in sorted(profiles.cards_dir().glob("*.json")):
        base = json.loads(path.read_text())
        out = run_identify(base, work)
        rows.append((path.stem, out["proto"], out["tx"] + out["rx"],
                     minimum(profiles.load(path))))
    return rows


def boot(work: Path, runs: int = 15) -> tuple[int, float, int]:
    """(heap bytes the boot modules keep, median ms to load them, modules loaded)."""
    d = work / "boot"
    for dest, src in board_files("sim").items():
        if dest.endswith(".mpy"):
            (d / dest).parent.mkdir(parents=True, exist_ok=True)
            (d / dest).write_bytes(compile_mpy(src, dest[:-4] + ".py", None))
    (d / "bench_boot.py").write_text(BOOT)
    res = []
    for _ in range(runs):
        r = subprocess.run([micropython_exe(), "-X", "heapsize=256K", "bench_boot.py"], cwd=d,
                           capture_output=True, text=True, timeout=60)
        if r.returncode:
            raise RuntimeError(f"boot: {r.stdout}{r.stderr}")
        res.append(tuple(int(x) for x in r.stdout.split()))
    res.sort(key=lambda x: x[1])
    return res[0][0], res[len(res) // 2][1] / 1000, res[0][2]


def min_heap(card: str, pin: str, lo: int = 32, hi: int = 128) -> int | None:
    """Smallest heap in KB (even) in which the simulated reader gives a code."""
    sesame = str(Path(sys.executable).parent / "sesame")

    def works(kb: int) -> bool:
        r = subprocess.run([sesame, "sim", "--card", card, "--heap", f"{kb}K", "--timeout", "30",
                            "--keys", f"CODE {' '.join(pin)} OK"], capture_output=True, text=True,
                           timeout=90)
        return r.returncode == 0

    if not works(hi):
        return None
    while hi - lo > 2:
        mid = (lo + hi) // 4 * 2
        if works(mid):
            hi = mid
        else:
            lo = mid
    return hi


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        os.environ["SESAME_STATE_DIR"] = str(work)
        print(f"wire: one Identify transaction (card clock {CLOCK_HZ / 1e6:g} MHz)")
        print(f"  {'link':<10} {'F/D':>8} {'sent':>5} {'recv':>5} {'etu':>6} {'resent':>6} "
              f"{'wire ms':>8} {'host ms':>8}")
        link_ms = {}
        for name in (["T=0", "T=1"] if quick else CASES):
            w = wire(name, work)
            link_ms[name] = w["wire_ms"]
            f, dd = w["rate"]
            print(f"  {name:<10} {f'{f}/{dd}':>8} {w['tx'] + w['setup'][0]:>5} "
                  f"{w['rx'] + w['setup'][1]:>5} {w['etu'] + w['setup'][2]:>6} "
                  f"{w['resent']:>6} {w['wire_ms']:>8.1f} {w['host_ms']:>8}")
        print("characters of an Identify against the minimum a correct reader needs "
              "(sesame_tools.devtools.minimum), default rate")
        print(f"  {'card':<11} {'T':>2} {'chars':>6} {'minimum':>8} {'ratio':>6} {'wire ms':>8}")
        for card, proto, chars, least in against_minimum(work):
            print(f"  {card:<11} {proto:>2} {chars:>6} {least:>8} {chars / least:>6.3f} "
                  f"{chars * 12 * 372 / CLOCK_HZ * 1000:>8.1f}")
        heap, ms, mods = boot(work, 5 if quick else 15)
        print(f"boot: {mods} modules loaded, {heap} bytes of heap kept, {ms:.2f} ms to load "
              "(unix port, 64-bit, .mpy)")
        if quick:
            return 0
        print("heap: smallest MicroPython heap giving a code (unix port, 64-bit)")
        for card, pin in (("visa_dpa", "1234"), ("t1_card", "1234")):
            kb = min_heap(card, pin)
            print(f"  {card:<10} {'over 128' if kb is None else kb} KB")
        emubench.report(work, {n: (CASES[n][0], link_ms[n]) for n in ("T=0", "T=1")})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
