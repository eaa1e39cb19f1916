"""HIL fixtures: a reader behind a serial port, the simulated board by default, a real
board with --port. On a real board the suite asks for the physical actions it needs
(insert the card) and skips politely when nobody does them in time."""

from __future__ import annotations

import os
import re

import pytest

from sesame_tools.boardio.testlink import LinkClient, LinkTimeout
from sesame_tools.sim.board import SimBoard

SIM_REASON = "needs the simulated board (virtual card, card control or issuer keys)"
MIN_TRIES = 2  # a test never leaves a real card with fewer PIN tries than this


def pytest_collection_modifyitems(config, items):
    if config.getoption("--port"):
        skip = pytest.mark.skip(reason=SIM_REASON)
        for item in items:
            if "sim_only" in item.keywords:
                item.add_marker(skip)


def tell(config, text: str) -> None:
    """Shows a message to the person at the board, even while pytest captures output."""
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman:
        with capman.global_and_fixture_disabled():
            print(f"\n>>> {text}", flush=True)
    else:
        print(f"\n>>> {text}", flush=True)


WRONG_PIN = re.compile(r"^(\d+) triES?$")


class PinGuard(list):
    """A real board's event history that stops the whole run the moment the card says
    a PIN was wrong (a wrong --pin would otherwise spend a try in every test), or that it
    is down to its last try or blocked. Tests allowed to present a wrong PIN
    (spend_pin_try) raise `allowed` first."""

    def __init__(self, events=()):
        super().__init__(events)
        self.allowed = 0

    def append(self, ev) -> None:
        super().append(ev)
        if ev.name != "disp":
            return
        m = WRONG_PIN.match(ev.arg)
        if m and self.allowed > 0:
            self.allowed -= 1
            return
        if m:
            why = (f"the card refused the PIN ({m.group(1)} tries left): is --pin this "
                   "card's PIN?")
        elif ev.arg in ("LASt try", "bLOCKEd", "PIn OFF"):
            why = f"the card is down to its last PIN try or blocked (display {ev.arg!r})"
        else:
            return
        pytest.exit(f"{why} The HIL run stops here so that it spends no more of the card's "
                    "PIN tries; a transaction with the right PIN restores the counter.",
                    returncode=3)


class Reader:
    """A reader under test: its test-link client, and the sim board when simulated."""

    def __init__(self, client: LinkClient, board: SimBoard | None, pin: str, config=None):
        self.client = client
        self.board = board
        self.pin = pin
        self.config = config
        if board is None:  # a real card: watch every display for a refused PIN
            client.history = PinGuard(client.history)

    @property
    def simulated(self) -> bool:
        return self.board is not None

    def press(self, *keys: str) -> None:
        for k in keys:
            self.client.key(k)

    def get_code(self, pin: str | None = None) -> str:
        """CODE, PIN, OK; returns the displayed code ("1234 5678")."""
        self.idle()
        self.press("CODE", *(pin or self.pin), "OK")
        ev = [e for e in self.client.history if e.name in ("state", "disp")][-2:]
        assert [e.name for e in ev] == ["state", "disp"], ev
        assert ev[0].arg == "code", f"no code shown: {ev}"
        return ev[1].arg

    def idle(self) -> None:
        """Bring the reader back to idle (CLEAR leaves a code or a message)."""
        self.client.send("!status")
        state = self.client.wait("state").arg
        self.client.wait("disp")
        if state == "off":
            self.press("CLEAR")  # wakes it
        elif state in ("code", "message", "pin"):
            while state != "idle":
                self.client.key("CLEAR")
                state = [e for e in self.client.history if e.name == "state"][-1].arg

    def info(self) -> str:
        self.client.send("!info")
        return self.client.wait("info", timeout=5).arg

    def card_in(self) -> bool:
        self.client.send("!status")
        self.client.wait("state")
        return self.client.wait("disp").arg not in ("InSErt", "no CArd")

    def ask(self, action: str, event: str, arg: str) -> None:
        """Real board: asks the person to do `action`, waits for the event; skips the
        test politely when it does not come in time. Simulated board: does it."""
        if self.simulated:
            self.client.card(arg == "in")
            return
        timeout = self.config.getoption("--prompt-timeout")
        tell(self.config, f"{action} (waiting {timeout:g} s)")
        try:
            self.client.wait(event, arg, timeout=timeout)
        except LinkTimeout:
            pytest.skip(f"nobody did it within {timeout:g} s: {action}")

    def ensure_card(self) -> None:
        if not self.card_in():
            self.ask("Insert the card into the reader.", "card", "in")

    def tries_left(self) -> int:
        """The card's PIN try counter, read from an APDU trace of a right-PIN
        transaction (GET DATA 9F17 comes before VERIFY; a right PIN restores it)."""
        from sesame_tools.cli.trace import record

        self.idle()
        t = record(self.client, ["CODE", *self.pin, "OK"], timeout=30)
        for x in t["exchanges"]:
            if x["c"].startswith("80CA9F17") and x["r"].endswith("9000"):
                r = bytes.fromhex(x["r"])
                return r[3]  # 9F17 01 nn 90 00
        pytest.skip("the card does not tell its PIN try counter (GET DATA 9F17): "
                    "a wrong PIN is never presented to it")


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    d = tmp_path / "state"
    d.mkdir()
    monkeypatch.setenv("SESAME_STATE_DIR", str(d))
    return d


@pytest.fixture
def make_reader(request, state_dir):
    """make_reader(**sim_settings) -> Reader. On a real board (--port) the settings must
    be the board's own, so tests that need other settings are skipped there; the board
    must run a test build, with the card in (the suite asks for it)."""
    port = request.config.getoption("--port")
    # $SESAME_PIN is a real card's: never typed into the simulated board (whose card is 1234)
    pin = request.config.getoption("--pin") or (
        os.environ.get("SESAME_PIN", "1234") if port else "1234")
    opened: list[tuple[LinkClient, SimBoard | None]] = []

    def make(**settings) -> Reader:
        board = None
        if port:
            if settings:
                pytest.skip(f"needs simulator settings {settings}")
            client = LinkClient(port)
        else:
            board = SimBoard(**settings)
            client = LinkClient(board.start())
        opened.append((client, board))
        client.sync()
        r = Reader(client, board, pin, request.config)
        if port:
            info = r.info()
            if "build=test" not in info:
                pytest.skip(f"the board runs a production build ({info}): flash it with "
                            "`sesame flash --test-build` to run tests that press keys")
            r.ensure_card()
        return r

    yield make
    for client, board in opened:
        client.close()
        if board:
            board.stop()


@pytest.fixture
def reader(make_reader) -> Reader:
    return make_reader()


@pytest.fixture
def sim_only(request):
    """Kept for the tests that ask for it as a fixture; new tests use the marker."""
    if request.config.getoption("--port"):
        pytest.skip(SIM_REASON)


@pytest.fixture
def spend_pin_try(request, reader) -> Reader:
    """A reader on which one wrong PIN may be presented: always on the simulated board;
    on a real board only with --spend-pin-tries and while the card keeps at least
    MIN_TRIES tries after it."""
    if reader.simulated:
        return reader
    if not request.config.getoption("--spend-pin-tries"):
        pytest.skip("presents a wrong PIN to a real card: run with --spend-pin-tries")
    tries = reader.tries_left()
    if tries - 1 < MIN_TRIES:
        pytest.skip(f"the card has {tries} PIN tries: one more wrong PIN would leave "
                    f"fewer than {MIN_TRIES}")
    reader.client.history.allowed = 1  # this one, and no other
    return reader
