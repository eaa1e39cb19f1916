# Power policy and the display layouts' fit (board-independent parts of power management).
from sesame.panel import power


def test_sleep_plan():
    p = power.Policy(200)
    assert p.plan(False, False, False) == "run"
    assert p.plan(True, False, False) == "light"
    assert p.plan(True, True, False) == "run"
    assert p.plan(True, False, True) == "run"
    assert power.Policy(200, deep=True).plan(True, False, False) == "deep"
    assert power.WATCHDOG_MS <= 8388  # the RP2040's longest watchdog


def test_may_sleep():
    assert power.may_sleep({}) is True
    assert power.may_sleep({"sleep": True, "watchdog": True}) is True
    assert power.may_sleep({"sleep": False}) is False
    assert power.may_sleep({"test_build": True}) is False
    assert power.may_sleep({"test_build": True, "sleep": True}) is False


class _Off:
    # A board while off: keys held and card presence given per poll, sleeps recorded.
    def __init__(self, keys, cards):
        self.keys, self.cards, self.log = list(keys), list(cards), []

    def feed(self):
        self.log.append("feed")

    def key_down(self):
        return self.keys.pop(0)

    def present(self):
        return self.cards.pop(0)

    def sleep(self, ms):
        self.log.append(ms)


def test_back_to_sleep_whenever_off_but_not_right_after_a_wake():
    p = power.Policy(200, grace_ms=500)
    assert p.back_to_sleep(True, None) is True  # switched off: sleep
    assert p.back_to_sleep(False, None) is False
    assert p.back_to_sleep(True, 100) is False  # just woke: the key has to be read first
    assert p.back_to_sleep(True, 500) is True  # woke, still off: a spurious wake, sleep again
    assert p.back_to_sleep(False, 10_000) is False
    assert power.Policy().grace_ms == power.WAKE_GRACE_MS


def test_wait_for_wake_tells_whether_it_slept():
    b = _Off([True], [True, True])  # a key already held: no sleep, the clocks are as they were
    assert power.wait_for_wake(power.Policy(200), b.feed, b.key_down, b.present, b.sleep) is False
    b = _Off([False, True], [True, True, True])
    assert power.wait_for_wake(power.Policy(200), b.feed, b.key_down, b.present, b.sleep) is True


def test_wait_for_wake_on_a_key():
    b = _Off([False, False, True], [True, True, True, True])
    power.wait_for_wake(power.Policy(200), b.feed, b.key_down, b.present, b.sleep)
    assert b.log == ["feed", 200, "feed", 200, "feed"]  # fed before each slice
    assert b.keys == [] and b.cards == []


def test_wait_for_wake_on_the_card_switch():
    b = _Off([False, False, False], [False, False, True, False])
    power.wait_for_wake(power.Policy(150), b.feed, b.key_down, b.present, b.sleep)
    assert b.log == ["feed", 150, "feed"]  # the card was inserted during the first slice
    assert b.keys == [False] and b.cards == [False]
