"""Every transaction ends in bounded time and the user can stop it, on the simulated board
with a card that sends each character just inside its waiting time (the virtual card's
`slow_bytes_ms`): WWT 960 etu (TC2 = 1: 89 ms, plus the simulated line's 100 ms of host
slack), a character every 150 ms, so no single wait ever times out and an Identify
transaction (about 400 characters) would take a minute. CLEAR and pulling the card out
end it within a second, the deadline ends it on its own; each time the card is
deactivated, a message shown, no code."""

from __future__ import annotations

import json
import time

import pytest

from sesame_tools.vcard import profile as profiles

pytestmark = pytest.mark.sim_only
SLOW_ATR = "3BE50000400120" + "63CB6800"  # TC2 01: WWT 960 etu
SLOW = {"slow_bytes_ms": 150}


def slow_card(tmp_path) -> str:
    base = json.loads((profiles.cards_dir() / "visa_dpa.json").read_text())
    base.update(name="slow", atr=SLOW_ATR, link=SLOW)
    p = tmp_path / "slow.json"
    p.write_text(json.dumps(base))
    return str(p)


def start(r) -> None:
    """CODE, PIN, OK without waiting for OK's answer (it comes when the transaction ends)."""
    r.idle()
    r.press("CODE", *r.pin)
    r.client.send("!key OK")
    r.client.wait("state", "busy", timeout=5)
    time.sleep(1.0)  # the card is well into its slow answers
    assert "slow_bytes" in fired(r) or r.board.vcard.sessions[-1].powered


def fired(r) -> set:
    out: set = set()
    for s in r.board.vcard.sessions:
        out |= set(s.faults.fired)
    return out


def ends_with(r, text: str, since: float, within: float) -> None:
    ev = r.client.latest("disp", text, timeout=within + 5)
    took = time.monotonic() - since
    assert took < within, f"{text!r} after {took:.1f} s"
    states = [e.arg for e in r.client.history if e.name == "state"]
    assert "code" not in states, states
    assert not [e for e in r.client.history if e.name == "error"]  # a typed error, no bug
    last = r.board.vcard.sessions[-1]
    for _ in range(50):
        if not last.powered:
            break
        time.sleep(0.05)
    assert not last.powered, "the card is still powered"
    assert ev.arg == text


def test_clear_cancels_a_slow_transaction(make_reader, tmp_path):
    r = make_reader(card=slow_card(tmp_path))
    start(r)
    t = time.monotonic()
    r.client.send("!key CLEAR")
    ends_with(r, "AbortEd", t, within=1.0)
    for _ in range(2):  # OK's and CLEAR's answers, once the transaction is over
        r.client.wait("ok", "key", timeout=5)
    r.press("CLEAR")  # the message goes, the reader is usable again
    assert r.client.history[-1].name == "ok"


def test_pulling_the_card_out_cancels_it(make_reader, tmp_path):
    r = make_reader(card=slow_card(tmp_path))
    start(r)
    t = time.monotonic()
    r.client.card(False)  # answered during the transaction
    ends_with(r, "no CArd", t, within=1.0)
    r.client.latest("card", "out", timeout=5)


def test_a_slow_card_meets_the_transaction_deadline(make_reader, tmp_path):
    r = make_reader(card=slow_card(tmp_path), transaction_s=4)
    r.idle()
    r.press("CODE", *r.pin)
    t = time.monotonic()
    r.client.send("!key OK")
    ends_with(r, "too SLOU", t, within=6.0)
    assert time.monotonic() - t >= 4.0
    assert "slow_bytes cut" in fired(r) or "slow_bytes" in fired(r), fired(r)


def test_a_slow_card_still_gives_a_code_within_the_deadline(make_reader, tmp_path):
    # the same card, faster (30 ms a character): the deadline is not a timeout per se
    base = json.loads((profiles.cards_dir() / "visa_dpa.json").read_text())
    base.update(name="slowish", atr=SLOW_ATR, link={"slow_bytes_ms": 30})
    p = tmp_path / "slowish.json"
    p.write_text(json.dumps(base))
    r = make_reader(card=str(p), transaction_s=40)
    code = r.get_code()
    assert code[:4].isdigit(), code
    assert "slow_bytes" in fired(r)
