"""What a card profile may hold: one line per key (its type, range, hex length), checked
once when the profile loads (vcard/profile.py), before anything runs. A key that is not
in the table is an error too, so a misspelt key is never silently ignored. Adding a key
to the profiles is adding one line here.

check(doc) returns nothing or raises SchemaError naming the key (e.g. `link.null_bytes`)
and what it must be."""

from __future__ import annotations

import math
import re


class SchemaError(ValueError):
    pass


class Spec:
    required = False

    def __init__(self, required: bool = False):
        self.required = required

    def check(self, v, key: str) -> None:
        raise NotImplementedError

    def fail(self, key: str, v, what: str) -> None:
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
        raise SchemaError(f"{key}: {what}, not {shown}")


class Hex(Spec):
    """Hex text of lo..hi bytes (spaces allowed between bytes), `multiple` bytes a unit."""

    def __init__(self, lo: int, hi: int, multiple: int = 1, required: bool = False):
        super().__init__(required)
        self.lo, self.hi, self.multiple = lo, hi, multiple

    def check(self, v, key):
        what = f"hex of {self.lo}-{self.hi} bytes" if self.lo != self.hi else f"hex of {self.lo} bytes"
        if not isinstance(v, str) or len(v) > 3 * self.hi + 2 or not v.isascii():
            self.fail(key, v, what)
        try:
            n = len(bytes.fromhex(v))
        except ValueError:
            self.fail(key, v, what)
        if not self.lo <= n <= self.hi or n % self.multiple:
            self.fail(key, v, what + (f" (a multiple of {self.multiple})" if self.multiple > 1 else ""))


class Text(Spec):
    def __init__(self, most: int, least: int = 0, required: bool = False):
        super().__init__(required)
        self.most, self.least = most, least

    def check(self, v, key):
        if not isinstance(v, str) or not self.least <= len(v) <= self.most:
            self.fail(key, v, f"text of {self.least}-{self.most} characters")


class Digits(Spec):
    def __init__(self, lo: int, hi: int, required: bool = False):
        super().__init__(required)
        self.lo, self.hi = lo, hi

    def check(self, v, key):
        if not (isinstance(v, str) and v.isascii() and v.isdigit() and self.lo <= len(v) <= self.hi):
            self.fail(key, v, f"{self.lo}-{self.hi} digits" if self.lo != self.hi else f"{self.lo} digits")


class Int(Spec):
    def __init__(self, lo: int, hi: int, required: bool = False):
        super().__init__(required)
        self.lo, self.hi = lo, hi

    def check(self, v, key):
        if type(v) is not int or not self.lo <= v <= self.hi:
            self.fail(key, v, f"a whole number from {self.lo} to {self.hi}")


class Number(Int):
    def check(self, v, key):
        if type(v) not in (int, float) or not math.isfinite(v) or not self.lo <= v <= self.hi:
            self.fail(key, v, f"a number from {self.lo} to {self.hi}")


class Bool(Spec):
    def check(self, v, key):
        if type(v) is not bool:
            self.fail(key, v, "true or false")


class Choice(Spec):
    def __init__(self, *values, required: bool = False):
        super().__init__(required)
        self.values = values

    def check(self, v, key):
        if type(v) not in {type(x) for x in self.values} or v not in self.values:
            self.fail(key, v, "one of " + ", ".join(repr(x) for x in self.values))


class ListOf(Spec):
    def __init__(self, item: Spec, most: int, required: bool = False):
        super().__init__(required)
        self.item, self.most = item, most

    def check(self, v, key):
        if not isinstance(v, list) or len(v) > self.most:
            self.fail(key, v, f"a list of at most {self.most}")
        for i, x in enumerate(v):
            self.item.check(x, f"{key}[{i}]")


class MapOf(Spec):
    """An object whose keys pass `keys` (a Spec checking the key text) and values `item`."""

    def __init__(self, keys: Spec, item: Spec, most: int, required: bool = False):
        super().__init__(required)
        self.keys, self.item, self.most = keys, item, most

    def check(self, v, key):
        if not isinstance(v, dict) or len(v) > self.most:
            self.fail(key, v, f"an object of at most {self.most} entries")
        for k, x in v.items():
            self.keys.check(k, f"{key} key")
            self.item.check(x, f"{key}.{k}")


class Pattern(Spec):
    """Text matching a regular expression (`what` says it in words)."""

    def __init__(self, regex: str, what: str, most: int = 200, required: bool = False):
        super().__init__(required)
        self.regex, self.what, self.most = re.compile(regex), what, most

    def check(self, v, key):
        if not (isinstance(v, str) and len(v) <= self.most and self.regex.fullmatch(v)):
            self.fail(key, v, self.what)


class RecordKey(Spec):
    """"SFI.record": SFI 1-30, record 1-255 (EMV Book 3 10.2 AFL entries)."""

    def check(self, v, key):
        sfi, dot, rec = v.partition(".")
        if not (dot and sfi.isascii() and sfi.isdigit() and rec.isascii() and rec.isdigit()
                and 1 <= int(sfi) <= 30 and 1 <= int(rec) <= 255 and len(v) <= 7):
            self.fail(key, v, '"SFI.record" (SFI 1-30, record 1-255)')


class Table(Spec):
    """An object with the keys of `table` only."""

    def __init__(self, table: dict, required: bool = False):
        super().__init__(required)
        self.table = table

    def check(self, v, key=""):
        if not isinstance(v, dict):
            self.fail(key or "the profile", v, "a JSON object")
        dot = key + "." if key else ""
        for k in v:
            if k not in self.table:
                near = ", ".join(sorted(self.table))
                raise SchemaError(f"unknown key {dot}{k!r} (known: {near})")
        for k, spec in self.table.items():
            if k in v:
                spec.check(v[k], dot + k)
            elif spec.required:
                raise SchemaError(f"no {dot}{k} (required)")


COUNT = Int(0, 1_000_000)  # "the n-th character/block/command" of a fault; 0 = off
MS = Number(0, 60_000)

LINK = Table({  # vcard/server.py and vcard/faults.py
    "protocols": ListOf(Choice(0, 1), 2),
    "warm_atr": Hex(2, 33),
    "after_atr": Pattern(r"(TCK|tck|[0-9A-Fa-f]{2})( (TCK|tck|[0-9A-Fa-f]{2}))*",
                         "hex bytes or TCK, separated by spaces"),
    "crc": Bool(),
    "ifsd_max": Int(1, 254),
    "parity_char": COUNT, "reject_char": COUNT, "corrupt_edc": COUNT, "lose_block": COUNT,
    "always_corrupt": Bool(),
    "null_bytes": Int(0, 10_000), "null_delay_ms": MS, "null_on": COUNT,
    "wtx": Int(0, 255), "wtx_on": COUNT, "wtx_delay_ms": MS,
    "pps": Choice("", "refuse", "wrong"),
    "remove_after": COUNT, "bad_procedure": COUNT,
    "slow_bytes_ms": Number(0, 10_000),
})

DOL = Hex(0, 252)  # a data object list (tag, length pairs)
AID = Hex(5, 16)  # ISO 7816-4 8.2.1.2: RID (5) + PIX (up to 11)

PROFILE = Table({
    "name": Text(64, least=1),  # state file names are derived from it (profile.safe_name)
    "description": Text(1000),
    "atr": Hex(2, 33, required=True),  # ISO 7816-3 8.2.1: at most 33 characters
    "aid": Hex(5, 16, required=True),
    "label": Text(16),  # FCI 50: 1-16 characters (EMV Book 1 11.3.4)
    "pan": Digits(8, 19, required=True),
    "psn": Hex(0, 1),
    "expiry": Digits(6, 6),  # YYMMDD
    "issuer_mk": Hex(16, 16),  # one of issuer_mk, icc_mk (profile.load)
    "icc_mk": Hex(16, 16),
    "pin": Digits(4, 12, required=True),
    "pin_try_limit": Int(1, 15),  # 9F17 counts 0-15 (EMV Book 3 annex A)
    "atc": Int(0, 0xFFFF),
    "aip": Hex(2, 2),
    "afl": Hex(4, 252, multiple=4),
    "cvr": Hex(1, 32),
    "iad": Hex(1, 32, required=True),
    "ipb": Hex(1, 64),
    "iaf": Hex(1, 1),
    "cdol1": Hex(2, 252, required=True),
    "cdol2": DOL,
    "pdol": DOL,
    "genac_format": Choice(1, 2),
    "gpo_format": Choice(1, 2),
    "records": MapOf(RecordKey(), Hex(0, 254), 64),
    "pse": ListOf(AID, 16),
    "pse_sfi": Int(1, 30),
    "extra_aids": ListOf(AID, 16),
    "select_sw": MapOf(Hex(0, 16), Hex(2, 2), 16),
    "fci_issuer_data": Hex(0, 200),  # BF0C's value in the FCI (Belgian cards: 5F2C, DF07)
    "link": LINK,
})


def check(doc) -> None:
    PROFILE.check(doc)
    if "issuer_mk" not in doc and "icc_mk" not in doc:
        raise SchemaError("no issuer_mk or icc_mk (one is required)")
