# Power policy, board-independent: when to sleep and how long a watchdog may wait.
# The app decides "off" (35 s idle, or 35 s after a code was shown); the reader then
# turns the display off and deactivates the card, and a board with a sleep hook is put
# to sleep until a key or the card-detect switch wakes it.
from micropython import const

WATCHDOG_MS = const(8000)  # the RP2040 watchdog's limit is 8388 ms
# Longest a card exchange may hold the loop: WWT at F=372, 4 MHz is 960*10*93 us ~ 0.9 s
# per character, the loop feeds the dog between characters' callers.
FEED_EVERY_MS = const(1000)


class Policy:
    # Fields: light_ms (light sleep slice while off), deep (use deep sleep where the
    # board can wake from it on a key or the card switch).
    def __init__(self, light_ms=200, deep=False):
        self.light_ms = light_ms
        self.deep = deep

    def plan(self, off, key_down, card_changed):
        # What the board should do now: "run", "light" (sleep light_ms, then poll) or
        # "deep" (sleep until a wake pin).
        if not off or key_down or card_changed:
            return "run"
        return "deep" if self.deep else "light"
