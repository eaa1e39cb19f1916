# A running transaction ends on CLEAR, on card removal and past its deadline: the reader
# loop's hook (Reader._watch, the line's on_wait) against a card that answers its ATR and
# then keeps the reader waiting, each character just inside its waiting time. The PIN is
# wiped and the card deactivated on every path.
import time
from unitcheck import micropython_time
from sesame.errors import CardAbsent
from sesame.reader.loop import Reader

micropython_time()

_ATR = (0x3B, 0x65, 0x00, 0x00, 0x20, 0x63, 0xCB, 0x68, 0x00)  # T=0 only


class SlowLine:
    # After the ATR every character needs `waits` calls of on_wait (5 ms each) first:
    # the reader is always waiting, never timed out. NULL bytes (60) forever.
    def __init__(self, waits=4):
        self.waits = waits
        self.on_wait = None
        self.inside = True
        self.powered = False
        self.deactivations = 0
        self.rx = []
        self.sent = bytearray()

    def present(self):
        return self.inside

    def cold_reset(self):
        self.powered = True
        self.rx = list(_ATR)

    def warm_reset(self):
        self.cold_reset()

    def deactivate(self):
        self.powered = False
        self.deactivations += 1

    def write(self, data):
        self.sent += bytes(data)

    def read_byte(self, timeout_etu):
        if self.rx:
            return self.rx.pop(0)
        for _ in range(self.waits):  # as a board's line waits: the switch, then the hook
            time.sleep(0.005)
            if not self.present():
                raise CardAbsent("card removed")
            if self.on_wait is not None:
                self.on_wait()
        return 0x60  # NULL: "more time", within WWT


class Keys:
    def __init__(self):
        self.queue = []

    def poll(self):
        return self.queue.pop(0) if self.queue else None


class Shown:
    def __init__(self):
        self.texts = []

    def show(self, text):
        self.texts.append(text)

    def off(self):
        pass


class Board:
    name = "fake"

    def __init__(self, **settings):
        self.settings = settings
        self.line = SlowLine()
        self.keys = Keys()
        self.display = Shown()


class Out:
    def __init__(self):
        self.lines = []

    def write(self, s):
        self.lines.append(s)


def _reader(**settings):
    b = Board(**settings)
    rd = Reader(b, stdin=open("/dev/null", "rb"), stdout=Out())
    rd.do(rd.app.power_on(0, True))
    for k in ("CODE", "1", "2", "3", "4"):
        rd.do(rd.app.key(k, 0))
    return b, rd


def _run(rd):
    # OK starts the transaction; returns how long it ran (ms) and the message shown.
    t = time.ticks_ms()
    rd.do(rd.app.key("OK", 0))
    return time.ticks_diff(time.ticks_ms(), t), rd.shown


def _ended_cleanly(b, rd):
    assert rd.app.state == "message", rd.app.state
    assert not b.line.powered and b.line.deactivations >= 1
    assert rd._busy == 0  # the hook does nothing outside a transaction
    assert not any(rd.app.pin) and rd.app.npin == 0  # the PIN is wiped
    assert not [x for x in b.display.texts if x[:1].isdigit()]  # no code


def test_clear_stops_a_slow_transaction():
    b, rd = _reader()
    polls = [0]

    def poll():  # CLEAR pressed after about 100 ms of transaction
        polls[0] += 1
        return "CLEAR" if polls[0] == 5 else None

    b.keys.poll = poll
    ms, shown = _run(rd)
    assert shown == "AbortEd", shown
    assert ms < 1000, ms
    _ended_cleanly(b, rd)


def test_removal_stops_a_slow_transaction():
    b, rd = _reader()
    n = [0]

    def present():
        n[0] += 1
        return n[0] < 6

    b.line.present = present
    ms, shown = _run(rd)
    assert shown == "no CArd", shown
    assert ms < 1000, ms
    _ended_cleanly(b, rd)


def test_a_slow_card_meets_the_deadline():
    b, rd = _reader(transaction_s=0.3)
    ms, shown = _run(rd)
    assert shown == "too SLOU", shown
    assert 300 <= ms < 1300, ms
    _ended_cleanly(b, rd)


def test_the_default_deadline_is_a_minute():
    # what the transports let one command work (sesame.clock.WORK_MS), for the whole
    b, rd = _reader()
    seen = []

    def poll():  # the deadline, as the hook sees it, then CLEAR
        seen.append(rd._busy - rd.now)
        return "CLEAR"

    b.keys.poll = poll
    _run(rd)
    from sesame.clock import WORK_MS
    assert WORK_MS - 1000 < seen[0] <= WORK_MS + 1, seen


def test_other_keys_do_not_stop_it():
    b, rd = _reader(transaction_s=0.2)
    b.keys.queue = ["1", "OK", "CODE"]
    ms, shown = _run(rd)
    assert shown == "too SLOU", shown  # ran on to its deadline
    assert b.keys.queue == []
