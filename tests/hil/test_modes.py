"""Every card profile in every mode on the simulated board, over the serial test link:
the code the reader shows is accepted once by `sesame verify` with the same inputs;
the last-try warning; a trace recorded with `sesame trace` replays to the same code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sesame_tools.cli import main
from sesame_tools.cli.trace import record

pytestmark = pytest.mark.sim_only
SESAME = str(Path(sys.executable).parent / "sesame")
PROFILES = {"visa_dpa": "1234", "mc_cap": "4321", "no_ipb": "0000", "psn": "123456", "t1_card": "1234",
            "bancontact": "2580", "be_maestro": "1379"}
# (name, keys after the PIN and OK, verify options)
CASES = [
    ("identify", [], ["--mode", "identify"]),
    ("respond", ["1", "2", "3", "4", "5", "6", "7", "8", "OK"],
     ["--mode", "respond", "--challenge", "12345678"]),
    ("sign", ["1", "9", "9", "9", "OK", "4", "2", "OK"],
     ["--mode", "sign", "--amount", "19.99", "--ref", "42"]),
    ("sign-tds", ["SIGN", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "OK", "4", "2", "OK",
                  "OK"], ["--mode", "sign", "--data", "1234567890,42"]),
]
FIRST_KEY = {"identify": "CODE", "respond": "RESPOND", "sign": "SIGN", "sign-tds": "SIGN"}


def shown_code(r) -> str:
    """The code on the display after a transaction: '12345678', or the pages of a long
    code put together (OK turns them)."""
    hist = r.client.history
    i = max(j for j, e in enumerate(hist) if e.name == "state")
    assert hist[i].arg == "code", [e.line for e in hist[-8:]]
    first = next(e.arg for e in hist[i:] if e.name == "disp")
    if "-" not in first:
        return first.replace(" ", "")
    pages = {}
    text = first
    for _ in range(8):
        n, _, digits = text.partition("-")
        if n in pages:
            break
        pages[n] = digits
        start = len(hist)
        r.press("OK")
        text = [e.arg for e in hist[start:] if e.name == "disp"][-1]
    return "".join(pages[str(k)] for k in range(1, len(pages) + 1))


def run_case(r, pin: str, case) -> str:
    name, keys, _ = case
    r.idle()
    r.press(FIRST_KEY[name], *pin, "OK", *keys)
    return shown_code(r)


def verify(card: str, code: str, opts: list[str]):
    return CliRunner().invoke(main, ["verify", "--card", card, *opts, code])


@pytest.mark.parametrize("card", list(PROFILES))
def test_every_mode_gives_a_code_accepted_once(make_reader, card):
    r = make_reader(card=card)
    codes = []
    for case in CASES:
        code = run_case(r, PROFILES[card], case)
        assert code.isdigit() and len(code) >= 8, code
        ok = verify(card, code, case[2])
        assert ok.exit_code == 0 and ok.output.startswith("accepted"), (case[0], ok.output)
        again = verify(card, code, case[2])
        assert again.exit_code == 1 and again.output.startswith("replayed"), again.output
        codes.append(code)
    assert len(set(codes)) == len(codes)
    if card == "no_ipb":
        assert any(len(c) > 8 for c in codes), "the static Visa IPB gives 9-10 digit codes"


def test_last_try_warning_then_blocked(make_reader):
    r = make_reader(card="visa_dpa")
    c = r.client
    for left in ("2 triES", "1 triE"):
        r.idle()
        r.press("CODE", "9", "9", "9", "9", "OK")
        assert [e.arg for e in c.history if e.name == "disp"][-1] == left
    # one try left: a warning, then OK again sends VERIFY
    r.idle()
    r.press("CODE", *"1234")
    c.send("!key OK")
    c.wait("disp", "LASt try")
    c.wait("ok", "key")  # the first OK's, at once: the host may press the next key
    assert [e.arg for e in c.history if e.name == "state"][-1] == "lasttry"
    r.press("5")  # a key that leaves the prompt up is answered at once too
    assert [e.arg for e in c.history if e.name == "state"][-1] == "lasttry"
    c.send("!key OK")
    c.wait("state", "code", timeout=20)
    code = c.wait("disp").arg
    c.wait("ok", "key")  # the second OK's, once the transaction it let go on is over
    assert verify("visa_dpa", code, []).exit_code == 0
    # declining the last try: no VERIFY, the counter stays at 1
    for _ in range(2):
        r.idle()
        r.press("CODE", "9", "9", "9", "9", "OK")
    r.idle()
    r.press("CODE", *"1234")
    c.send("!key OK")
    c.wait("disp", "LASt try")
    c.wait("ok", "key")
    c.send("!key CLEAR")
    c.wait("state", "idle", timeout=20)
    c.wait("ok", "key")
    out = subprocess.run([SESAME, "card", "--card", "visa_dpa"], capture_output=True, text=True)
    assert "PIN tries: 1 of 3" in out.stdout, out.stdout
    # the last try spent on a wrong PIN: blocked, and shown so before any VERIFY next time
    r.idle()
    r.press("CODE", "9", "9", "9", "9")
    c.send("!key OK")
    c.wait("disp", "LASt try")
    c.send("!key OK")
    c.wait("disp", "bLOCKEd", timeout=20)  # the second OK's @ok came before it
    c.wait("ok", "key")
    r.idle()
    t = record(c, ["CODE", "1", "2", "3", "4", "OK"], timeout=30)
    assert [e.arg for e in c.history if e.name == "disp"][-1] == "bLOCKEd"
    assert [x for x in t["exchanges"] if x["c"].startswith("80CA9F17")]
    assert not [x for x in t["exchanges"] if x["c"].startswith("0020")], "no VERIFY when blocked"


@pytest.mark.parametrize("card,case", [("mc_cap", 1), ("psn", 3), ("bancontact", 2)])
def test_trace_replays_to_the_same_code(make_reader, tmp_path, card, case):
    r = make_reader(card=card)
    name, keys, opts = CASES[case]
    r.idle()
    trace = record(r.client, [FIRST_KEY[name], *PROFILES[card], "OK", *keys], timeout=30)
    code = shown_code(r)
    assert all(PROFILES[card] not in x["c"][10:] for x in trace["exchanges"]
               if x["c"].startswith("0020")), "PIN masked"
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(trace))
    out = subprocess.run([SESAME, "replay", str(path), *opts, "--json"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["code"] == code


@pytest.mark.parametrize("card,case", [("t1_card", 1), ("no_ipb", 3), ("visa_dpa", 2), ("be_maestro", 3)])
def test_trace_cli_then_replay_cli(make_reader, tmp_path, card, case):
    """The real commands, as a user runs them: `sesame trace --port` against the
    simulated board's serial port, then `sesame replay` of the file it wrote gives the
    code the reader showed, and that code is the issuer's."""
    from sesame_tools.boardio.testlink import LinkClient

    r = make_reader(card=card)
    name, keys, opts = CASES[case]
    r.idle()
    port = r.client.ser.port
    r.client.close()  # the port is exclusive: `sesame trace` opens it
    path = tmp_path / "trace.json"
    keys = " ".join([FIRST_KEY[name], *PROFILES[card], "OK", *keys])
    out = subprocess.run([SESAME, "trace", "--port", port, "-o", str(path), "--keys", keys,
                          "--timeout", "30"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    trace = json.loads(path.read_text())
    assert trace["protocol"] == (1 if card == "t1_card" else 0)
    assert [x["c"] for x in trace["exchanges"] if x["c"].startswith("0020")] == \
        ["00200080082?FFFFFFFFFFFFFF"], "PIN masked"
    r.client = LinkClient(port)
    try:
        r.client.sync()
        r.client.send("!status")
        r.client.wait("state")
        r.client.wait("disp")
        code = shown_code(r)
    finally:
        r.client.close()
    replayed = subprocess.run([SESAME, "replay", str(path), *opts],
                              capture_output=True, text=True, timeout=60)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == code
    if card == "no_ipb":
        assert len(code) > 8, "a long code, paged on the reader, whole from replay"
    ok = verify(card, code, opts)
    assert ok.exit_code == 0 and ok.output.startswith("accepted"), ok.output
    if name == "sign-tds":  # TDS data never reaches the card: other data, another code
        other = subprocess.run([SESAME, "replay", str(path), "--mode", "sign", "--data", "1,2"],
                               capture_output=True, text=True, timeout=60)
        assert other.returncode == 0 and other.stdout.strip() not in ("", code), other
        return
    # other inputs than the recorded ones reach the card: a clean refusal, no traceback
    other = [o if o != "42" else "43" for o in opts] if name == "sign" else \
        ["--mode", "respond", "--challenge", "1"]
    bad = subprocess.run([SESAME, "replay", str(path), *other], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr, bad.stderr
    assert "no answer to" in bad.stderr, bad.stderr


@pytest.mark.sim_only
def test_headless_keys_through_the_last_try_prompt(state_dir):
    # `sesame sim --keys` presses OK again at "LASt try" and gets its code (exit 0)
    def sim(keys):
        return subprocess.run([SESAME, "sim", "--keys", keys, "--timeout", "20"],
                              capture_output=True, text=True, timeout=60)
    for left in ("2 triES", "1 triE"):
        r = sim("CODE 9 9 9 9 OK")
        assert r.stdout.splitlines()[-1] == left, r.stdout + r.stderr
    r = sim("CODE 1 2 3 4 OK OK")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "LASt try" in r.stdout.splitlines() and re.match(r"^\d{4} \d{4}$", r.stdout.splitlines()[-1])
