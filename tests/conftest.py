"""Shared pytest options: the HIL suite targets the simulated board unless --port is given."""


def pytest_addoption(parser):
    g = parser.getgroup("sesame", "Sésame hardware-in-the-loop")
    g.addoption("--port", default=None,
                help="Serial port of a real board (e.g. /dev/ttyACM0); default: simulated board")
    g.addoption("--pin", default=None,
                help="The inserted card's PIN (real board; default $SESAME_PIN, else 1234). "
                "The simulated board's card always has 1234")
    g.addoption("--spend-pin-tries", action="store_true",
                help="Allow tests that present a wrong PIN to a real card (never below 2 tries)")
    g.addoption("--prompt-timeout", type=float, default=60,
                help="Seconds to wait for a physical action on a real board (insert the card...)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sim_only: needs the simulated board's powers (virtual card, card control, "
        "other settings); skipped with --port")
