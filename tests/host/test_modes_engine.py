"""Every card profile in every mode, through the firmware's engine and the virtual card
(T=0, byte by byte): an independent oracle (pyemv for the keys and the cryptogram,
`cryptography` for the TDS DES, a bit-string IPB) gives the same code, the issuer
(`sesame verify`) accepts it once; traces replay to the same code (`sesame replay`)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as hst
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from pyemv import ac as pyemv_ac, kd as pyemv_kd

from sesame.emv import cap
from sesame.iso7816.session import open_session
from sesame.reader.trace import Trace
from sesame_tools.issuer import check as issuer
from sesame_tools.issuer import replay
from sesame_tools.cli import main
from sesame_tools.cli.trace import Recorder
from sesame_tools.vcard import profile as profiles
from sesame_tools.vcard.emv import cryptogram
from sesame_tools.vcard.state import CardState
from test_protocol import MemoryLine, pin

DATA = Path(__file__).parent.parent / "data"
PROFILES = ["visa_dpa", "mc_cap", "no_ipb", "psn", "t1_card", "bancontact", "be_maestro"]
CASES = {
    "identify": dict(mode="identify"),
    "respond": dict(mode="respond", challenge="12345678"),
    "respond-short": dict(mode="respond", challenge="7"),
    "sign": dict(mode="sign", amount="1999", challenge="42"),
    "sign-tds": dict(mode="sign", data=("1234567890", "42", "7")),
}


def raw(name: str) -> dict:
    return json.loads(profiles.load(name).path.read_text())


# -- the oracle: written from DESIGN.md section 5 without the firmware's helpers
BELGIAN_APPS = ("D056000666111010", "A0000000043060", "A0000000031010", "A0000000032010")


def oracle_belgian(p) -> bool:
    """A Belgian card: 5F2C = 0056 and DF07 starting "BKS056" in the FCI's BF0C (the
    profile's issuer data is a flat list of short TLVs)."""
    d, tags = p.fci_issuer_data, {}
    while d:
        n = 2 if d[0] & 0x1F == 0x1F else 1
        tags[d[:n].hex().upper()] = d[n + 1:n + 1 + d[n]]
        d = d[n + 1 + d[n]:]
    return tags.get("5F2C") == b"\x00\x56" and tags.get("DF07", b"").startswith(b"BKS056")


def oracle_cdol1(p, mode, challenge="", amount="", data=()) -> bytes:
    """The standard 29-byte CDOL1 (9F02 9F03 9F1A 95 5F2A 9A 9C 9F37) as a CAP reader fills it."""
    assert p.cdol1.hex().upper() == "9F02069F03069F1A0295055F2A029A039C019F3704"
    amt = amount.zfill(12) if mode == "sign" and not data else "0" * 12
    un = challenge.zfill(8) if mode != "identify" and not data else "0" * 8
    aid = p.aid.hex().upper()
    be = oracle_belgian(p) and aid in BELGIAN_APPS
    date = "010101" if aid.startswith("A000000003") and not be else "000000"
    tvr = "8000000800" if be else "8000000000"
    return bytes.fromhex(amt + "0" * 12 + "0000" + tvr + "0000" + date + "00" + un)


def oracle_code(p, atc: int, mode, challenge="", amount="", data=()) -> tuple[str, bytes]:
    j = raw(p.path)
    mk = bytes.fromhex(j["icc_mk"]) if "icc_mk" in j else \
        pyemv_kd.derive_icc_mk_a(bytes.fromhex(j["issuer_mk"]), p.pan, p.psn)
    atcb = atc.to_bytes(2, "big")
    sk = pyemv_kd.derive_emv2000_tree_sk(mk, atcb)
    ac = pyemv_ac.generate_ac(sk, oracle_cdol1(p, mode, challenge, amount, data) + p.aip + atcb + p.cvr)
    arqc = ac
    if data:
        nib = "F".join(data)
        nib += "F" * (len(nib) % 2)
        block = bytes.fromhex(nib) + b"\x80"
        block += bytes(-len(block) % 8)
        e = Cipher(TripleDES(ac * 3), modes.CBC(bytes(8))).encryptor()
        ac = (e.update(block) + e.finalize())[-8:]
    if oracle_belgian(p) and (p.aid.hex().upper() == BELGIAN_APPS[0] or not p.ipb):
        v = int.from_bytes(ac[5:7], "big") % 1024 * 65536 + atcb[1] * 256 + ac[7]
        return str((v + v % 10 * 10 ** 7) % 10 ** 8).zfill(8), arqc
    psn = bytes.fromhex(p.psn) if p.iaf and p.iaf[0] & 0x40 else b""
    tok = psn + b"\x80" + atcb + ac + p.iad
    ipb = p.ipb or bytes.fromhex("0000FFFFFF0000000000000000000020B938")
    tbits = "".join(f"{b:08b}" for b in tok).ljust(len(ipb) * 8, "0")
    ibits = "".join(f"{b:08b}" for b in ipb)
    picked = "".join(t for t, i in zip(tbits, ibits) if i == "1")
    return str(int(picked, 2)).zfill(8), arqc


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SESAME_STATE_DIR", str(tmp_path))

    def make(name):
        p = profiles.load(name)
        st = CardState(tmp_path / f"{p.name}.card.json", p.atc, p.pin_try_limit)
        return p, st, MemoryLine(p, st)

    return make


def transact(line, digits, case, trace_to=None):
    atr, t = open_session(line)
    if trace_to is not None:
        t = Trace(t, lambda name, arg: trace_to(type("E", (), {"name": name, "arg": arg})),
                  atr.raw, t.PROTOCOL)
    kw = {k: v for k, v in case.items() if k != "mode"}
    r = cap.Cap(t).run(*pin(digits), case["mode"], **kw)
    if trace_to is not None:
        t.end()
    return r


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", PROFILES)
def test_profile_mode_matches_oracle_and_issuer(env, name, case, tmp_path):
    p, st, line = env(name)
    c = CASES[case]
    r = transact(line, p.pin, c)
    kw = {k: v for k, v in c.items() if k != "mode"}
    want, arqc = oracle_code(p, r.atc, c["mode"], **kw)
    assert r.code == want
    assert r.atc == p.atc + 1 and st.atc == r.atc
    # the virtual card's ARQC is pyemv's
    tdata = cap.terminal_data(p.aid, c["mode"], kw.get("challenge", ""), kw.get("amount", ""),
                              issuer.belgian(p))
    assert issuer.belgian(p) == oracle_belgian(p)
    assert cryptogram(p, r.atc, oracle_cdol1(p, c["mode"], **kw)) == arqc
    assert cap.fill_dol([(0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2),
                         (0x9A, 3), (0x9C, 1), (0x9F37, 4)], tdata) == oracle_cdol1(p, c["mode"], **kw)
    # the issuer check (through the CLI, as a user types it) accepts it once
    args = ["verify", "--card", name, "--mode", c["mode"], r.code]
    if kw.get("challenge"):
        args += ["--challenge", kw["challenge"]]
    if kw.get("amount"):
        args += ["--amount", kw["amount"]]
    if kw.get("data"):
        args += ["--data", ",".join(kw["data"])]
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 0 and run.output.startswith(f"accepted (ATC {r.atc})"), run.output
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 1 and run.output.startswith("replayed"), run.output


def test_public_vectors_through_the_virtual_card(env):
    for f, case, code in (("openauth_identify.json", CASES["identify"], "42511495"),
                          ("openauth_respond.json", dict(mode="respond", challenge="11223344"),
                           "45233899"),
                          ("openauth_sign.json", dict(mode="sign", amount="123456",
                                                      challenge="445566"), "09749267")):
        p, st, line = env(DATA / f)
        r = transact(line, "1234", case)
        assert r.code == code, f
        kw = {k: v for k, v in case.items() if k != "mode"}
        assert oracle_code(p, r.atc, case["mode"], **kw)[0] == code


def test_codes_differ_by_input(env):
    p, st, line = env("visa_dpa")
    a = transact(line, "1234", dict(mode="respond", challenge="1"))
    st.atc -= 1  # same counter, other challenge
    st.save()
    b = transact(line, "1234", dict(mode="respond", challenge="2"))
    assert a.atc == b.atc and a.code != b.code


# -- issuer: ATC window, replays, atomic state
def test_atc_filter_bits():
    mask, bits = issuer.atc_filter(profiles.load("visa_dpa"))
    assert bin(mask).count("1") == 5  # IPB 00001F..: the ATC's 5 low bits
    mask, bits = issuer.atc_filter(profiles.load("no_ipb"))
    assert bin(mask).count("1") == 8  # static Visa IPB: the ATC's low byte
    mask, bits = issuer.atc_filter(profiles.load("psn"))
    assert bin(mask).count("1") == 5


def test_belgian_cards_close_with_z1_and_carry_the_atc_low_byte(env):
    for name, reads in (("bancontact", ["00B2010C00", "00B2020C00"]),
                        ("be_maestro", ["00B2014C00", "00B2024C00", "00B2010C00", "00B2020C00"])):
        p, r, trace = record(env, name, CASES["identify"])
        cs = [x["c"] for x in trace["exchanges"]]
        close = [c for c in cs if c.startswith("80AE0000")]
        assert len(close) == 1 and close[0][10:14] == b"Z1".hex().upper(), close
        # Bancontact: CDOL1 and CDOL2 in record 2 are all it needs, record 3 is not read;
        # the Maestro card has no IPB, so both records (after the PSE directory's)
        assert [c for c in cs if c.startswith("00B2")] == reads, (name, cs)
        mask, bits = issuer.atc_filter(p)
        assert mask == 0xFF00 and issuer.code_bits(p, r.code) & mask == bits(r.atc)


def test_window_wider_than_the_atc_bits(env, tmp_path):
    p, st, line = env("visa_dpa")
    st.atc = 39  # the code carries 5 ATC bits: 40 and 8 look alike
    st.save()
    r = transact(line, "1234", CASES["identify"])
    assert r.atc == 40
    ipath = tmp_path / "i.json"
    assert issuer.verify(p, r.code, window=20, path=ipath) == (issuer.REJECTED, None)
    assert issuer.verify(p, r.code, window=64, path=ipath) == (issuer.ACCEPTED, 40)
    assert issuer.verify(p, r.code, window=64, path=ipath) == (issuer.REPLAYED, 40)
    # an older counter is never accepted after a newer one
    st.atc = 10
    st.save()
    old = transact(line, "1234", CASES["identify"])
    assert issuer.verify(p, old.code, window=64, path=ipath) == (issuer.REJECTED, None)


def test_mode_inputs_must_match(env, tmp_path):
    p, st, line = env("mc_cap")
    r = transact(line, p.pin, CASES["sign"])
    ipath = tmp_path / "i.json"
    assert issuer.verify(p, r.code, "sign", "42", "1998", path=ipath)[0] == issuer.REJECTED
    assert issuer.verify(p, r.code, "identify", path=ipath)[0] == issuer.REJECTED
    assert issuer.verify(p, r.code, "sign", "42", "1999", path=ipath)[0] == issuer.ACCEPTED
    with pytest.raises(ValueError):
        issuer.verify(p, r.code, "respond", "123456789", path=ipath)


def test_concurrent_checks_accept_once(env, tmp_path):
    p, st, line = env("psn")
    r = transact(line, p.pin, CASES["identify"])
    ipath = tmp_path / "i.json"
    results = []
    threads = [threading.Thread(target=lambda: results.append(issuer.verify(p, r.code, path=ipath)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(x[0] for x in results) == [issuer.ACCEPTED] + [issuer.REPLAYED] * 7
    assert json.loads(ipath.read_text())["last_atc"] == r.atc
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]


def test_verify_cli_inputs():
    r = CliRunner().invoke(main, ["verify", "--mode", "respond", "12345678"])
    assert r.exit_code == 2 and "challenge" in r.output
    r = CliRunner().invoke(main, ["verify", "--mode", "sign", "12345678"])
    assert r.exit_code == 2
    r = CliRunner().invoke(main, ["verify", "--mode", "sign", "--amount", "1a", "12345678"])
    assert r.exit_code == 2


def test_amount_forms(env, tmp_path):
    from sesame_tools.cli.common import mode_inputs
    assert mode_inputs("sign", "1", "12.34", ())["amount"] == "1234"
    assert mode_inputs("sign", "1", "0,5", ())["amount"] == "50"
    assert mode_inputs("sign", "1", "1999", ())["amount"] == "1999"
    assert mode_inputs("sign", "", "", ("1 2", "3"))["data"] == ("1", "2", "3")


# -- replay
def record(env, name, case):
    p, st, line = env(name)
    rec = Recorder()
    r = transact(line, p.pin, case, trace_to=rec)
    assert rec.done
    return p, r, rec.trace()


@pytest.mark.parametrize("name,case", [("visa_dpa", "identify"), ("mc_cap", "sign-tds"),
                                       ("no_ipb", "respond"), ("psn", "sign")])
def test_trace_replays_to_the_same_code(env, tmp_path, name, case):
    c = CASES[case]
    p, r, trace = record(env, name, c)
    verify = [x["c"] for x in trace["exchanges"] if x["c"].startswith("0020")]
    assert verify == ["00200080082?FFFFFFFFFFFFFF"], "PIN masked in the trace"
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(trace))
    args = ["replay", str(path), "--mode", c["mode"], "--json"]
    for k in ("challenge", "amount"):
        if c.get(k):
            args += [f"--{k}", c[k]]
    for d in c.get("data", ()):
        args += ["--data", d]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    res = json.loads(out.output)
    assert (res["code"], res["atc"], res["aid"]) == (r.code, r.atc, r.aid.hex().upper())
    assert res["label"] == p.label and res["tries"] == p.pin_try_limit
    plain = CliRunner().invoke(main, [a for a in args if a != "--json"])
    assert plain.exit_code == 0 and plain.output.strip() == r.code
    if c.get("data"):  # the form: --data F1 F2 F3, before or after the file
        for form in (["replay", str(path), "--mode", "sign", "--data", *c["data"]],
                     ["replay", "--mode", "sign", "--data", *c["data"], str(path)]):
            out = CliRunner().invoke(main, form)
            assert out.exit_code == 0 and out.output.strip() == r.code, (form, out.output)


@pytest.mark.parametrize("name,case,atc", [("visa_dpa", "identify", 1), ("mc_cap", "respond", 41)])
def test_traces_of_the_longer_transaction_still_replay(name, case, atc):
    """Traces recorded before the transaction was cut (PSE first, GET DATA with Le 00,
    the closing GENERATE AC's answer fetched) replay to the code the issuer expects."""
    c = CASES[case]
    kw = {k: v for k, v in c.items() if k != "mode"}
    path = DATA / f"trace_v1_{name}_{case}.json"
    trace = json.loads(path.read_text())
    assert trace["exchanges"][0]["c"].startswith("00A404000E315041592E"), "PSE first"
    assert [x for x in trace["exchanges"] if x["c"] == "80CA9F1700"]
    r = replay.run(trace, c["mode"], **kw)
    assert (r.code, r.atc) == (issuer.expected_code(profiles.load(name), atc, c["mode"], **kw), atc)


def test_replay_with_other_inputs_fails(env, tmp_path):
    p, r, trace = record(env, "visa_dpa", CASES["respond"])
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(trace))
    out = CliRunner().invoke(main, ["replay", str(path), "--mode", "respond",
                                    "--challenge", "87654321", "--json"])
    assert out.exit_code == 1
    assert json.loads(out.output)["error"] == "StatusError" and "6A82" in out.output


def test_replay_card_matching_rule():
    card = replay.ReplayCard({"atr": "3B00", "protocol": 0, "exchanges": [
        {"c": "00A4040007A000000003800200", "r": "6F009000"},
        {"c": "80CA9F1700", "r": "9F1701039000"},
        {"c": "80CA9F1700", "r": "9F1701029000"},
        {"c": "00200080082?FFFFFFFFFFFFFF", "r": "63C2"},
    ]})
    assert card.transmit(bytes.fromhex("00A4040007A0000000038002")) == bytes.fromhex("6F009000"), \
        "Le ignored"
    assert card.transmit(bytes.fromhex("00A4040007A0000000048002")) == bytes.fromhex("6A82")
    assert card.transmit(bytes.fromhex("80CA9F1700")) == bytes.fromhex("9F1701039000")
    assert card.transmit(bytes.fromhex("80CA9F17")) == bytes.fromhex("9F1701029000"), "in order"
    assert card.transmit(bytes.fromhex("80CA9F1700")) == bytes.fromhex("9F1701029000"), "then the last"
    assert card.transmit(bytes.fromhex("002000800824999999FFFFFFFF")) == bytes.fromhex("63C2")
    assert all("99" not in c[10:] for c, _ in card.log), "no PIN block kept"
    assert card.transmit(bytes.fromhex("00B2")) == bytes.fromhex("6700"), "not an APDU"


def test_replay_reports_wrong_pin_status(tmp_path):
    t = {"atr": "3B00", "protocol": 0, "exchanges": []}
    path = tmp_path / "empty.json"
    path.write_text(json.dumps(t))
    out = CliRunner().invoke(main, ["replay", str(path)])
    assert out.exit_code == 1 and "NoApplication" in out.output


def test_check_inputs():
    chk = issuer.check_inputs
    chk("identify")
    chk("respond", "12345678")
    chk("sign", "445566", "123456789012")
    chk("sign", data=("1",) * 10)
    for bad in (("unlock",), ("respond", "123456789"), ("respond", "12a4"),
                ("sign", "", "1234567890123"), ("sign", "", "", ("1",) * 11),
                ("sign", "", "", ("12345678901",)), ("sign", "", "", ("",)),
                ("sign", "1", "", ("1",)), ("identify", "1"), ("respond", "1", "1")):
        with pytest.raises(ValueError):
            chk(*bad)


# -- clean command-line errors (no tracebacks)
@pytest.mark.parametrize("content,message", [
    ("{bad", "not JSON"),
    ("[1, 2]", 'no "exchanges" list'),
    ('{"atr": "3B00", "exchanges": ["00A4"]}', "exchange 1: no 'c' hex string"),
    ('{"atr": "3B00", "exchanges": [{"c": "zz", "r": "9000"}]}', "exchange 1: 'c' is not hex"),
    ('{"atr": "3B00", "exchanges": [{"c": "00A4040000", "r": "90"}]}', "no status word"),
    ('{"atr": "3B00", "exchanges": [{"c": "00A4", "r": "9000"}]}', "shorter than 4 bytes"),
    ('{"atr": "XY", "exchanges": []}', "atr is not hex"),
    ('{"atr": "3B00", "protocol": 2, "exchanges": []}', "protocol is 0 or 1"),
    ('{"atr": "3B00", "aid": "A0000000038002", "pin": "1234"}', "a card profile?"),
])
def test_replay_malformed_trace_is_a_clean_error(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content)
    out = CliRunner().invoke(main, ["replay", str(path)])
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit), out.output
    assert out.output.startswith(f"Error: {path}: ") and message in out.output, out.output


def test_replay_file_and_input_errors(tmp_path):
    for args, message in ((["nofile.json"], "does not exist"),
                          ([str(tmp_path)], "is a directory"),
                          (["t.json", "--pin", "1234"], "No such option '--pin'"),
                          (["t.json", "--mode", "respond"], "respond needs --challenge"),
                          (["t.json", "--mode", "identify", "--amount", "5"], "no challenge"),
                          (["t.json", "42"], "data fields go after --data"),
                          (["t.json", "u.json"], "one TRACE.json only"),
                          (["--mode", "sign", "--data", "1", "2"], "give one TRACE.json")):
        (tmp_path / "t.json").write_text('{"atr": "3B00", "protocol": 0, "exchanges": []}')
        with_path = [str(tmp_path / a) if a.endswith(".json") else a for a in args]
        out = CliRunner().invoke(main, ["replay", *with_path])
        assert out.exit_code == 2 and message in out.output, (args, out.output)
        assert isinstance(out.exception, SystemExit), out.exception
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    out = CliRunner().invoke(main, ["replay", str(tmp_path / "bin.json")])
    assert out.exit_code == 1 and "not a text file" in out.output, out.output


def test_replay_hints_at_the_unmatched_command(env, tmp_path):
    p, r, trace = record(env, "mc_cap", CASES["sign"])
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(trace))
    out = CliRunner().invoke(
        main, ["replay", str(path), "--mode", "sign", "--amount", "1998", "--ref", "42"])
    assert out.exit_code == 1 and out.stdout == ""
    assert "error: StatusError: GENERATE AC: SW 6A82" in out.stderr, out.stderr
    assert "the trace has no answer to 80AE8000" in out.stderr, out.stderr
    js = CliRunner().invoke(main, ["replay", str(path), "--mode", "identify", "--json"])
    res = json.loads(js.output)
    assert js.exit_code == 1 and res["unmatched"][0].startswith("80AE8000"), res
    # a trace of something else: nothing answered at all
    path.write_text(json.dumps({"atr": "3B00", "protocol": 0,
                                "exchanges": [{"c": "00B2010C00", "r": "9000"}]}))
    out = CliRunner().invoke(main, ["replay", str(path)])
    assert out.exit_code == 1 and "answers none of the reader's commands" in out.stderr


def test_verify_clean_errors(tmp_path):
    out = CliRunner().invoke(main, ["verify", "--card", "nosuch", "12345678"])
    assert out.exit_code == 1 and "no card profile 'nosuch' (bundled: bancontact, be_maestro, mc_cap" in out.output
    bad = tmp_path / "bad.json"
    bad.write_text("{bad")
    out = CliRunner().invoke(main, ["verify", "--card", str(bad), "12345678"])
    assert out.exit_code == 1 and out.output.startswith("Error: card profile"), out.output
    bad.write_text('{"atr": "3B00"}')
    out = CliRunner().invoke(main, ["verify", "--card", str(bad), "12345678"])
    assert out.exit_code == 1 and "bad.json: no aid (required)" in out.output, out.output
    out = CliRunner().invoke(main, ["verify", "--window", "0", "12345678"])
    assert out.exit_code == 2 and "--window" in out.output, out.output
    out = CliRunner().invoke(main, ["verify", "1234"])
    assert out.exit_code == 2 and "a code is 8 to 20 digits" in out.output, out.output


def test_help_texts():
    for cmd, words in (("replay", ["TRACE.json", "sesame trace", "--mode respond --challenge",
                                   "--data", "same inputs"]),
                       ("verify", ["accepted once", "replayed", "rejected", "--window",
                                   "visa_dpa (default), bancontact, be_maestro, mc_cap, no_ipb, psn, t1_card"]),
                       ("trace", ["sesame sim --serve", "--test-build", "sesame replay",
                                  "--keys", "PIN masked"])):
        out = CliRunner().invoke(main, [cmd, "--help"], terminal_width=100)
        text = " ".join(out.output.split())
        assert out.exit_code == 0
        for w in words:
            assert w in text, (cmd, w, out.output)


def test_issuer_state_survives_a_failed_write(env, tmp_path, monkeypatch):
    """A crash while the acceptance is written leaves the previous state whole (and the
    code unaccepted: the caller never heard "accepted"), with no temporary file."""
    from sesame_tools.vcard import state as states_mod

    p, st, line = env("visa_dpa")
    ipath = tmp_path / "i.json"
    first = transact(line, p.pin, CASES["identify"])
    assert issuer.verify(p, first.code, path=ipath) == (issuer.ACCEPTED, first.atc)
    before = ipath.read_text()
    second = transact(line, p.pin, CASES["identify"])

    def crash(src, dst):
        raise OSError("disk gone")

    with monkeypatch.context() as m:
        m.setattr(states_mod.os, "replace", crash)
        with pytest.raises(OSError):
            issuer.verify(p, second.code, path=ipath)
    assert ipath.read_text() == before
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]
    assert issuer.verify(p, second.code, path=ipath) == (issuer.ACCEPTED, second.atc)
    assert issuer.verify(p, first.code, path=ipath) == (issuer.REPLAYED, first.atc)


# -- generated cases: random inputs in every mode, every profile
_digits = hst.text("0123456789", min_size=1, max_size=8)
_case = hst.one_of(
    hst.just(dict(mode="identify")),
    hst.builds(lambda c: dict(mode="respond", challenge=c), _digits),
    hst.builds(lambda a, c: dict(mode="sign", amount=a, challenge=c),
              hst.text("0123456789", min_size=1, max_size=12), _digits),
    hst.builds(lambda d: dict(mode="sign", data=tuple(d)),
              hst.lists(hst.text("0123456789", min_size=1, max_size=10), min_size=1, max_size=10)),
)


@settings(max_examples=40, deadline=None)
@given(name=hst.sampled_from(PROFILES), case=_case, skip=hst.integers(0, 31))
def test_generated_cases_match_oracle_and_issuer(name, case, skip):
    """Random inputs and counters: engine + virtual card = pyemv oracle; the issuer
    accepts the code once, after up to 31 codes it never saw (its default ATC window)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = profiles.load(name)
        st_ = CardState(Path(d) / "card.json", p.atc + skip, p.pin_try_limit)
        r = transact(MemoryLine(p, st_), p.pin, case)
        kw = {k: v for k, v in case.items() if k != "mode"}
        want, arqc = oracle_code(p, r.atc, case["mode"], **kw)
        assert r.code == want and r.atc == p.atc + skip + 1
        ipath = Path(d) / "issuer.json"
        assert issuer.verify(p, r.code, case["mode"], path=ipath, **kw) == \
            (issuer.ACCEPTED, r.atc)
        assert issuer.verify(p, r.code, case["mode"], path=ipath, **kw)[0] == issuer.REPLAYED


def test_trace_redaction_zeroes_cardholder_data_and_still_replays(env):
    from sesame_tools.cli.trace import redact

    p, st, line = env("visa_dpa")
    exchanges = []
    r = transact(line, p.pin, CASES["identify"],
                 trace_to=lambda ev: exchanges.append(ev.arg))
    t = {"atr": None, "protocol": 0, "exchanges": []}
    for a in exchanges:
        kind, _, data = a.partition(" ")
        if kind == "atr":
            t["atr"] = data
        elif kind == "c":
            c = data
        elif kind == "r":
            t["exchanges"].append({"c": c, "r": data})
    pan = p.pan
    assert any(pan in x["r"] for x in t["exchanges"])  # the card did send its PAN
    red = redact(t)
    assert not any(pan in x["r"] for x in red["exchanges"])
    assert [len(x["r"]) for x in red["exchanges"]] == [len(x["r"]) for x in t["exchanges"]]
    assert replay.run(red).code == r.code


def test_trace_redaction_covers_certificates_and_bank_account():
    from sesame.emv import tlv
    from sesame_tools.cli.trace import redact

    def obj(tag, value):
        return tlv.encode(tag, value)

    secret = {0x9F46: b"\x6A" + b"\x54\x13\x33\x90" * 8, 0x9F2D: b"\x6A\x12" * 10,
              0x5F53: b"FR7630006000011234567890189", 0x5F54: b"AGRIFRPP"}
    kept = obj(0x8C, bytes.fromhex("9F0206"))
    rec = obj(0x70, b"".join(obj(t, v) for t, v in secret.items()) + kept)
    red = redact({"exchanges": [{"c": "00B2010C00", "r": rec.hex().upper() + "9000"}]})
    r = bytes.fromhex(red["exchanges"][0]["r"])
    assert len(r) == len(rec) + 2 and kept in r
    for v in secret.values():
        assert v not in r
