"""`sesame atr`: analyse Answers-To-Reset (the firmware's own ATR codec, sesame.iso7816.atr)."""

from __future__ import annotations

import json
import sys

import click

from sesame.iso7816 import atr as _atr

PROTO = {0: "T=0 (character)", 1: "T=1 (block)", 15: "T=15 (global)"}


def analyse(a: _atr.Atr) -> dict:
    return {
        "valid": a.valid, "convention": a.convention, "protocols": list(a.protocols),
        "Fi": a.Fi, "Di": a.Di, "fmax_mhz": a.fmax_mhz, "N": a.N, "WI": a.WI,
        "IFSC": a.IFSC, "BWI": a.BWI, "CWI": a.CWI, "edc": a.edc,
        "specific_mode": a.specific_mode, "historical": bytes(a.historical).hex().upper(),
        "tck": a.tck, "errors": list(a.errors),
    }


def human(text: str, a: _atr.Atr) -> str:
    d = analyse(a)
    lines = [f"ATR: {' '.join(bytes(a.raw).hex().upper()[i:i + 2] for i in range(0, len(a.raw) * 2, 2))}"]
    if a.convention:
        lines.append(f"+ TS = {a.raw[0]:02X} --> {a.convention.capitalize()} Convention")
    lines.append(f"+ Fi = {a.Fi}, Di = {a.Di}, {a.Fi // max(a.Di, 1)} cycles/ETU, fMax {a.fmax_mhz} MHz")
    lines.append(f"+ Extra guard time N = {a.N}; T=0 WI = {a.WI}")
    lines.append("+ Protocols offered: " + (", ".join(PROTO.get(p, f"T={p}") for p in a.protocols)
                                            or "(none)"))
    if a.specific_mode:
        lines.append(f"+ Specific mode (TA2): T={a.specific_protocol}")
    if 1 in a.protocols:
        lines.append(f"+ T=1: IFSC {a.IFSC}, BWI {a.BWI}, CWI {a.CWI}, EDC {a.edc.upper()}")
    if a.class_indicator is not None:
        lines.append(f"+ Class indicator: {a.class_indicator:02X}")
    lines.append(f"+ Historical bytes: {d['historical'] or '(none)'}")
    lines.append(f"+ TCK: {a.tck}")
    lines.append("+ " + ("valid" if a.valid else "INVALID: " + ", ".join(a.errors)))
    return "\n".join(lines)


@click.command()
@click.argument("atrs", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def atr(atrs, as_json) -> None:
    """Analyse ATRs given as hex arguments, or one per line on standard input."""
    items = list(atrs) or [ln for ln in sys.stdin.read().splitlines() if ln.strip()]
    bad = False
    for text in items:
        try:
            raw = bytes.fromhex(text.replace(":", " "))
        except ValueError:
            raw = None
        a = _atr.Atr(raw if raw is not None else b"")
        if raw is None:
            a.errors.insert(0, "not hex")
        bad |= not a.valid
        if as_json:
            click.echo(json.dumps(analyse(a)))
        else:
            click.echo(human(text, a))
            click.echo("")
    sys.exit(1 if bad else 0)
