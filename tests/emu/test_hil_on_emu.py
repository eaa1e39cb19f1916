"""The HIL tests that need the simulated board's powers (card control, the virtual card's
profiles and faults), run unchanged on the emulated Pico: the same test functions from
tests/hil, with a make_reader that boots the flashed emulated Pico and a Reader whose
`board` is the Emulator (card switch through "!card in|out", vcard sessions to inspect).

Settings a test asks of the simulator other than the card (heap, auto-off, production
build) need the board re-flashed: skipped here with that reason, as are the PPS cases to a
rate the Pico's line does not run. A case the firmware fails against a correct card would
be a strict xfail naming the defect (as in test_emu_card_timing.py); none is left."""

from __future__ import annotations

import importlib.util

import pytest

from emuhelp import LinkClient, ROOT

pytestmark = pytest.mark.emu_matrix

HIL = ROOT / "tests" / "hil"


def _load(name: str):
    # a tests/hil module by its path (tests/ is not a package); its fixtures are not
    # registered by this: ours below are used
    spec = importlib.util.spec_from_file_location(f"hil_{name}", HIL / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


_conf = _load("conftest")
_link = _load("test_linklayer")
_board = _load("test_board")
_reader = _load("test_reader")

test_identify_over_link = _link.test_identify_over_link
test_unrecoverable_fault_shows_error = _link.test_unrecoverable_fault_shows_error
test_card_pulled_out_and_back = _board.test_card_pulled_out_and_back
test_code_is_shown_as_two_groups = _reader.test_code_is_shown_as_two_groups
test_card_removed_and_inserted = _reader.test_card_removed_and_inserted
test_issuer_accepts_code_once = _reader.test_issuer_accepts_code_once
test_every_code_is_new = _reader.test_every_code_is_new
test_wrong_pin_shows_tries_left = _reader.test_wrong_pin_shows_tries_left

NO_FAST_RATE = ("the Pico's line does not run TA1 96 (Fi 512 / Di 32 = 16 clocks per etu, below "
                "rp2_cardline's 31): it does not negotiate, where the simulated board does")
SKIP = {
    "t0-pps": NO_FAST_RATE,
    "t1-pps": NO_FAST_RATE,
    "t0-inverse-pps": NO_FAST_RATE,
    "t1-inverse-pps": NO_FAST_RATE,
    "t0-pps-refused": NO_FAST_RATE,
    "t1-pps-wrong": NO_FAST_RATE,
}


@pytest.fixture(autouse=True)
def _known(request):
    callspec = getattr(request.node, "callspec", None)
    name = callspec.params.get("name") if callspec else None
    if name in SKIP:
        pytest.skip(SKIP[name])


@pytest.fixture
def make_reader(request, flashed, make_emu):
    """tests/hil's make_reader(**settings), on the emulated Pico flashed with a test build."""
    opened: list[LinkClient] = []

    def make(**settings):
        card = settings.pop("card", None)
        if settings:
            pytest.skip(f"needs {settings}: the emulated Pico would be re-flashed with them")
        emu = make_emu(flashed["image"], card=card)
        client = LinkClient(emu.port)
        opened.append(client)
        client.wait("ready", timeout=90)
        return _conf.Reader(client, emu, "1234", request.config)

    yield make
    for c in opened:
        c.close()


@pytest.fixture
def reader(make_reader):
    return make_reader()
