"""The bench's real-port figures: the firmware as `sesame flash --test-build` puts it on a
Pico, run by MicroPython v1.28.0's rp2 port on the emulated RP2040 (sesame_tools.emu), with
the card at its pins. Printed, for an Identify on a T=0 and a T=1 card:

- heap: gc.mem_free() at @ready (after boot) and its lowest point from OK to the code
  (sampled from gc's allocation table every 100 us of emulated time, js/profile.js);
- boot: power-on to the @ready line, in emulated ms;
- CPU: from OK to the code, the emulated time the core was not asleep (WFI/WFE), and the
  functions its cycles went to (every instruction counted, named by the .elf's symbols);
- wire: at the pins (the card's own log of each character, to about 1 etu), from the ATR's
  first character to the last one, split into the characters themselves, the card's answer
  delays (the emulated card answers 16 etu after the reader's last start bit, the fastest
  ISO 7816-3 allows) and the reader's turnarounds (its CPU between the card's last character
  and its own next one), against the figure the link layer computes on the unix port.

Emulated time is the Pico's: a Pico at 120 MHz takes as long, give or take the XIP cache
(not modelled: flash reads never wait), so these are lower bounds for a real board."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sesame_tools.boardio.testlink import LinkClient
from sesame_tools.emu import Emulator, firmware as parts
from sesame_tools.emu.symbols import Symbols, find_elf
from sesame_tools.vcard import profile as profiles

DONE = ("code", "message")


def flash_image(work: Path) -> Path:
    """A flash image holding MicroPython and the test build (`sesame flash`, as a maker)."""
    image = work / "pico.flash"
    sesame = str(Path(sys.executable).parent / "sesame")
    with Emulator(inserted=False, flash_file=image) as emu:
        r = subprocess.run([sesame, "flash", "--port", emu.port, "--board", "pico", "--test-build"],
                           capture_output=True, text=True, timeout=900)
    if r.returncode or "@ready" not in r.stdout:
        raise RuntimeError(f"sesame flash on the emulated Pico failed: {r.stdout}{r.stderr}")
    return image


def identify(image: Path, atr: str, symbols: Symbols, work: Path, pin: str = "1234") -> dict:
    """One Identify on the flashed emulated Pico with a visa_dpa card answering `atr`."""
    base = json.loads((profiles.cards_dir() / "visa_dpa.json").read_text())
    base.update(name=f"bench-{atr}", atr=atr, link={})
    card = work / f"emu-{atr}.json"
    card.write_text(json.dumps(base))
    flash = work / "run.flash"
    shutil.copyfile(image, flash)
    with Emulator(card=str(card), flash_file=flash, heap=symbols.heap_spec(),
                  watch=("@ready",)) as emu:
        ready = emu.seen("@ready", timeout=180)
        client = LinkClient(emu.port)
        try:
            client.sync(60)
            # a user types CODE and the PIN in more than the half second after power-on in
            # which a cold reset waits for VCC to have fallen (drivers/cardline._vcc_down)
            while emu.status()["nanos"] < ready["nanos"] + 1e9:
                time.sleep(0.1)
            for k in ("CODE", *pin):
                client.key(k)
            emu.profile_start(after="!key OK", until="@state code")
            client.key("OK", timeout=300)
            state = [e.arg for e in client.history if e.name == "state"][-1]
            rep = emu.profile_report()
            st = emu.status()
        finally:
            client.close()
    if state != "code":
        raise RuntimeError(f"the emulated Pico ended the Identify in {state!r}, not a code")
    return {"boot_ms": ready["chip_nanos"] / 1e6, "heap_boot": ready["heap_free"],
            "profile": rep, "wire": at_pins(st["log"])}


def at_pins(log: list[dict]) -> dict:
    """The last card session's characters as the card saw them: ms from the ATR's first
    character to the last one; of which characters (12 etu each, at the rate of the
    moment, on the clock the card measured at its cold reset), the card's answer delays
    and the reader's turnarounds (beyond 12 etu)."""
    start = max((i for i, e in enumerate(log) if e["what"] == "cold reset"), default=None)
    if start is None:
        raise RuntimeError("the card at the pins saw no cold reset")
    clock_hz = log[start]["hz"]
    f, d = 372, 1
    chars = []  # (t ns at the character's end, direction, etu ns)
    for e in log[start:]:
        if e["what"] == "rate":
            f, d = e["f"], e["d"]
        elif e["what"] in ("rx", "tx"):
            chars.append((e["t"], e["what"], f / d / clock_hz * 1e9))
    wire = turn = answer = 0.0
    for (t0, w0, _), (t1, w1, etu) in zip(chars, chars[1:]):
        wire += 12 * etu
        extra = max(0.0, t1 - t0 - 12 * etu)
        if w0 == "tx" and w1 == "rx":
            turn += extra  # the card (tx) spoke last: the reader's CPU until it sends
        elif w0 == "rx" and w1 == "tx":
            answer += extra
        else:
            wire += extra  # spacing inside one side's characters (guard time N, repeats)
    span = (chars[-1][0] - chars[0][0]) if chars else 0.0
    return {"chars": len(chars), "span_ms": span / 1e6, "chars_ms": wire / 1e6,
            "turn_ms": turn / 1e6, "answer_ms": answer / 1e6,
            "turns": sum(1 for a, b in zip(chars, chars[1:]) if a[1] == "tx" and b[1] == "rx")}


def report(work: Path, cases: dict[str, tuple[str, float]], top: int = 8) -> None:
    """cases: name -> (ATR, the link layer's wire ms for it on the unix port)."""
    try:
        uf2 = parts.find_uf2()
        symbols = Symbols(find_elf(uf2))
        parts.find_bootrom(uf2), parts.find_node(), parts.check_modules()
    except parts.MissingPart as e:
        print(f"real port: not measured: {e}")
        return
    print("real port: MicroPython v1.28.0 rp2 on the emulated Pico (120 MHz), the test build "
          "flashed by sesame flash (about 20 s), then one Identify per card")
    image = flash_image(work)
    rows = {name: identify(image, atr, symbols, work) for name, (atr, _) in cases.items()}
    print(f"  {'link':<5} {'boot ms':>8} {'heap@ready':>11} {'lowest':>8} {'OK->code ms':>12} "
          f"{'awake ms':>9}")
    for name, r in rows.items():
        p = r["profile"]
        print(f"  {name:<5} {r['boot_ms']:>8.0f} {r['heap_boot']:>11} {p['heap_min']:>8} "
              f"{p['span_ns'] / 1e6:>12.1f} {p['awake_ns'] / 1e6:>9.1f}")
    print("  (heap: bytes free, as gc.mem_free(), lowest of samples every 100 us; awake: the "
          "core not in WFI, which includes polling the line while the card works)")
    print("  wire at the pins (ms): ATR's first character to the last, the characters, the "
          "card's answers, the reader's turnarounds; the link layer's figure for the same")
    print(f"  {'link':<5} {'chars':>6} {'span':>7} {'chars':>7} {'answers':>8} "
          f"{'reader':>7} {'turns':>6} {'link layer':>11}")
    for name, r in rows.items():
        w = r["wire"]
        print(f"  {name:<5} {w['chars']:>6} {w['span_ms']:>7.1f} {w['chars_ms']:>7.1f} "
              f"{w['answer_ms']:>8.1f} {w['turn_ms']:>7.1f} {w['turns']:>6} "
              f"{cases[name][1]:>11.1f}")
    for name, r in rows.items():
        p = r["profile"]
        total = p["cycles"] or 1
        print(f"  where the CPU's cycles go, {name} ({p['cycles'] / 1e6:.1f} M cycles):")
        for fn, cyc in symbols.by_function(p["pcs"])[:top]:
            print(f"    {cyc / total:6.1%}  {'(no symbol)' if fn == '?' else fn}")
