"""HIL fixtures: a reader behind a serial port, the simulated board by default."""

from __future__ import annotations

import pytest

from sesame_tools.client import LinkClient
from sesame_tools.simboard import SimBoard


class Reader:
    """A reader under test: its test-link client, and the sim board when simulated."""

    def __init__(self, client: LinkClient, board: SimBoard | None, pin: str):
        self.client = client
        self.board = board
        self.pin = pin

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


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    d = tmp_path / "state"
    d.mkdir()
    monkeypatch.setenv("SESAME_STATE_DIR", str(d))
    return d


@pytest.fixture
def make_reader(request, state_dir):
    """make_reader(**sim_settings) -> Reader. On a real board (--port) the settings must
    be the board's own, so tests that need other settings are skipped there."""
    port = request.config.getoption("--port")
    pin = request.config.getoption("--pin")
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
        return Reader(client, board, pin)

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
    if request.config.getoption("--port"):
        pytest.skip("needs the simulated board (virtual card, card control or issuer keys)")
