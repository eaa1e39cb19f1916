"""Untrusted input to the commands: card profiles and traces validated at load with a
message naming the key, special files refused, state files that cannot escape the state
folder and can be repaired, options checked before anything starts. Each case through the
real `sesame` command line; then a seeded sample of the bad-input harness
(sesame_tools.devtools.badinputs: `make fuzz` runs all of it) with no traceback, no hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sesame_tools.vcard import profile as profiles

SESAME = str(Path(sys.executable).parent / "sesame")
QUICK = int(os.environ.get("SESAME_BADINPUTS", "150"))


def sesame(*args, stdin=None, timeout=60, env=None) -> subprocess.CompletedProcess:
    r = subprocess.run([SESAME, *args], capture_output=True, text=True, timeout=timeout,
                       stdin=stdin, env={**os.environ, **(env or {})})
    assert "Traceback" not in r.stderr, r.stderr
    return r


def good() -> dict:
    return json.loads((profiles.cards_dir() / "visa_dpa.json").read_text())


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setenv("SESAME_STATE_DIR", str(d))
    return d


def profile(tmp_path, **changes) -> str:
    d = good()
    d.update(changes)
    p = tmp_path / "card.json"
    p.write_text(json.dumps(d))
    return str(p)


@pytest.mark.parametrize("changes, message", [
    ({"atr": 5}, "atr: hex of 2-33 bytes, not 5"),
    ({"records": []}, "records: an object of at most 64 entries, not []"),
    ({"records": {"1.1": "ZZ"}}, "records.1.1: hex of 0-254 bytes"),
    ({"records": {"x": "00"}}, 'records key: "SFI.record"'),
    ({"pin_try_limit": -3}, "pin_try_limit: a whole number from 1 to 15, not -3"),
    ({"label": "L" * 200}, "label: text of 0-16 characters"),
    ({"label": "L" * 30_000_000}, "more than such a file can be (262144)"),
    ({"link": {"null_bytes": "x"}}, "link.null_bytes: a whole number"),
    ({"link": {"frobnicate": 1}}, "unknown key link.'frobnicate'"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"pan": "4970x"}, "pan: 8-19 digits"),
    ({"cdol1": "9F02"}, "cdol1: not a data object list"),
    ({"atc": float("inf")}, "Infinity is not a JSON number"),
])
def test_a_bad_profile_is_named_by_its_key(tmp_path, state, changes, message):
    path = profile(tmp_path, **changes)
    for cmd in (["card"], ["verify", "12345678"], ["sim", "--keys", "CODE"]):
        r = sesame(cmd[0], "--card", path, *cmd[1:])
        assert r.returncode == 1 and message in r.stderr, (cmd, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr  # one line


@pytest.mark.parametrize("content, message", [
    (b"[]", "a JSON object, not []"), (b"", "not JSON"), (b"\xff\xfe", "not a text file (not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested more than 12 deep"),
])
def test_a_profile_that_is_not_one(tmp_path, state, content, message):
    p = tmp_path / "x.json"
    p.write_bytes(content)
    r = sesame("card", "--card", str(p))
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_special_files_are_refused_at_once(tmp_path, state):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    t = time.monotonic()
    for path in (str(fifo), "/dev/zero", str(tmp_path)):
        for cmd in (["card", "--card", path], ["replay", path], ["sim", "--card", path]):
            r = sesame(*cmd, timeout=20)
            assert r.returncode in (1, 2), (cmd, r.stderr)
            assert "not a regular file" in r.stderr or "is a directory" in r.stderr, r.stderr
    assert time.monotonic() - t < 60  # nothing waited for a writer or read /dev/zero


def test_state_files_stay_in_the_state_folder(tmp_path, state):
    for name in ("../escaped", "a/b", ".."):
        path = profile(tmp_path, name=name)
        r = sesame("card", "--card", path, "--reset")
        assert r.returncode == 0, r.stderr
        r = sesame("verify", "--card", path, "12345678")
        assert r.returncode == 1 and "rejected" in r.stdout, r.stdout + r.stderr
    inside = {p.name for p in state.iterdir()}
    assert len([n for n in inside if n.endswith(".card.json")]) == 3, inside
    assert not (tmp_path / "escaped.card.json").exists()
    assert not list(tmp_path.glob("*.issuer.json"))


@pytest.mark.parametrize("content", [b"", b'{"atc": 1', b"[]", b'{"atc": "x"}',
                                     b'{"atc": 1, "pin_tries": [3]}', b"\xff"])
def test_a_damaged_card_state_is_named_and_reset_repairs_it(state, content):
    state.mkdir(parents=True, exist_ok=True)
    f = state / "visa-dpa.card.json"
    f.write_bytes(content)
    r = sesame("card")
    assert r.returncode == 1 and f"{f} is damaged" in r.stderr, r.stderr
    assert "`sesame card --reset`" in r.stderr
    r = sesame("sim", "--keys", "CODE 1 2 3 4 OK")
    assert r.returncode == 1 and "is damaged" in r.stderr, r.stderr
    r = sesame("card", "--reset")
    assert r.returncode == 0 and "written anew" in r.stderr, r.stderr
    assert (state / "visa-dpa.card.json.damaged").read_bytes() == content  # kept aside
    assert sesame("card").returncode == 0


def test_a_damaged_issuer_record_refuses_codes_until_reset(state):
    r = sesame("sim", "--keys", "CODE 1 2 3 4 OK")
    code = r.stdout.split()[-2] + r.stdout.split()[-1]
    assert sesame("verify", code).returncode == 0
    f = state / "visa-dpa.issuer.json"
    f.write_text(f.read_text()[:20])  # truncated
    r = sesame("sim", "--keys", "CODE 1 2 3 4 OK")
    new = "".join(r.stdout.split()[-2:])
    r = sesame("verify", new)
    assert r.returncode == 1 and "no code is accepted until" in r.stderr, r.stderr
    r = sesame("verify", code)  # the replay record is not silently lost
    assert r.returncode == 1 and "is damaged" in r.stderr
    assert sesame("card", "--reset").returncode == 0
    assert sesame("verify", code).returncode == 1  # the old code stays refused
    r = sesame("sim", "--keys", "CODE 1 2 3 4 OK")
    assert sesame("verify", "".join(r.stdout.split()[-2:])).returncode == 0


def test_leftovers_of_killed_runs_are_cleaned(state, tmp_path):
    import tempfile

    state.mkdir(parents=True, exist_ok=True)
    tmp = state / "visa-dpa.card.json.abcd.tmp"
    tmp.write_text("{")
    os.utime(tmp, (time.time() - 3600, time.time() - 3600))
    fresh = state / "other.card.json.efgh.tmp"  # a write under way in another process
    fresh.write_text("{")
    dead = Path(tempfile.mkdtemp(prefix="sesame-sim-"))
    p = subprocess.Popen(["true"])
    p.wait()
    (dead / "pid").write_text(str(p.pid))  # a run whose process is gone
    sesame("card")
    assert not tmp.exists() and fresh.exists()
    sesame("sim", "--keys", "CODE 1 2 3 4 OK")
    assert not dead.exists()


@pytest.mark.parametrize("trace, message", [
    ({"exchanges": [{"c": "00A4040000", "r": "6?82"}]}, "'r' is not hex"),
    ({"protocol": True, "exchanges": []}, "protocol is 0 or 1, not True"),
    ({"atr": 5, "exchanges": []}, "atr is not hex"),
    ({"exchanges": [{"c": "00A4040000", "r": "00" * 300 + "9000"}]}, "at most 261 bytes"),
])
def test_a_bad_trace_says_what_is_wrong(tmp_path, trace, message):
    p = tmp_path / "t.json"
    p.write_text(json.dumps(trace))
    r = sesame("replay", str(p))
    assert r.returncode == 1 and message in r.stderr, r.stderr


@pytest.mark.parametrize("args, message", [
    (["sim", "--auto-off", "nan"], "'nan' is not a number of seconds"),
    (["sim", "--auto-off", "inf"], "from 1 to 86400"),
    (["sim", "--auto-off", "-1"], "from 1 to 86400"),
    (["sim", "--heap", "abc"], "not a heap size"),
    (["sim", "--flash", "/proc/no/such"], "cannot write to '/proc/no/such'"),
    (["sim", "--keys", "CODE é"], "unknown key 'é'"),
    (["hil", "--port", ""], "'' is not a serial port"),
    (["monitor", "--port", " "], "' ' is not a serial port"),
    (["trace", "--port", "/dev/null", "--timeout", "nan"], "not a number of seconds"),
    (["hil", "--prompt-timeout", "nan"], "not a number of seconds"),
    (["hil", "-k", "(("], "Wrong expression"),
])
def test_options_are_checked_before_anything_starts(args, message, state):
    t = time.monotonic()
    r = sesame(*args, timeout=30)
    assert r.returncode == 2 and message in r.stdout + r.stderr, r.stdout + r.stderr
    assert time.monotonic() - t < 10  # no board started, no 30 s wait


def test_an_empty_card_name_is_not_the_default(state):
    r = sesame("sim", "--card", "", "--keys", "CODE")
    assert r.returncode == 1 and "no card profile ''" in r.stderr, r.stderr


def test_a_non_ascii_key_fails_at_once_over_the_link():
    from sesame_tools.boardio.testlink import LinkClient

    client = LinkClient.__new__(LinkClient)  # no port needed: refused before sending
    with pytest.raises(ValueError, match="unknown key"):
        client.key("☃")


def test_atr_refuses_a_line_longer_than_any_atr_at_once():
    line = "3B" * 64_000 + "\n3B6500002063CB6800\n"
    r = subprocess.run([SESAME, "atr", "--json"], input=line, capture_output=True, text=True,
                       timeout=30)
    first, second = (json.loads(x) for x in r.stdout.splitlines())
    assert first["errors"][0].startswith("longer than any ATR"), first
    assert second["valid"] and r.returncode == 1
    r = subprocess.run([SESAME, "atr"], stdin=open("/dev/zero", "rb"), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "standard input is over" in r.stderr


def test_the_bad_input_harness_finds_no_traceback_and_no_hang(tmp_path):
    """A seeded sample of every kind of bad input across every command (`make fuzz`
    runs all of them); the seed is printed, so a failing run can be repeated."""
    seed = int(os.environ.get("SESAME_SEED", str(int(time.time()) % 100_000)))
    r = subprocess.run([sys.executable, "-m", "sesame_tools.devtools.badinputs",
                        "--quick", str(QUICK), "--seed", str(seed)],
                       capture_output=True, text=True, timeout=900)
    print(r.stdout)
    assert r.returncode == 0, f"seed {seed}:\n{r.stdout}{r.stderr}"
    assert f"bad inputs: {QUICK} runs, {QUICK} clean" in r.stdout, r.stdout


def test_sesame_hil_on_the_simulated_board_keeps_its_pin_to_itself():
    """`sesame hil` gives the suite its PIN in-process: the flash test's nested `sesame hil
    --port` must still ask for one (it failed when the outer run left $SESAME_PIN set)."""
    env = {k: v for k, v in os.environ.items() if k != "SESAME_PIN"}
    r = subprocess.run([SESAME, "hil", "-k", "production_then_test_build_then_hil"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS  test_flash_blank_board_production_then_test_build_then_hil" in r.stdout


def test_sesame_pcsc_writes_nothing_outside_its_entry(tmp_path):
    """--name and --port go into reader.conf (read by pcscd as root): a newline would add
    directives, a "/" would write another file."""
    conf = tmp_path / "conf"
    for args in (["--name", "a\nLIBPATH /tmp/evil"], ["--name", "x/../../y"],
                 ["--port", "/dev/ttyACM1\nLIBPATH /tmp/evil"]):
        r = sesame("pcsc", "--port", "/dev/null", *args, "--install", "--conf-dir", str(conf))
        assert r.returncode == 2 and "Invalid value" in r.stderr, r.stderr
    assert not conf.exists() and not (tmp_path / "y").exists()
    r = sesame("pcsc", "--port", "/dev/null", "--install", "--conf-dir", "/proc/nope")
    assert r.returncode == 1 and "cannot write /proc/nope/sesame" in r.stderr, r.stderr
