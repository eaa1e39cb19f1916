# The reader loop: the only place that ties the board's objects to the app. It polls
# the keypad, the card-detect switch and the test link, feeds the app, and carries out
# its actions. No exception from a card reaches this loop's caller: each transaction
# ends with the card deactivated and a message on the display. A board with a PC/SC
# channel (board.pcsc) gets it served here too: the CCID slot (sesame.ccid) and its host
# (sesame.reader.pchost, which also hooks the app and this loop) load at its first byte.
#
# A transaction is bounded and can be stopped: while it runs, the card line calls the
# reader's _watch() every few tens of ms while it waits for the card (the line's optional
# `on_wait`, see sesame.iso7816.session), which looks at the keypad and the test link and
# raises Cancelled on CLEAR, or a CardTimeout shown "too SLOU" past the transaction's
# deadline (a minute, see below, or the board's "transaction_s"); the line itself raises
# CardAbsent once the card is out. The exception unwinds the transports like any card
# failure: the PIN is wiped, the card deactivated, the message shown.
import sys
import time
import select
from sesame import VERSION
from sesame.reader.app import App
from sesame.emv.cap import Cancelled, Cap
from sesame.errors import CardError, CardTimeout
from sesame.reader.testlink import Link
from sesame.iso7816.session import open_session

# One whole transaction (activation to the last GENERATE AC), whatever the card does: a
# card that sends each character just inside its waiting time (ISO/IEC 7816-3 10.2: WWT
# = 960 x WI x Fi / f, about 1 s with the default WI 10 at 3.57 MHz; EMV Book 1's T=0
# timing lets a terminal wait WWT + D x 480 etu per character) is bounded by nothing
# else. Real cards answer a CAP transaction (about 10 commands) in 1-3 s; the slowest we
# know take a few seconds for one GENERATE AC with RSA (CDA) and about 10 s in all. A
# minute, what the transports already let one command work (sesame.clock.WORK_MS), is six
# times that and still a wait a user can sit through; CLEAR or pulling the card out ends
# it sooner. (sesame.clock is not imported here: loaded at boot it cost the 64 KB heap
# test its margin; the transports load it.) Boards may set "transaction_s".


class Reader:
    # Fields: board (HAL objects), app, link, now (monotonic ms since start).
    def __init__(self, board, stdin=None, stdout=None):
        self.board = board
        s = board.settings
        self.app = App(auto_off_ms=int(s.get("auto_off_s", 35) * 1000))
        stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.link = Link(self._write, bool(s.get("test_build")))
        self.poll = select.poll()
        self.poll.register(stdin, select.POLLIN)
        # The idle loop allocates nothing (garbage made every pass left the heap of a small
        # board in pieces): MicroPython's ipoll reuses one result tuple where poll makes a
        # list (CPython, host tests: poll), and stdin is read into a 1-byte buffer.
        self._ipoll = getattr(self.poll, "ipoll", self.poll.poll)
        self._in = getattr(stdin, "buffer", stdin)
        self._b = bytearray(1)
        self.now = 0
        self._t = time.ticks_ms()
        self._card = False
        self.shown = ""  # text on the display
        self.tracing = False  # test builds: report APDUs on the link (`!trace on`)
        # Optional board hooks (real boards): fed each loop pass; put to sleep while the
        # app is off, as board.policy (sesame.panel.power.Policy) says.
        self._feed = getattr(board, "feed_watchdog", None)
        self._sleep = getattr(board, "sleep_until_wake", None)
        self._woke = None  # ms time of the last wake
        # in a transaction: its deadline (self.now ms, > 0), else 0 (one field, not two:
        # the 64 KB heap test has no room for a bigger instance dict)
        self._busy = 0
        self._ack = 0  # injected keys waiting for their @ok
        # set once (a bound method made mid-transaction would split the free heap)
        board.line.on_wait = self._watch

    def _write(self, s):
        self.stdout.write(s)
        if hasattr(self.stdout, "flush"):
            self.stdout.flush()

    def _clock(self):
        t = time.ticks_ms()
        self.now += time.ticks_diff(t, self._t)
        self._t = t
        return self.now

    def do(self, actions):
        b = self.board
        for kind, arg in actions:
            if kind == "show":
                self.shown = arg
                b.display.show(arg)
                self.link.event("disp", arg)
            elif kind == "state":
                self.link.event("state", arg)
            elif kind == "off":
                b.display.off()
                b.line.deactivate()
                self.shown = ""  # !status tells the display is dark
                self.link.event("off")
            elif kind == "transact":
                self.do(self.transact(arg))

    def transact(self, mode):
        app = self.app
        line = self.board.line
        trace = None
        self._busy = self._clock() + 1 + int(
            self.board.settings.get("transaction_s", 60) * 1000)  # 60 s: see above
        try:
            atr, transport = open_session(line)
            if self.tracing and self.link.test_build:
                from sesame.reader.trace import Trace  # test builds only: its RAM is not spent otherwise

                transport = trace = Trace(transport, self.link.event, atr.raw, transport.PROTOCOL)
            res = Cap(transport).run(app.pin, app.npin, mode, confirm=self._confirm, **app.inputs())
            return app.finished(res.code, self._clock())
        except CardError as e:
            return app.failed(e, self._clock())
        except Exception as e:  # a bug or a card we did not foresee: never crash
            self.link.event("error", type(e).__name__)
            return app.failed(e, self._clock())
        finally:
            self._busy = 0
            app._wipe()
            line.deactivate()
            if trace:
                trace.end()

    def _watch(self):
        # The card line's on_wait (see the top of this file): acts while a transaction runs.
        if not self._busy:
            return
        if self._clock() >= self._busy:  # each character in time, all of them too slow
            e = CardTimeout()  # not a class of its own: 300 bytes the 64 KB heap lacks
            e.msg = "too SLOU"
            raise e
        k = self.board.keys.poll()
        if k is None and self._ready(0):  # _serial only then: its frame is a big one
            k = self._serial()  # link commands are answered as in the idle loop
            if k is not None:
                self._ack += 1  # answered after the transaction (busy ignores keys)
        if k == "CLEAR":
            raise Cancelled()
        # a card pulled out: the line's own check raises CardAbsent (drivers/cardline.py,
        # the simulated line once `!card out` took its socket away)

    def _serial(self):
        # Drains the test link; returns a key to inject or None.
        key = None
        while self._ready(0):
            if not self._in.readinto(self._b):
                break
            cmd = self.link.feed(self._b[0])
            if cmd is None:
                continue
            if cmd[0] == "status":
                self.link.event("state", self.app.state)
                self.link.event("disp", self.shown)
                continue
            if cmd[0] == "info":
                self.link.event("info", self._about())
                continue
            if cmd[0] == "pcsc":  # PC/SC mode on this serial (sesame.reader.pchost)
                from sesame.reader.pchost import stdio_mode

                stdio_mode(self, cmd[1])
                break
            if cmd[0] == "trace":
                from sesame.reader.trace import command  # not in the heap until asked

                command(self, cmd[1])
                continue
            r = self.link.check(cmd[0], cmd[1], hasattr(self.board, "set_card"))
            if r is None:
                continue
            if r[0] == "card":
                self.board.set_card(r[1])
                self.link.event("ok", "card")
                break  # what follows (a key) waits for the next pass, which sees the card
            else:
                key = r[1]
                break
        return key

    def _ready(self, ms):
        # Whether the test link has input within ms.
        for _ in self._ipoll(ms):
            return True
        return False

    def step(self, wait_ms):
        # One pass of the loop: waits up to wait_ms for the serial, then handles events.
        if self._feed:
            self._feed()
        self._ready(wait_ms)
        now = self._clock()
        b = self.board
        present = b.line.present()
        if present != self._card:
            self._card = present
            self.link.event("card", "in" if present else "out")
            self.do(self.app.card_event(present, now))
        k = self._serial()
        if k is not None:
            self._ack += 1
        else:
            k = b.keys.poll()
        if k is not None:
            self.do(self.app.key(k, now))
        # after the key's effects (a transaction's end), so the host can sync; a key that
        # leaves the last-try prompt up (a digit) is answered at once
        self._acked(self._busy and self.app.state == "lasttry")
        self.do(self.app.tick(now))
        p = getattr(b, "pcsc", None)  # the PC/SC channel: its first byte loads that side
        if p is not None and p.readinto(self._b):  # (sesame.reader.pchost serves it then)
            from sesame.reader.pchost import PcHost

            PcHost(self, self._b[0])
        # The board sleeps while the app is off (not mid-transaction: the last-try prompt
        # runs the loop from inside one), until a key or the card switch wakes it (not once
        # a PC talks to it: sesame.reader.pchost).
        if self._sleep and not self._busy and self.board.policy.back_to_sleep(
                self.app.state == "off", None if self._woke is None else now - self._woke):
            self._sleep()
            self._woke = self._clock()

    def _confirm(self):
        # Last PIN try (called by the engine before VERIFY): the app warns and waits for
        # OK again; the loop runs on (keys, link, card, timeout) until it decides.
        self.do(self.app.last_try(self._clock()))
        self._acked(True)  # the OK that started the transaction: the host may press the next
        t = self._clock()
        while self.app.state == "lasttry":
            self.step(self.board.settings.get("loop_ms", 10))
        self._busy += self._clock() - t  # the time the user took is not the card's
        return self.app.state == "busy"

    def _acked(self, now=False):
        # Answers an injected key (@ok key) once its effects are shown: a key pressed at
        # the last-try prompt, once the transaction it lets go on is over.
        while self._ack and (now or not self._busy):
            self._ack -= 1
            self.link.event("ok", "key")

    def _about(self):
        build = "test" if self.link.test_build else "production"
        return "sesame %s build=%s board=%s" % (VERSION, build, self.board.name)

    def run(self):
        b = self.board
        self._card = b.line.present()
        self.link.event("ready", self._about())
        self.do(self.app.power_on(self._clock(), self._card))
        ms = b.settings.get("loop_ms", 10)
        bugs = 0  # passes that raised since the last @error
        told = None  # when the last @error was sent
        while True:
            try:
                self.step(ms)
            except Exception as e:  # a bug must not leave a dead reader behind (Ctrl-C,
                bugs += 1  # KeyboardInterrupt, still stops it); one that repeats is told
                now = self._clock()  # at most once a second, with its count, not flooded
                if told is None or now - told >= 1000:
                    self.link.event("error", "%s x%d" % (type(e).__name__, bugs)
                                    if bugs > 1 else type(e).__name__)
                    told = now
                    bugs = 0
                time.sleep_ms(ms)  # and does not spin the CPU
