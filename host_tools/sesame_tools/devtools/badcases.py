"""The bad inputs `sesame_tools.devtools.badinputs` throws at every command: damaged card
profiles, traces and state files, special files (a FIFO, /dev/zero, a directory), huge and
deeply nested JSON, options out of range, odd ports and keys. all_cases() writes the files
the cases name into a work folder and returns the cases."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

@dataclass
class Case:
    command: str  # the subcommand: counts are kept per command
    args: list[str]
    what: str  # what is wrong with it, for the report
    stdin: str = "/dev/null"  # a path opened as standard input
    state: dict = field(default_factory=dict)  # state file name -> bytes, in a fresh state dir
    timeout: float = 20.0
    env: dict = field(default_factory=dict)  # environment variables set for the run
    until: str | None = None  # serves: stopped (SIGTERM) once this is on its stdout


# -- what the cases are made of ------------------------------------------------------


def _good_profile() -> dict:
    from sesame_tools.vcard import profile as profiles

    return json.loads((profiles.cards_dir() / "visa_dpa.json").read_text())


def bad_profiles(good: dict) -> list[tuple[str, bytes]]:
    """(what, file content) of damaged card profiles."""
    out: list[tuple[str, bytes]] = [
        ("empty file", b""), ("a list", b"[]"), ("a number", b"1"), ("null", b"null"),
        ("a string", b'"visa"'), ("truncated JSON", json.dumps(good).encode()[:40]),
        ("not UTF-8", b"\xff\xfe\x00{"), ("an empty object", b"{}"),
        ("100 000-deep nesting", b"[" * 100_000 + b"]" * 100_000),
        ("deep nesting in a key", json.dumps({**good, "link": None}).encode().replace(
            b'"link": null', b'"link": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000)),
        ("NaN ATC", json.dumps({**good, "atc": float("nan")}).encode()),
        ("a 30 MB label", json.dumps({**good, "label": "L" * 30_000_000}).encode()),
    ]
    for key in list(good):
        d = dict(good)
        del d[key]
        out.append((f"no {key}", json.dumps(d).encode()))
    wrong = [None, 12, "ZZ", [1], {"a": 1}, True, -1, "0" * 10_001, "é"]
    for key in good:
        if key in ("description",):
            continue
        for v in wrong:
            if v == good[key]:
                continue
            out.append((f"{key} = {str(v)[:12]!r}", json.dumps({**good, key: v}).encode()))
    extra = {
        "name": ["../escaped", "a/b", "", ".", "..", "/etc/x", "café", "nul\x00", "x" * 300],
        "pin_try_limit": [-3, 0, 16, 10 ** 30, 2.5],
        "atc": [-1, 0x10000, 10 ** 30, 1.5],
        "atr": ["3B", "3B" + "00" * 40, "3F"],
        "pin": ["12", "1" * 13, "12a4", "١٢٣٤"],
        "pan": ["", "12", "1" * 20, "4970x"],
        "psn": ["", "1", "123", "ZZ"],
        "records": [[], {"x": "00"}, {"1.1": 5}, {"99999.1": "00"}, {"1.1.1": "00"},
                    {"0.1": "00"}, {"1.1": "ZZ"}],
        "link": [[], {"protocols": "x"}, {"protocols": [7]}, {"null_bytes": -1},
                 {"null_delay_ms": 1e12}, {"wtx": "x"}, {"frobnicate": 1}, {"pps": 3},
                 {"warm_atr": "ZZ"}, {"remove_after": 1e300}],
        "pse": ["A000", ["ZZ"], [5]],
        "select_sw": [[], {"00": "ZZ"}, {"ZZ": "9000"}, {"00": 5}],
        "extra_aids": ["A000", ["ZZ"]],
        "genac_format": [0, 3, "1"],
        "gpo_format": [0, 9],
        "pse_sfi": [0, 31, 99],
        "cdol1": ["9F02", "9F02FF" * 200, ""],
        "frobnicate": [1],
    }
    for key, values in extra.items():
        for v in values:
            out.append((f"{key} = {str(v)[:16]!r}", json.dumps({**good, key: v}).encode()))
    return out


def bad_traces() -> list[tuple[str, bytes]]:
    ok = {"atr": "3B6500002063CB6800", "protocol": 0,
          "exchanges": [{"c": "00A404000E315041592E5359532E4444463031", "r": "6A82"}]}

    def t(**kw) -> bytes:
        return json.dumps({**ok, **kw}).encode()

    return [
        ("empty", b""), ("a list", b"[]"), ("null", b"null"), ("not UTF-8", b"\xff\xfe{"),
        ("truncated", t()[:30]), ("an empty object", b"{}"),
        ("100 000-deep nesting", b"[" * 100_000 + b"]" * 100_000),
        ("deep nesting in exchanges", t(exchanges=None).replace(
            b"null", b"[" * 50_000 + b"]" * 50_000)),
        ("exchanges a number", t(exchanges=5)), ("exchanges of numbers", t(exchanges=[1, 2])),
        ("response 6?82", t(exchanges=[{"c": "00A4040000", "r": "6?82"}])),
        ("response ZZ", t(exchanges=[{"c": "00A4040000", "r": "ZZ9000"}])),
        ("odd hex", t(exchanges=[{"c": "00A404000", "r": "9000"}])),
        ("command a number", t(exchanges=[{"c": 5, "r": "9000"}])),
        ("response a list", t(exchanges=[{"c": "00A4040000", "r": [1]}])),
        ("protocol true", t(protocol=True)), ("protocol 1.0", t(protocol=1.0)),
        ("protocol 2", t(protocol=2)), ("protocol a string", t(protocol="0")),
        ("atr a number", t(atr=5)), ("atr ZZ", t(atr="ZZ")), ("atr a list", t(atr=[1])),
        ("atr 1000 bytes", t(atr="3B" * 1000)),
        ("non-ASCII hex", t(exchanges=[{"c": "００A4040000", "r": "9000"}])),
        ("a card profile", json.dumps(_good_profile()).encode()),
        ("100 000 exchanges", t(exchanges=[{"c": "80CA9F1700", "r": "9000"}] * 100_000)),
        ("a 300-byte response", t(exchanges=[{"c": "00A4040000", "r": "00" * 300 + "9000"}])),
        ("NaN", b'{"atr": NaN, "protocol": 0, "exchanges": []}'),
        ("a 40 MB file", b" " * 40_000_000 + t()),
    ]


def bad_states() -> list[tuple[str, bytes]]:
    return [
        ("empty", b""), ("truncated", b'{"atc": 1'), ("a list", b"[]"), ("null", b"null"),
        ("not UTF-8", b"\xff\xfe"), ("atc a string", b'{"atc": "x", "pin_tries": 3}'),
        ("pin_tries a list", b'{"atc": 1, "pin_tries": [3]}'),
        ("negative", b'{"atc": -5, "pin_tries": -1}'), ("huge", b'{"atc": 1e400}'),
        ("used a number", b'{"last_atc": 1, "used": 5}'),
        ("used of numbers", b'{"last_atc": 1, "used": [1, 2]}'),
        ("last_atc a string", b'{"last_atc": "one", "used": []}'),
        ("accepted a dict", b'{"last_atc": 1, "accepted": {"a": 1}}'),
        ("deep", b"[" * 100_000 + b"]" * 100_000),
    ]


# -- the cases (a --serve case must be refused: one that starts runs for ever) -----


def all_cases(work: Path) -> list[Case]:
    """Every case; files they name are written under `work`."""
    work.mkdir(parents=True, exist_ok=True)
    good = _good_profile()
    fifo = work / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    regular = work / "regular.txt"
    regular.write_text("not a port\n")
    (work / "a-dir").mkdir(exist_ok=True)
    special = [("a FIFO", str(fifo)), ("/dev/zero", "/dev/zero"), ("a directory", str(work / "a-dir")),
               ("/dev/null", "/dev/null"), ("missing", str(work / "missing.json"))]
    cases: list[Case] = []

    def file_for(kind: str, i: int, content: bytes) -> str:
        p = work / f"{kind}-{i}.json"
        if not p.exists() or p.stat().st_size != len(content):
            p.write_bytes(content)
        return str(p)

    # profiles: card, verify and sim must all refuse them cleanly (or accept them)
    for i, (what, content) in enumerate(bad_profiles(good)):
        f = file_for("profile", i, content)
        cases.append(Case("card", ["card", "--card", f], f"profile: {what}"))
        cases.append(Case("verify", ["verify", "--card", f, "12345678"], f"profile: {what}"))
        cases.append(Case("sim", ["sim", "--card", f, "--keys", "CODE 1 2 3 4 OK",
                                  "--timeout", "8"], f"profile: {what}"))
    for what, path in special:
        for cmd, extra in (("card", []), ("verify", ["12345678"]), ("sim", ["--keys", "CODE"])):
            cases.append(Case(cmd, [cmd, "--card", path] + extra, f"profile: {what}"))

    # damaged state files (card and issuer)
    for what, content in bad_states():
        for cmd, args, name in (("card", ["card"], "visa-dpa.card.json"),
                                ("card", ["card", "--reset"], "visa-dpa.card.json"),
                                ("verify", ["verify", "12345678"], "visa-dpa.issuer.json"),
                                ("verify", ["verify", "12345678"], "visa-dpa.card.json"),
                                ("sim", ["sim", "--keys", "CODE 1 2 3 4 OK", "--timeout", "8"],
                                 "visa-dpa.card.json")):
            cases.append(Case(cmd, args, f"state {name}: {what}", state={name: content}))
    for cmd, args in (("card", ["card", "--reset"]), ("verify", ["verify", "12345678"])):
        cases.append(Case(cmd, args, "state: a directory where the file goes",
                          state={"visa-dpa.card.json/": b"", "visa-dpa.issuer.json/": b""}))
        cases.append(Case(cmd, args, "state: leftovers of a killed run",
                          state={"visa-dpa.card.json.abc.tmp": b"{", "x.tmp": b""}))

    # traces
    for i, (what, content) in enumerate(bad_traces()):
        f = file_for("trace", i, content)
        cases.append(Case("replay", ["replay", f], f"trace: {what}"))
    for what, path in special:
        cases.append(Case("replay", ["replay", path], f"trace: {what}"))
    tr = file_for("trace", 999, json.dumps({"atr": "3B00", "protocol": 0, "exchanges": []}).encode())
    for opts in (["--mode", "respond"], ["--mode", "respond", "--challenge", "١٢٣٤"],
                 ["--mode", "sign", "--amount", "nan"], ["--mode", "sign", "--amount", "1e5"],
                 ["--mode", "sign", "--amount", "..", "--ref", "1"],
                 ["--mode", "sign", "--amount", "-1", "--ref", "1"],
                 ["--mode", "sign", "--data", ""], ["--mode", "sign", "--data", "1" * 11],
                 ["--mode", "sign", "--data", ",".join(["1"] * 11)], ["--mode", "nope"],
                 ["--json", "--mode", "identify", "--challenge", "1"], ["1", "2"], []):
        cases.append(Case("replay", ["replay", tr] + opts, f"replay options {opts}"))
    cases.append(Case("replay", ["replay"], "no trace"))

    # verify: codes and options
    for code in ("", "abc", "١٢٣٤٥٦٧٨", "1" * 10_000, "-12345678", "+12345678", "1234 5678 9",
                 "1234\t5678", "½2345678", "12345678\x7f", "０１２３４５６７"):
        cases.append(Case("verify", ["verify", code], f"code {code[:12]!r}"))
    for opts in (["--window", "0"], ["--window", "-1"], ["--window", "70000"], ["--window", "x"],
                 ["--mode", "respond"], ["--mode", "respond", "--challenge", "123456789"],
                 ["--mode", "respond", "--challenge", "١٢"], ["--mode", "sign", "--amount", "1,2,3"],
                 ["--mode", "sign", "--amount", "٣"], ["--mode", "sign", "--data", "a"],
                 ["--mode", "identify", "--amount", "1"], ["--card", ""], ["--card", "é"],
                 ["--card", "../../etc/passwd"], ["--card", "x" * 5000]):
        cases.append(Case("verify", ["verify"] + opts + ["12345678"], f"verify {opts}"))

    # atr
    for arg in ("ZZ", "", " ", "3B" * 1000, "٣B", "3B:", "3B 6", "3b6500002063cb6800" * 3,
                "0x3B", "3F" + "FF" * 40, "-3B"):
        cases.append(Case("atr", ["atr", arg], f"atr {arg[:12]!r}"))
        cases.append(Case("atr", ["atr", "--json", arg], f"atr --json {arg[:12]!r}"))
    for what, content in (("a 1 MB line", b"3B" * 500_000), ("binary", bytes(range(256)) * 40),
                          ("5 000 lines", b"3B00\n" * 5_000), ("not UTF-8", b"\xff\xfe3B\n"),
                          ("a 200 kB line", b"3B" * 100_000 + b"\n3B00\n")):
        f = file_for("atr-stdin", len(cases), content)
        cases.append(Case("atr", ["atr"], f"atr stdin: {what}", stdin=f))
    cases.append(Case("atr", ["atr"], "atr stdin: /dev/zero", stdin="/dev/zero"))
    for what, path in special + [("binary", file_for("atr-list", 0, bytes(range(256)) * 64))]:
        cases.append(Case("atr", ["atr", "--list", path, "3B00"], f"atr --list: {what}"))
    cases.append(Case("atr", ["atr", "--json"], "atr stdin: /dev/zero", stdin="/dev/zero"))

    # sim options
    for opts in (["--auto-off", "nan"], ["--auto-off", "inf"], ["--auto-off", "-1"],
                 ["--auto-off", "0"], ["--auto-off", "1e300"], ["--auto-off", "abc"],
                 ["--auto-off", "0x10"], ["--heap", "64"], ["--heap", "1T"],
                 ["--heap", "abc"], ["--heap", "0"], ["--heap", "-1"], ["--heap", "1"],
                 ["--heap", "99999999999G"], ["--heap", "64K x"], ["--heap", ""],
                 ["--timeout", "nan"], ["--timeout", "-1"], ["--timeout", "inf"],
                 ["--flash", "/proc/nope/x"], ["--flash", "/dev/null/x"], ["--flash", str(regular)],
                 ["--flash", ""], ["--card", "nope"], ["--card", ""]):
        cases.append(Case("sim", ["sim"] + opts + ["--keys", "CODE 1 2 3 4 OK"], f"sim {opts}"))
        cases.append(Case("sim", ["sim"] + opts + ["--serve"], f"sim --serve {opts}"))
    for keys in ("CODE ☃", "☃", "CODE 1 2 3 4 \u00e9", "NOPE", "", "CODE " * 2000,
                 "CODE 1 2 3 4 OK OK OK OK", "CLEAR CLEAR"):
        cases.append(Case("sim", ["sim", "--keys", keys, "--timeout", "3"], f"sim keys {keys[:12]!r}"))
    cases.append(Case("sim", ["sim"], "sim interactive without a terminal"))
    cases.append(Case("sim", ["sim", "--blank", "--keys", "CODE"], "sim --blank --keys"))

    # commands that talk to a port
    long_path = "/tmp/" + "p" * 5000
    ports = ["", " ", "/dev/null", "/dev/zero", str(work / "no-such-port"), str(regular),
             str(work / "a-dir"), str(fifo), "/dev/ttyé", long_path, "-", "COM3"]
    for port in ports:
        pw = f"port {port[:20]!r}"
        cases.append(Case("monitor", ["monitor", "--port", port, "--timeout", "2"], pw))
        cases.append(Case("trace", ["trace", "--port", port, "--timeout", "2"], pw))
        cases.append(Case("flash", ["flash", "--port", port], pw))
        cases.append(Case("hil", ["hil", "--port", port, "--pin", "1234"], pw))
        cases.append(Case("pcsc", ["pcsc", "--port", port], pw))
        cases.append(Case("pcsc", ["pcsc", "--port", port, "--enter"], pw))
        cases.append(Case("pcsc", ["pcsc", "--port", port, "--leave"], pw))
    conf = str(work / "conf")
    for opts in (["--name", ""], ["--name", "a\nLIBPATH /tmp/evil"], ["--name", "é" * 300],
                 ["--install", "--conf-dir", "/proc/nope"], ["--install", "--conf-dir", str(regular)],
                 ["--install", "--conf-dir", conf, "--name", "x/../../y"], ["--check"]):
        cases.append(Case("pcsc", ["pcsc", "--port", "/dev/null"] + opts, f"pcsc {opts}"))
    for opts in (["--timeout", "nan"], ["--timeout", "-1"], ["--timeout", "abc"]):
        cases.append(Case("monitor", ["monitor", "--port", "/dev/null"] + opts, f"monitor {opts}"))
        cases.append(Case("trace", ["trace", "--port", "/dev/null"] + opts, f"trace {opts}"))
    for opts in (["-o", "/proc/nope/x"], ["-o", str(work / "a-dir")], ["--keys", "☃"]):
        cases.append(Case("trace", ["trace", "--port", str(work / "no-such-port")] + opts,
                          f"trace {opts}"))
    for opts in (["--set", "=1"], ["--set", "a"], ["--set", "card=1"], ["--board", "nope"],
                 ["--deps-from", "/nonexistent"], ["--deps-from", str(regular)],
                 ["--mip-index", "::::"], ["--wiring", "x"], ["--set", "é=1"]):
        cases.append(Case("flash", ["flash", "--port", str(work / "no-such-port")] + opts,
                          f"flash {opts}"))
    for opts in (["--pin", ""], ["--pin", "١٢٣٤"], ["--pin", "12"], ["--pin", "1" * 13],
                 ["--prompt-timeout", "nan"], ["--prompt-timeout", "-1"], ["--port", ""],
                 ["--pin", "1234"], ["-k", "(("], ["-k", "no_test_has_this_name"]):
        cases.append(Case("hil", ["hil"] + opts, f"hil {opts}", timeout=60))
    cases += emu_cases(work, good, special)
    return cases


def emu_cases(work: Path, good: dict, special: list[tuple[str, str]]) -> list[Case]:
    """`sesame emu`: card timing, --atr-extra, --card, --flash and $SESAME_PICO_UF2. A case
    that starts the board is stopped once it prints its port."""
    cases: list[Case] = []

    def emu(what: str, *args: str, env: dict | None = None) -> None:
        cases.append(Case("emu", ["emu", *args], what, env=env or {}, until="port:", timeout=30))

    for opt, values in (("--atr-clocks", ["399", "40001", "-1", "0", "abc", "nan", "1e3", ""]),
                        ("--char-etu", ["10.5", "nan", "inf", "-inf", "abc", "1e400", "", "12,5"]),
                        ("--answer-etu", ["15", "nan", "inf", "-1", "x"]),
                        ("--bit-error-etu", ["0.3", "-0.3", "nan", "inf", "abc"]),
                        ("--error-len-etu", ["0.5", "3", "nan", "-inf", "1..2"])):
        for v in values:
            emu(f"emu {opt} {v!r}", opt, v)
    emu("emu an unknown timing option", "--guard-etu", "2")
    for v in ("ZZ", "3", "0x3B", "3B:00", "é", "3B" * 65, "00" * 1_000_000, "", "3B 00"):
        emu(f"emu --atr-extra {v[:12]!r}", "--atr-extra", v)
    for i, (what, content) in enumerate(bad_profiles(good)[:14]):
        p = work / f"emu-profile-{i}.json"
        p.write_bytes(content)
        emu(f"emu profile: {what}", "--card", str(p))
    for what, path in special + [("no such card", "nope"), ("empty name", "")]:
        emu(f"emu --card {what}", "--card", path)

    flash = work / "emu-flash"
    flash.mkdir(exist_ok=True)
    (flash / "short.img").write_bytes(b"\xff" * 1000)
    (flash / "long.img").write_bytes(b"\xff" * (3 << 20))
    (flash / "a.uf2").write_bytes(b"UF2\n" * 100)
    for what, path in special + [
            ("under /proc", "/proc/nope/x"), ("through /dev/null", "/dev/null/x"),
            ("in /proc", "/proc/version"), ("an empty name", ""),
            ("truncated", str(flash / "short.img")), ("over-sized", str(flash / "long.img")),
            ("a .uf2", str(flash / "a.uf2")), ("a 5 000-character name", "/tmp/" + "f" * 5000),
            ("a new file (starts)", str(flash / "new.img"))]:
        emu(f"emu --flash {what}", "--flash", path)

    text = work / "emu-uf2.txt"
    text.write_text("MicroPython, I promise\n")
    empty = work / "emu-empty.uf2"
    empty.write_bytes(b"")
    no_uf2 = work / "emu-no-uf2"
    no_uf2.mkdir(exist_ok=True)
    (no_uf2 / "readme.txt").write_text("no firmware here\n")
    for what, value in (("a text file", str(text)), ("an empty file", str(empty)),
                        ("a folder without the .uf2", str(no_uf2)),
                        ("missing", str(work / "nope.uf2")),
                        ("a FIFO", str(work / "fifo")), ("/dev/zero", "/dev/zero"),
                        ("a card profile", str(work / "emu-profile-7.json"))):
        emu(f"emu $SESAME_PICO_UF2 {what}", env={"SESAME_PICO_UF2": value})
    emu("emu $SESAME_PICO_BOOTROM a text file", env={"SESAME_PICO_BOOTROM": str(text)})
    return cases
