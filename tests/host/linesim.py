"""A smart card on its own clock, on a modelled I/O line, for the board card-line tests.

Time is one float in nanoseconds (`Clock.now`), shared by everything on the line: the
reader's side (the PIO program in pioemu, tests/host/picosim.py; the ESP32 UART model,
tests/host/test_esp32_line.py; the CPU stand-ins) and the card. Nothing here waits for the
reader: the card decides when each of its bit edges happens from its own clock (the CLK
frequency the board really generates, F/D clocks an etu) and reacts only to what is on the
wire, the way ISO/IEC 7816-3 lets a card behave:

- characters (7.1, 7.2): start bit, 8 data bits, parity; moment n of a character at
  n etu + n/10 x `skew` etu from its leading edge (|skew| <= 0.2: the whole character is
  at most 0.2 etu long or short), characters `spacing` etu apart (12 = the minimum);
- the answer to reset (6.2.3, 8.1): the first character `atr_clocks` card clocks after
  RST rises (400-40 000), then the ATR, then `after_atr` (a TCK a T=0-only card still
  sends, stray bytes: section 5 of DESIGN.md) `after_atr_gap` etu after the ATR's last
  character;
- answers: the first character of an answer `answer_etu` etu after the leading edge of
  the reader's last character (16 = the minimum, 7.2; up to the waiting time);
- error signal and repetition (7.3, T=0 only): a character the card receives with a
  bad parity (or one listed in `nak`) gets an error signal from 10.5 etu for `error_etu`
  etu (1-2); the card samples the line at 11 etu after each of its own characters and
  repeats one the reader signalled, 2 etu after it detected the signal (13 etu);
- its supply (6.2, 6.4): VCC charges and discharges through the RC the wiring gives it
  (`supply=Supply(rise_ns, fall_ns)`, time constants); the card only powers on (cold reset, its
  cold ATR) when VCC had fallen to 0.4 V before it rose again, else RST rising is a warm
  reset (`warm_atr`); its I/O is undefined until 200 clocks after CLK starts (6.2.2):
  `powerup_low` "vcc" holds it low from VCC on until then, "clk" from CLK on.

What the reader does wrong is recorded in `violations` (the tests assert there are none),
each a short text: too short a turnaround or spacing, a character sent while the card
sends, CLK before VCC is up, RST released too early, a repetition sooner than 2 etu after
the error signal was due to be seen (7.3: 13 etu, less the reader's 0.2 etu tolerance).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right

from sesame.iso7816 import cardchar

VCC = 3.3  # class B, the direct wiring (boards/*/pins.py)
VCC_OFF = 0.4  # ISO 7816-3: "inactive" VCC
IO_HIGH = 1.4  # where the reader's input sees a pulled-up I/O as high (RP2040: VIL 0.8, VIH 2.0)


class Clock:
    """The one time of a simulation, in ns. `hooks` run when time moves (catch up)."""

    def __init__(self):
        self.now = 0.0
        self.hooks: list = []

    def advance(self, ns):
        self.set(self.now + ns)

    def set(self, t):
        if t > self.now:
            self.now = t
        for h in self.hooks:
            h(self.now)


class Wire:
    """The I/O contact: open drain, low when any driver pulls it low. Each driver's
    history is a list of (time, low) transitions; a transition at time t replaces what the
    driver had scheduled after t (a UART stopped mid-character, a card switched off)."""

    def __init__(self):
        self.drivers: dict = {}
        self.agents: list = []  # things that must be brought up to time t before it is read

    def _d(self, who):
        d = self.drivers.get(who)
        if d is None:
            d = self.drivers[who] = ([float("-inf")], [False])
        return d

    def drive(self, who, t, low):
        times, lows = self._d(who)
        i = bisect_right(times, t)
        if i < len(times):  # overrides what was scheduled after t
            del times[i:], lows[i:]
        if lows[-1] == low:
            return
        if times[-1] == t:
            times.pop(), lows.pop()
            if lows[-1] == low:
                return
        times.append(t)
        lows.append(low)

    def low_by(self, who, t):
        d = self.drivers.get(who)
        if d is None:
            return False
        return d[1][bisect_right(d[0], t) - 1]

    def level(self, t):
        for times, lows in self.drivers.values():
            if lows[bisect_right(times, t) - 1]:
                return 0
        return 1

    def sense(self, t):
        """The level at t after every agent (the card) has acted up to t."""
        for a in self.agents:
            a.advance(t)
        return self.level(t)

    def first_low(self, t0, t1, skip=()):
        """Earliest time in [t0, t1] at which a driver not in `skip` pulls low, or None."""
        best = None
        for who, (times, lows) in self.drivers.items():
            if who in skip:
                continue
            i = bisect_right(times, t0) - 1
            if lows[i]:
                return t0
            for j in range(i + 1, len(times)):
                if times[j] > t1:
                    break
                if lows[j]:
                    if best is None or times[j] < best:
                        best = times[j]
                    break
        return best

    def first_high(self, t0, t1, skip=()):
        """Earliest time in [t0, t1] at which no driver (but those in `skip`) pulls low."""
        times = {t0}
        for who, (ts, _) in self.drivers.items():
            if who not in skip:
                times.update(x for x in ts[bisect_right(ts, t0):] if x <= t1)
        for t in sorted(times):
            if all(not self.low_by(w, t) for w in self.drivers if w not in skip):
                return t
        return None

    def next_change(self, t):
        """The first transition of any driver after t (inf when none is scheduled)."""
        best = math.inf
        for times, _ in self.drivers.values():
            i = bisect_right(times, t)
            if i < len(times) and times[i] < best:
                best = times[i]
        return best

    def low_spans(self, who, until):
        """[start, end) intervals the driver pulled the line low, up to `until`."""
        times, lows = self._d(who)
        out, start = [], None
        for t, low in zip(times[1:], lows[1:]):
            if low and start is None:
                start = t
            elif not low and start is not None:
                out.append((start, t))
                start = None
        if start is not None:
            out.append((start, until))
        return out

    def glitch(self, t, ns, who="noise"):
        """A low pulse on the line (interference)."""
        self.drive(who, t, True)
        self.drive(who, t + ns, False)


class Supply:
    """The card's VCC through the wiring's switch: exponential rise and fall."""

    def __init__(self, rise_ns=0.0, fall_ns=0.0):
        self.rise, self.fall = rise_ns, fall_ns
        self.on, self.t0, self.v0 = False, 0.0, 0.0

    def v(self, t):
        dt = max(0.0, t - self.t0)
        if self.on:
            return VCC if not self.rise else VCC + (self.v0 - VCC) * math.exp(-dt / self.rise)
        return 0.0 if not self.fall else self.v0 * math.exp(-dt / self.fall)

    def switch(self, t, on):
        self.v0, self.t0, self.on = self.v(t), t, on

    def crossing(self, level):
        """When v passes `level` in the current ramp (t0 if it is past it already)."""
        v0 = self.v0
        if self.on:
            if v0 >= level or not self.rise:
                return self.t0
            return self.t0 + self.rise * math.log((VCC - v0) / (VCC - level))
        if v0 <= level or not self.fall:
            return self.t0
        return self.t0 + self.fall * math.log(v0 / level)


def script(*steps):
    """A card application from (characters expected, reply[, (F, D) after the reply]):
    it answers when it has accepted that many characters since its last answer."""
    steps = [list(s) for s in steps]
    got = [0]

    def peer(_b):
        if not steps:
            return b"", None
        got[0] += 1
        if got[0] < steps[0][0]:
            return b"", None
        got[0] = 0
        s = steps.pop(0)
        return bytes(s[1]), (s[2] if len(s) > 2 else None)
    return peer


class Card:
    """The card. `peer(byte) -> (reply bytes, new (F, D) or None)` is its application,
    called for each character it accepts after its ATR (see script())."""

    def __init__(self, wire, atr, peer=None, *, inverse=None, skew=0.0, spacing=12.0,
                 answer_etu=16.0, after_atr=b"", after_atr_gap=12.0, error_etu=1.5, nak=(),
                 bad=(), atr_clocks=10_000, t1=False, warm_atr=None, powerup_low=False,
                 supply=None, guard_n=0):
        self.wire = wire
        wire.agents.append(self)
        self.cold_atr, self.warm_atr = bytes(atr), bytes(warm_atr or atr)
        self.peer = peer or script()
        self.inverse_cfg = inverse
        self.skew, self.spacing, self.answer_etu = skew, spacing, answer_etu
        self.after_atr, self.after_atr_gap = bytes(after_atr), after_atr_gap
        self.error_etu, self.nak, self.bad = error_etu, list(nak), list(bad)
        self.atr_clocks, self.t1, self.guard_n = atr_clocks, t1, guard_n
        self.powerup_low = powerup_low
        self.supply = supply or Supply()
        self.clk_hz = 0.0
        self.clk_on_at = None
        self.rst = 0
        self.rst_low_at = None
        self.fd = (372, 1)
        self.por = True  # powered up from "inactive" VCC
        self.now = 0.0
        self.events: list = []  # heap of (t, seq, fn, args)
        self.seq = 0
        self.listen_from = None  # receiving: watch for a start bit from this time
        self.idle_from = None  # ... once the line is high (from this time)
        self.queue: list = []  # bytes to send
        self.sending = False
        self.last_tx = None  # (start, levels, byte, etu) of our last character
        self.last_rx = None  # leading edge of the reader's last character
        self.signalled = False  # ... which got our error signal
        self.rx_etu = None
        self.received: list = []  # bytes accepted from the reader
        self.sent: list = []  # (start, byte) of every character we put on the line
        self.rejected: list = []  # bytes we answered with an error signal
        self.repeats = 0  # our characters the reader made us send again
        self.violations: list = []
        self.atrs = 0
        self.inverse = False
        self.rate_after = None  # (F, D) to switch to once the queue is sent

    # ---- time ----
    def etu(self):
        f, d = self.fd
        return f / d / self.clk_hz * 1e9 if self.clk_hz else math.inf

    def _at(self, t, fn, *args):
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, fn, args))

    def next_event(self):
        return self.events[0][0] if self.events else math.inf

    def advance(self, t):
        while True:
            te = self.events[0][0] if self.events else math.inf
            horizon = min(t, te)
            if self.listen_from is not None and self.listen_from <= horizon:
                w = self.wire
                if self.idle_from is None:  # a start bit is an edge: the line high first
                    self.idle_from = w.first_high(self.listen_from, horizon, ("card",))
                    self.listen_from = horizon
                if self.idle_from is not None:
                    ts = w.first_low(self.idle_from, horizon, skip=("card",))
                    if ts is not None:
                        self.listen_from = self.idle_from = None
                        self._start_bit(ts)
                        continue
                    self.idle_from = horizon
            if te > t:
                break
            _, _, fn, args = heapq.heappop(self.events)
            self.now = te
            fn(*args)
        self.now = max(self.now, t)

    def _listen(self, t):
        self.listen_from, self.idle_from = t, None

    def _violation(self, what):
        self.violations.append(what)

    # ---- contacts (called by the board stand-ins at the time they change) ----
    def set_vcc(self, t, on):
        self.advance(t)
        s = self.supply
        if on and not s.on:
            self.por = s.v(t) <= VCC_OFF
        s.switch(t, on)
        if not on:  # everything stops; the line follows the falling VCC
            self.events.clear()
            self.listen_from = None
            self.queue, self.sending = [], False
            self.wire.drive("card", t, False)
        elif self.powerup_low == "vcc":
            self.wire.drive("card", t, True)
        self.wire.drive("pullup", s.crossing(IO_HIGH), not on)

    def set_clk(self, t, hz):
        self.advance(t)
        if hz and not self.clk_hz:
            self.clk_on_at = t
            if self.supply.v(t) < 0.9 * VCC:
                self._violation("CLK started at VCC %.2f V" % self.supply.v(t))
            if self.powerup_low:
                if self.powerup_low == "clk":
                    self.wire.drive("card", t, True)
                self._at(t + 200 / hz * 1e9, self.wire.drive, "card", t + 200 / hz * 1e9, False)
        self.clk_hz = hz

    def set_rst(self, t, level):
        self.advance(t)
        if level == self.rst:
            return
        self.rst = level
        if not level:
            self.rst_low_at = t
            self.events.clear()
            self.listen_from, self.queue, self.sending = None, [], False
            self.wire.drive("card", t, False)
            return
        if not self.supply.on or not self.clk_hz:
            return
        held = (t - max(self.rst_low_at or 0.0, self.clk_on_at)) * self.clk_hz / 1e9
        if held < 40_000:  # EMV Book 1: RST low 40 000-45 000 clocks (ISO: at least 400)
            self._violation("RST low only %d clocks" % held)
        atr = self.cold_atr if self.por else self.warm_atr
        self.por = False
        self.atrs += 1
        self.fd = (372, 1)
        self.inverse = atr[:1] == b"\x3f" if self.inverse_cfg is None else self.inverse_cfg
        self.rate_after = None
        self.last_tx = self.last_rx = None
        self.queue = [(b, self.spacing) for b in atr]
        self.queue += [(b, self.after_atr_gap if i == 0 else self.spacing)
                       for i, b in enumerate(self.after_atr)]
        self.sending = True
        self._at(t + self.atr_clocks / self.clk_hz * 1e9, self._tx)

    def send(self, t, data, rate=None):
        """Queue an answer whose first character starts at t."""
        self.queue = [(b, self.spacing) for b in data]
        self.sending = True
        self.listen_from = self.idle_from = None
        self.rate_after = rate
        self._at(t, self._tx)

    # ---- sending ----
    def _tx(self):
        t = self.now
        b, _ = self.queue.pop(0)
        lv = cardchar.levels(b, self.inverse)
        if b in self.bad:
            self.bad.remove(b)
            lv ^= 0x100
        e = self.etu()
        if self.wire.low_by("reader", t):
            self._violation("card starts while the reader drives the line")
        w = self.wire
        w.drive("card", t, True)
        prev = True
        for n in range(1, 10):
            low = not (lv >> (n - 1)) & 1
            if low != prev:
                w.drive("card", t + (n + n * self.skew / 10) * e, low)
                prev = low
        w.drive("card", t + (10 + self.skew) * e, False)
        self.sent.append((t, b))
        self.last_tx = (t, lv, b, e)
        self._at(t + (11 + self.skew) * e, self._tx_check, t, b, e)

    def _tx_check(self, start, b, e):
        # 11 etu: the reader's error signal? (7.3); and did the reader talk meanwhile?
        for a, z in self.wire.low_spans("reader", self.now):
            if z > start and a < start + (10 + self.skew) * e:
                self._violation("reader drives the line during the card's character")
                break
        if self.wire.level(self.now) == 0 and not self.t1:
            self.repeats += 1
            self.queue.insert(0, (b, 13))  # 2 etu after the error signal was seen
        if self.queue:
            self._at(start + (self.queue[0][1] + self.skew) * e, self._tx)
            return
        self.sending = False
        if self.rate_after:
            self.fd, self.rate_after = self.rate_after, None
        self._listen(self.now)

    # ---- receiving ----
    def _start_bit(self, ts):
        e = self.etu()
        if self.last_tx is not None:
            t0, _, _, e0 = self.last_tx
            if ts - t0 < 16 * e0 - 1:
                self._violation("turnaround %.2f etu after the card's character" % ((ts - t0) / e0))
        if self.last_rx is not None and (self.last_tx is None or self.last_rx > self.last_tx[0]):
            gap = (ts - self.last_rx) / self.rx_etu
            if gap < 11.8 + self.guard_n:
                self._violation("reader characters %.2f etu apart" % gap)
            elif self.signalled and gap < 12.8:
                self._violation("repetition %.2f etu after the rejected character" % gap)
        self._at(ts + 0.5 * e, self._validate, ts, e)

    def _validate(self, ts, e):
        if self.wire.level(self.now):
            self._listen(self.now)  # a glitch, not a start bit
            return
        self._at(ts + (9.5 + 0.95 * self.skew) * e, self._rx_end, ts, e)

    def _rx_end(self, ts, e):
        bit = e * (1 + self.skew / 10)
        lv = 0
        for n in range(1, 10):
            lv |= self.wire.level(ts + (n + 0.5) * bit) << (n - 1)
        b = cardchar.decode(lv, self.inverse)
        self.last_rx, self.rx_etu = ts, e
        self.signalled = not self.t1 and (b < 0 or b in self.nak)
        if self.signalled:
            if b in self.nak:
                self.nak.remove(b)
            self.rejected.append(b)
            a = ts + (10.5 + self.skew) * e
            self.wire.drive("card", a, True)
            self.wire.drive("card", a + self.error_etu * e, False)
            self._listen(a + self.error_etu * e)
            return
        self._listen(ts + (10 + self.skew) * e)
        if b < 0:
            return  # T=1: a bad character; the block check will tell
        self.received.append(b)
        if self.sending:
            return
        reply, rate = self.peer(b)
        if reply:
            self.send(ts + self.answer_etu * e, reply, rate)
