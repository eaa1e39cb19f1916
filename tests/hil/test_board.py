"""HIL tests written for a real board as much as for the simulated one: physical
actions are asked for on a real board (and done by the simulator otherwise), wrong
PINs only with --spend-pin-tries and never below 2 tries, APDU traces mask the PIN."""

from __future__ import annotations

import re

import pytest

from sesame_tools.boardio.testlink import LinkClient
from sesame_tools.cli.trace import record

CODE_RE = re.compile(r"^\d{4} \d{4}$")


def test_injection_policy_matches_build(request, make_reader):
    """Whatever the target: a test build takes injected keys, a production build
    refuses them and says so (on the simulator: both builds)."""
    port = request.config.getoption("--port")
    builds = [None] if port else [True, False]
    for test_build in builds:
        if port:
            client = LinkClient(port)
        else:
            r = make_reader(test_build=test_build)
            client = r.client
        try:
            client.sync()
            client.send("!info")
            info = client.wait("info").arg
            client.send("!key CLEAR")
            ev = client.wait_any(("ok", "refused", "error"))
            if "build=test" in info:
                assert ev.line == "@ok key", ev
            else:
                assert "build=production" in info, info
                assert ev.name == "refused" and "test build" in ev.arg, ev
                client.send("!trace on")
                assert client.wait_any(("ok", "refused", "error")).name == "refused"
        finally:
            if port:
                client.close()


def test_trace_masks_the_pin(reader):
    t = record(reader.client, ["CODE", *reader.pin, "OK"], timeout=30)
    assert t["atr"] and t["protocol"] in (0, 1)
    verify = [x for x in t["exchanges"] if x["c"][2:4] == "20"]
    assert len(verify) == 1, t
    c = verify[0]["c"]
    assert c[10:] == "2?" + "F" * (len(c) - 12), c  # same length, nothing of the PIN
    assert verify[0]["r"] == "9000"
    genac = [x for x in t["exchanges"] if x["c"].startswith("80AE")]
    assert genac, t
    # tracing is off again: the next transaction sends no trace
    start = len(reader.client.history)
    reader.get_code()
    assert not [e for e in reader.client.history[start:] if e.name == "trace"]


def test_wrong_pin_then_right_pin(spend_pin_try):
    r = spend_pin_try
    r.idle()
    r.press("CODE", *("0000" if r.pin != "0000" else "9999"), "OK")
    shown = [e.arg for e in r.client.history if e.name == "disp"][-1]
    assert re.match(r"^\d triES$", shown), shown
    assert int(shown[0]) >= 2
    r.press("CLEAR")
    assert CODE_RE.match(r.get_code())  # the right PIN restores the counter


def test_card_pulled_out_and_back(reader):
    """The card-detect switch both ways (asked for on a real board)."""
    reader.idle()
    reader.ask("Remove the card from the reader.", "card", "out")
    reader.client.latest("disp", "InSErt", timeout=5)
    reader.ask("Insert the card into the reader again.", "card", "in")
    assert CODE_RE.match(reader.get_code())


@pytest.mark.sim_only
def test_simulated_board_soft_reset_boots_again(reader):
    """Ctrl-C stops the firmware, Ctrl-D (soft reset) boots it again, like a board."""
    c = reader.client
    c.ser.write(b"\r\x03")
    c.ser.write(b"\r\x04")
    ev = c.wait("ready", timeout=10)
    assert "build=test" in ev.arg
    assert any("KeyboardInterrupt" in line for line in c.other), c.other
    assert any("soft reboot" in line for line in c.other), c.other
