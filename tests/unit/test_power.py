# Power policy and the display layouts' fit (board-independent parts of power management).
from sesame import power


def test_sleep_plan():
    p = power.Policy(200)
    assert p.plan(False, False, False) == "run"
    assert p.plan(True, False, False) == "light"
    assert p.plan(True, True, False) == "run"
    assert p.plan(True, False, True) == "run"
    assert power.Policy(200, deep=True).plan(True, False, False) == "deep"
    assert power.WATCHDOG_MS <= 8388  # the RP2040's longest watchdog
