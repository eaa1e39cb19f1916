"""`sesame atr`: analyse Answers-To-Reset as pcsc-tools' ATR_analysis does, over the
firmware's own ATR codec (sesame.iso7816.atr): every interface byte explained
(ISO/IEC 7816-3:2006 section 8.3), special and reserved values named, the historical
bytes decoded (ISO/IEC 7816-4 section 12.1.1), the TCK checked (also the one some cards
send after an ATR offering only T=0), a truncated ATR shown as far as it goes, and the
card's name from pcsc-tools' smartcard_list.txt when it is installed (sesame_tools.cli.
atrlist)."""

from __future__ import annotations

import json
import sys

import click

from sesame.iso7816 import atr as _atr
import sesame_tools.cli.atrlist as atrlist

PROTO = {0: "T=0 (character)", 1: "T=1 (block)", 15: "T=15 (global)"}
MAX_TEXT = 256  # characters of one ATR line: 33 bytes are 99 with separators
MAX_INPUT = 64 << 20  # standard input read at most (pcsc-tools' whole list is under 1 MB)
CLASSES = ((1, "A 5V"), (2, "B 3V"), (4, "C 1.8V"), (8, "D RFU"), (16, "E RFU"))
CLOCK_STOP = ("not supported", "state L", "state H", "no preference")


class Analysis(_atr.Atr):
    """The firmware's Atr, keeping every group of interface bytes it read (TA, TB, TC,
    TD of group i, after a TD naming protocol t); one byte after an ATR offering only
    T=0 is read as its TCK and checked like any TCK (real cards send one, though ISO/IEC
    7816-3 8.2.5 says it is absent; the reader itself reads only the bytes
    sesame.iso7816.atr.remaining() asks for)."""

    def __init__(self, raw: bytes):
        self.groups: list[tuple] = []
        super().__init__(raw)
        if "1 extra bytes" in self.errors and self.tck == "absent":  # T=0 only
            x = 0
            for b in self.raw[1:]:
                x ^= b
            self.tck = "bad" if x else "ok"
            i = self.errors.index("1 extra bytes")
            self.errors[i:i + 1] = ["bad TCK"] if x else []

    def _group(self, g, t, ta, tb, tc, td):
        self.groups.append((g, t, ta, tb, tc, td))
        super()._group(g, t, ta, tb, tc, td)


def _hex(b: bytes) -> str:
    return bytes(b).hex(" ").upper()


def _ta(g: int, t: int, v: int) -> str:
    if g == 1:
        fi, di, fm = _atr.FI[v >> 4], _atr.DI[v & 0x0F], _atr.FMAX[v >> 4]
        if not fi or not di:
            return (f"Fi = {fi or 'RFU'}, Di = {di or 'RFU'}: reserved for future use "
                    "(no rate can be derived; the reader refuses such an ATR)")
        return (f"Fi = {fi}, Di = {di}, {fi / di:g} cycles/ETU, {4e6 * di / fi:.0f} bits/s "
                f"at 4 MHz; fMax for Fi = {fm:g} MHz")
    if g == 2:
        how = "implicit rate" if v & 0x10 else "rate from TA1"
        change = "unable to change" if v & 0x80 else "capable to change"
        return f"specific mode: T={v & 0x0F} only, {change}, {how}"
    if t == 1:
        return f"IFSC: {v}" + (" (reserved: 1-254 allowed)" if v in (0, 255) else "")
    if t == 15:
        cls = " ".join(n for bit, n in CLASSES if v & bit) or "none"
        return f"clock stop: {CLOCK_STOP[v >> 6]}, classes accepted: {cls}"
    return f"specific to T={t}"


def _tb(g: int, t: int, v: int) -> str:
    if g in (1, 2):
        what = "VPP not connected" if g == 1 and v == 0 else f"programming parameter {v}"
        return f"{what} (TB{g} deprecated by ISO/IEC 7816-3:2006: ignored)"
    if t == 1:
        bwi, cwi = v >> 4, v & 0x0F
        return (f"BWI = {bwi}" + (" (reserved: 0-9 allowed)" if bwi > 9 else "")
                + f", CWI = {cwi}")
    if t == 15:
        return f"SPU: {'proprietary use' if v & 0x80 else 'standard use'} ({v:02X})"
    return f"specific to T={t}"


def _tc(g: int, t: int, v: int) -> str:
    if g == 1:
        if v == 255:
            return ("extra guard time N = 255: special value, the minimum character "
                    "spacing (12 etu for T=0, 11 etu for T=1)")
        return f"extra guard time N = {v} etu"
    if g == 2:
        if v == 0:
            return "T=0 waiting integer WI = 0: reserved (a work waiting time of 0)"
        return f"T=0 waiting integer WI = {v}: WWT = 960 x {v} x Fi/f"
    if t == 1:
        edc = "CRC" if v & 1 else "LRC"
        return f"error detection code: {edc}" + (" (b8-b2 reserved, not 0)" if v & 0xFE else "")
    return f"specific to T={t}"


def _interface(a: Analysis) -> list[str]:
    out = []
    for g, t, ta, tb, tc, td in a.groups:
        if g > 1:
            out.append("  -----")
        for name, v, explain in (("TA", ta, _ta), ("TB", tb, _tb), ("TC", tc, _tc)):
            if v is not None:
                out.append(f"  {name}({g}) = {v:02X} --> {explain(g, t, v)}")
        if td is not None:
            more = " - global interface bytes follow" if td & 0x0F == 15 else ""
            out.append(f"  TD({g}) = {td:02X} --> Y({g + 1}) = {td >> 4:04b}, "
                       f"protocol T = {td & 0x0F}{more}")
    return out


COMPACT = {1: "country code", 2: "issuer identification number", 3: "card service data",
           4: "initial access data", 5: "card issuer's data", 6: "pre-issuing data",
           7: "card capabilities", 8: "status indicator", 0xF: "application identifier"}


def _historical(h: bytes) -> list[str]:
    if not h:
        return []
    cat = h[0]
    if cat in (0x00, 0x80):
        out = [f"  Category indicator byte: {cat:02X} (compact-TLV data objects"
               + (", then a status indicator" if cat == 0 else "") + ")"]
        body, status = (h[1:-3], h[-3:]) if cat == 0 and len(h) >= 4 else (h[1:], b"")
        i = 0
        while i < len(body):
            tag, n = body[i] >> 4, body[i] & 0x0F
            val = body[i + 1:i + 1 + n]
            cut = " (truncated)" if len(val) < n else ""
            out.append(f"    Tag {tag:X}, len {n} ({COMPACT.get(tag, 'unknown')}): "
                       f"{_hex(val)}{cut}")
            i += 1 + n
        if status:
            out.append(f"    Status indicator: LCS {status[0]:02X}, SW {status[1]:02X}"
                       f"{status[2]:02X}")
        elif cat == 0:
            out.append("    Status indicator missing: 3 bytes expected at the end")
        return out
    if cat == 0x10:
        ref = f": {h[1]:02X}" if len(h) > 1 else " (missing)"
        return [f"  Category indicator byte: 10 (DIR data reference{ref})"]
    if 0x81 <= cat <= 0x8F:
        return [f"  Category indicator byte: {cat:02X} (reserved for future use)"]
    return [f"  Category indicator byte: {cat:02X} (proprietary format)"]


def _tck(a: Analysis) -> str | None:
    if a.tck == "absent":
        return None
    i = 2 + sum(v is not None for grp in a.groups for v in grp[2:]) + len(a.historical)
    x = 0
    for b in a.raw[1:i]:
        x ^= b
    only_t0 = " (after an ATR offering only T=0: optional)" if a.protocols == [0] else ""
    if a.tck == "ok":
        return f"{a.raw[i]:02X} (correct checksum){only_t0}"
    return f"{a.raw[i]:02X} WRONG CHECKSUM, expected {x:02X}{only_t0}"


def analyse(a: Analysis, names: list[str] | None = None) -> dict:
    return {
        "valid": a.valid, "convention": a.convention, "protocols": list(a.protocols),
        "Fi": a.Fi, "Di": a.Di, "fmax_mhz": a.fmax_mhz, "N": a.N, "WI": a.WI,
        "IFSC": a.IFSC, "BWI": a.BWI, "CWI": a.CWI, "edc": a.edc,
        "specific_mode": a.specific_mode, "historical": bytes(a.historical).hex().upper(),
        "tck": a.tck, "errors": list(a.errors), "card": list(names or []),
    }


def human(a: Analysis, lookup: atrlist.CardList | None) -> str:
    raw = a.raw
    lines = [f"ATR: {_hex(raw)}"]
    if raw:
        lines.append(f"+ TS = {raw[0]:02X} --> "
                     + (f"{a.convention.capitalize()} Convention" if a.convention else "UNDEFINED"))
    if len(raw) > 1 and a.convention:
        lines.append(f"+ T0 = {raw[1]:02X}, Y(1): {raw[1] >> 4:04b}, K: {raw[1] & 0x0F} "
                     "(historical bytes)")
        lines += _interface(a)
        k, got = raw[1] & 0x0F, len(a.historical)
        lines.append(f"+ Historical bytes: {_hex(a.historical) or '(none)'}"
                     + (f" (truncated: {k - got} of {k} missing)" if got < k else ""))
        lines += _historical(bytes(a.historical))
        tck = _tck(a)
        if tck:
            lines.append(f"+ TCK = {tck}")
        lines.append(f"+ Fi = {a.Fi or 'RFU'}, Di = {a.Di or 'RFU'}; extra guard time N = {a.N}; "
                     f"T=0 WI = {a.WI}")
        lines.append("+ Protocols offered: " + ", ".join(PROTO.get(p, f"T={p}")
                                                        for p in a.protocols))
        if a.specific_mode:
            lines.append(f"+ Specific mode (TA2): T={a.specific_protocol}")
        if 1 in a.protocols:
            lines.append(f"+ T=1: IFSC {a.IFSC}, BWI {a.BWI}, CWI {a.CWI}, EDC {a.edc.upper()}")
    if "truncated" in a.errors and a.convention:
        more = _atr.remaining(raw, len(raw)) if len(raw) <= _atr.MAX_LEN else 0
        lines.append(f"+ ERROR: truncated ATR: at least {max(more, 1)} more byte(s) expected")
    lines.append("+ " + ("valid" if a.valid else "INVALID: " + ", ".join(a.errors)))
    if lookup is None:
        lines.append(f"(no card list: {atrlist.INSTALL_HINT})")
    elif raw:
        lines.append(f"Possibly identified card (using {lookup.path}):")
        found = lookup.match(raw)
        for pattern, descr in found:
            lines.append(pattern)
            lines += ["\t" + d for d in descr]
        if not found:
            lines.append("\tNONE")
    return "\n".join(lines)


def parse_text(text: str) -> tuple[bytes, str | None]:
    """(ATR bytes, None) or (b"", why not): hex, with spaces or colons between bytes."""
    if len(text) > MAX_TEXT:
        return b"", f"longer than any ATR ({len(text)} characters; at most 33 bytes)"
    try:
        return bytes.fromhex(text.replace(":", " ")), None
    except ValueError:
        return b"", "not hex"


@click.command()
@click.argument("atrs", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--list", "list_path", type=click.Path(dir_okay=False),
              help="The card list to name cards from (default: pcsc-tools' "
                   "smartcard_list.txt where ATR_analysis finds it).")
def atr(atrs, as_json, list_path) -> None:
    """Analyse ATRs given as hex arguments, or one per line on standard input, like
    pcsc-tools' ATR_analysis: each interface byte explained, the historical bytes, the
    TCK checked, and the card's name from pcsc-tools' smartcard_list.txt. Exit status 1
    when one was malformed."""
    try:
        lookup = atrlist.CardList.load(list_path)
    except atrlist.ListError as e:
        raise click.ClickException(str(e))
    items = list(atrs) or _stdin_lines()
    bad = False
    for text in items:
        raw, why = parse_text(text)
        a = Analysis(raw)
        if why:
            a.errors.insert(0, why)
        bad |= not a.valid
        if as_json:
            names = [d for _, ds in lookup.match(raw) for d in ds] if lookup and raw else []
            click.echo(json.dumps(analyse(a, names)))
        else:
            click.echo(human(a, lookup))
            click.echo("")
    sys.exit(1 if bad else 0)


def _stdin_lines():
    """The non-blank lines of standard input, read in pieces: at most MAX_TEXT + 1
    characters of a line are kept (enough to refuse it), at most MAX_INPUT bytes read in
    all (/dev/zero ends); bytes that are not UTF-8 show as U+FFFD and fail as "not hex"."""
    f = sys.stdin.buffer
    total = 0
    while total < MAX_INPUT:
        line = f.readline(MAX_TEXT + 1)
        if not line:
            return
        total += len(line)
        if not line.endswith(b"\n") and len(line) > MAX_TEXT:  # skip the rest of it
            while total < MAX_INPUT:
                more = f.readline(1 << 16)
                total += len(more)
                if not more or more.endswith(b"\n"):
                    break
        text = line.decode("utf-8", "replace").strip()
        if text:
            yield text
    raise click.ClickException(f"standard input is over {MAX_INPUT >> 20} MB: stopped")
