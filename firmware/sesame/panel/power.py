# Power policy, board-independent: when to sleep and how long a watchdog may wait.
# The app decides "off" (35 s idle, or 35 s after a code was shown); the reader then
# turns the display off and deactivates the card, and a board with a sleep hook is put
# to sleep until a key or the card-detect switch wakes it. A wake by a key lets the
# reader read that key; a card inserted turns it on (the app shows rEAdY until auto-off);
# anything else (the card pulled out, a key let go too soon) and the reader sleeps again.
# After a sleep the board sets its clocks again (RP2040: lightsleep brings the build's
# default clocks back, see boards/pico/board.py).
from micropython import const

WATCHDOG_MS = const(8000)  # the RP2040 watchdog's limit is 8388 ms
WAKE_GRACE_MS = const(500)  # after a wake, awake this long for the waking key to be read
# A card exchange holds the loop for up to one WWT per character (960*10*93 us ~ 0.9 s
# at F=372, 4 MHz): the card lines feed the dog while they wait (line.feed).


class Policy:
    # Fields: light_ms (light sleep slice while off), deep (use deep sleep where the
    # board can wake from it on a key or the card switch), grace_ms (see WAKE_GRACE_MS).
    def __init__(self, light_ms=200, deep=False, grace_ms=WAKE_GRACE_MS):
        self.light_ms = light_ms
        self.deep = deep
        self.grace_ms = grace_ms

    def back_to_sleep(self, off, since_wake_ms):
        # Whether the reader should sleep now: whenever the app is off, but not within
        # grace_ms of a wake (the keypad debounces the waking key over a few loop passes).
        # since_wake_ms: None before the first sleep.
        return off and (since_wake_ms is None or since_wake_ms >= self.grace_ms)

    def plan(self, off, key_down, card_changed):
        # What the board should do now: "run", "light" (sleep light_ms, then poll) or
        # "deep" (sleep until a wake pin).
        if not off or key_down or card_changed:
            return "run"
        return "deep" if self.deep else "light"


def may_sleep(settings):
    # A board sleeps while off unless it is a test build (its USB serial link stays up)
    # or config.json says "sleep": false.
    if settings.get("test_build"):
        return False
    return bool(settings.get("sleep", True))


def wait_for_wake(policy, feed, key_down, present, sleep_ms):
    # While off: sleep policy.light_ms at a time (sleep_ms) until a key is held (key_down)
    # or the card is inserted or removed (present changes), feeding the watchdog (feed)
    # before each slice. Returns when the reader should run again: True when it slept
    # (the board's clocks may need setting again), False when it returned at once.
    card = present()
    slept = False
    while True:
        feed()
        if policy.plan(True, key_down(), present() != card) == "run":
            return slept
        sleep_ms(policy.light_ms)
        slept = True
