"""The reader loop drives a real board's optional power hooks: the watchdog is fed on
every pass (also while the last-try prompt waits), and while the app is off the board is
put to sleep until a key or the card wakes it: a key then wakes the reader, a card
inserted turns it on (rEAdY until auto-off), anything else (the card pulled out, a key let
go before it was read) puts it back to sleep. Boards without the hooks (the simulated one)
simply lack them."""

from __future__ import annotations

import io
import os
import time

import pytest

from sesame.panel import power
from sesame.reader.loop import Reader


@pytest.fixture(autouse=True)
def micropython_time(monkeypatch):
    # the MicroPython clock functions the reader uses, on CPython
    monkeypatch.setattr(time, "ticks_ms", lambda: time.monotonic_ns() // 1000000, raising=False)
    monkeypatch.setattr(time, "ticks_diff", lambda a, b: a - b, raising=False)


class Display:
    def __init__(self):
        self.shown, self.offs = [], 0

    def show(self, text):
        self.shown.append(text)

    def off(self):
        self.offs += 1


class Line:
    card = False

    def present(self):
        return self.card

    def deactivate(self):
        pass


class Keys:
    def __init__(self):
        self.queue = []

    def poll(self):
        return self.queue.pop(0) if self.queue else None


class Board:
    name = "fake"

    def __init__(self):
        self.settings = {"auto_off_s": 0.05, "loop_ms": 1}
        self.display, self.line, self.keys = Display(), Line(), Keys()
        self.feeds = self.sleeps = 0
        self.policy = power.Policy(200, grace_ms=20)
        self.wakes = None  # what ends each sleep: "key" (CODE held, the default), "in"/"out"
        # (the card), "" (nothing: a key let go too soon), "stop" (ends the test)

    def feed_watchdog(self):
        self.feeds += 1

    def sleep_until_wake(self):
        self.sleeps += 1
        why = self.wakes.pop(0) if self.wakes else "key" if self.wakes is None else "stop"
        if why == "stop":
            raise StopIteration  # the test is over
        if why == "key":
            self.keys.queue.append("CODE")  # the key that woke the board
        elif why in ("in", "out"):
            self.line.card = why == "in"


def reader(board):
    r, w = os.pipe()
    return Reader(board, stdin=os.fdopen(r, "rb"), stdout=io.StringIO())


def test_watchdog_fed_every_pass_and_sleep_after_off():
    b = Board()
    rd = reader(b)
    rd.do(rd.app.power_on(rd._clock(), False))
    for _ in range(5):
        rd.step(0)
    assert b.feeds == 5 and b.sleeps == 0
    for _ in range(200):
        rd.step(1)
        if b.sleeps:
            break
    assert b.sleeps == 1 and b.display.offs == 1 and rd.app.state == "off"
    rd.step(0)  # the waking key (CODE, no card) powers the reader on again
    assert rd.app.state == "message" and b.display.shown[-1] == "no CArd", b.display.shown


def run_until_asleep(rd, b, passes=400):
    with pytest.raises(StopIteration):
        for _ in range(passes):
            rd.step(1)


def test_a_card_inserted_while_asleep_shows_ready_then_sleeps_after_auto_off():
    b = Board()
    b.wakes = ["in", "stop"]
    rd = reader(b)
    rd.do(rd.app.power_on(rd._clock(), False))
    run_until_asleep(rd, b)
    assert b.display.shown == ["InSErt", "rEAdY"]  # woke on the card, then slept again
    assert b.sleeps == 2 and b.display.offs == 2 and rd.app.state == "off"


def test_a_wake_that_changes_nothing_sleeps_again():
    # the card pulled out while asleep, or a key released before it was read
    b = Board()
    b.line.card = True
    b.wakes = ["out", "", "stop"]
    rd = reader(b)
    rd._card = True
    rd.do(rd.app.power_on(rd._clock(), True))
    run_until_asleep(rd, b)
    assert b.sleeps == 3 and b.display.shown == ["rEAdY"] and rd.app.state == "off"


def test_status_while_off_reports_a_dark_display():
    b = Board()
    b.wakes = ["stop"]
    rd = reader(b)
    rd.do(rd.app.power_on(rd._clock(), False))
    run_until_asleep(rd, b)
    rd.link.event("disp", rd.shown)  # what !status sends
    assert rd.stdout.getvalue().splitlines()[-1] == "@disp "


def test_boards_without_hooks_run():
    b = Board()
    b.feed_watchdog = b.sleep_until_wake = None  # what getattr finds on a board without them
    rd = reader(b)
    rd.do(rd.app.power_on(rd._clock(), False))
    for _ in range(200):
        rd.step(1)
        if rd.app.state == "off":
            break
    assert rd.app.state == "off" and b.display.offs == 1 and b.feeds == b.sleeps == 0


def test_a_bug_on_every_pass_is_reported_sparingly_and_the_loop_goes_on(monkeypatch):
    monkeypatch.setattr(time, "sleep_ms", lambda ms: None, raising=False)
    clock = [0]

    def ticks_ms():  # 100 ms per reading
        clock[0] += 100
        return clock[0]

    monkeypatch.setattr(time, "ticks_ms", ticks_ms, raising=False)
    b = Board()
    polls = {"n": 0}

    def poll():  # a keypad driver bug on every other pass, 100 times, then the test stops
        polls["n"] += 1
        if polls["n"] > 200:
            raise KeyboardInterrupt
        if polls["n"] % 2:
            raise IndexError("bug")
        return None

    b.keys.poll = poll
    b.settings["auto_off_s"] = 3600  # awake all along: the passes are what is counted
    rd = reader(b)
    with pytest.raises(KeyboardInterrupt):
        rd.run()
    errors = [x for x in rd.stdout.getvalue().splitlines() if x.startswith("@error")]
    assert errors[0] == "@error IndexError" and len(errors) <= 30, errors  # not 100
    counts = [1] + [int(x.rpartition(" x")[2]) for x in errors[1:]]
    assert sum(counts) <= 100 and all(n > 1 for n in counts[1:]), errors
    assert b.feeds == 201  # every pass ran (and fed the watchdog)
