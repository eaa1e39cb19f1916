// A smart card at the Pico's pins: ISO/IEC 7816-3 electrically and in time, with the EMV
// applet behind it in Python (the project's virtual card), character by character.
//
// Contacts (boards/pico/pins.py, direct 3.3 V wiring): C1 VCC from a P-MOSFET whose gate is
// GPIO5 (low = on, a gate pull-up keeps it off while the pin floats), C2 RST = GPIO4, C3 CLK
// = GPIO3, C7 I/O = GPIO2 with a 10 k pull-up to the card's VCC, the socket's card-detect
// switch from GPIO6 to GND (closed = card in).
//
// Time base: the card counts the CLK the reader really produces (the PWM waveform from
// pwm.js, or the pin's edges when the clock is slow), so one etu is F/D of *its* clock
// cycles; its bit length is that times (1 + bit_error_etu / 10) (bit_error_etu = how far the
// 10th moment of a character lands from nominal, ISO 7816-3 7.1 allows +-0.2). Nothing
// here looks at the reader's state machine: a reader that samples late or drives early
// fails as it would on a real card.
//
//   ISO 7816-3 6.2: RST rising with VCC and CLK on -> the ATR starts atr_clocks later
//     (400..40 000); RST low -> high again with VCC on: warm reset; VCC off: deactivated.
//   7.1/7.2: a character = start bit, 8 data bits, parity; the card sends them char_etu
//     apart (>= 12), its first answer answer_etu after the start bit of the reader's last
//     character (>= 16).
//   7.3 (T=0 and the PPS exchange after a T=0 ATR): a character received with a wrong
//     parity gets the error signal, I/O low from error_at_etu (10.5) for error_len_etu
//     (1..2); a character the card sent is checked at 11 etu and, if the reader holds I/O
//     low, repeated 2 etu after the line comes back (give up after 5 tries).
//   Conventions: the host's characters come "as read in the direct convention" (the
//     virtual card codes the inverse convention itself); after an inverse TS (03 read
//     directly) the parity on the line is odd in that reading, as on the wire.
//
// The host (Python, over main.js's control channel) gets each whole character when its
// parity bit has been sampled; emulated time stands still until it answers with what the
// card sends back (and whether it rejects the character). Events are kept in `log` for tests.
import { DRIVE, RESISTOR } from './nets.js';

export const DEFAULT_TIMING = {
  atr_clocks: 5000, // RST rising -> ATR's first start bit, card clock cycles (400..40 000)
  char_etu: 12, // start-to-start spacing of the card's characters (>= 12)
  answer_etu: 16, // reader's last start bit -> card's first start bit (>= 16)
  bit_error_etu: 0, // error of the card's 10th moment, etu (-0.2..+0.2): bit length error / 10
  error_at_etu: 10.5, // the card's error signal starts here (10.5 +- 0.2)
  error_len_etu: 1.5, // and lasts this long (1..2)
  check_at_etu: 11, // the card checks for the reader's error signal here (11 +- 0.2)
  repeat_after_etu: 2, // a repeated character starts this long after the error signal ends
  max_repeats: 5, // a character the reader keeps rejecting is then dropped
  tck: false, // send a TCK after an ATR that offers only T=0 (some cards do)
  atr_extra: '', // hex: bytes the card sends after its ATR (as read in the direct convention)
};

const MIN_RST_CLOCKS = 400; // ISO 7816-3 6.2.2: RST low at least 400 clocks after CLK starts

function parityOk(value, parityLevel, inverse) {
  let ones = parityLevel;
  for (let v = value; v; v >>= 1) {
    ones += v & 1;
  }
  // direct: an even number of high levels; inverse (read directly): odd
  return inverse ? (ones & 1) === 1 : (ones & 1) === 0;
}

function parityBit(value, inverse) {
  let ones = 0;
  for (let v = value; v; v >>= 1) {
    ones += v & 1;
  }
  return inverse ? 1 - (ones & 1) : ones & 1;
}

/** The card's clock: card-clock cycles against emulated time, piecewise constant. */
export class CardClock {
  constructor(card) {
    this.card = card;
    this.refNs = 0;
    this.refCycles = 0;
    this.periodNs = 0; // 0: stopped
    this.edgeMode = false; // counting the pin's edges (slow clock)
    this.lastEdgeNs = -1;
    this.startNs = -1; // when the clock last started
    this.hzSeen = 0;
  }

  cyclesAt(ns) {
    if (!this.periodNs) {
      return this.refCycles;
    }
    return this.refCycles + (ns - this.refNs) / this.periodNs;
  }

  nsAt(cycles) {
    if (!this.periodNs) {
      return Infinity;
    }
    return this.refNs + (cycles - this.refCycles) * this.periodNs;
  }

  rebase(ns, periodNs) {
    this.refCycles = this.cyclesAt(ns);
    this.refNs = ns;
    if (periodNs && !this.periodNs) {
      this.startNs = ns;
    }
    this.periodNs = periodNs;
    if (periodNs) {
      this.hzSeen = 1e9 / periodNs;
    }
  }

  /** From the PWM waveform, if the pin carries one. Returns true if anything changed. */
  update(ns, wave) {
    if (wave) {
      this.edgeMode = false;
      if (Math.abs(wave.periodNs - this.periodNs) > 1e-9) {
        this.rebase(ns, wave.periodNs);
        return true;
      }
      return false;
    }
    if (!this.edgeMode && this.periodNs) {
      this.rebase(ns, 0); // the waveform stopped; edges may take over
      return true;
    }
    return false;
  }

  /** A rising edge of CLK seen on the pin (slow clocks: rp2040js's own PWM edges). */
  edge(ns) {
    if (this.lastEdgeNs >= 0 && ns > this.lastEdgeNs) {
      const period = ns - this.lastEdgeNs;
      if (!this.periodNs || this.edgeMode) {
        this.edgeMode = true;
        this.rebase(ns, period);
      }
    }
    this.lastEdgeNs = ns;
  }
}

export class SmartCard {
  constructor(board, pins, host, timing = {}) {
    this.board = board;
    this.pins = pins; // {io, clk, rst, vcc, detect}
    this.host = host; // request(msg, callback(reply)): the Python side
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.clock = new CardClock(this);
    this.inserted = false;
    this.vcc = false;
    this.rst = false;
    this.active = false; // powered, reset released, ATR under way or done
    this.inverse = false;
    this.errorSignal = false; // T=0 character rules (error signal and repetition)
    this.f = 372;
    this.d = 1;
    this.driving = false; // the card pulls I/O low
    this.rx = null; // a character being received: {t0 (cycle), bits}
    this.tx = []; // characters to send: {b, bad, gapNs}
    this.txBusy = false;
    this.nextTxCycle = 0; // earliest start of the card's next character
    this.lastRxStart = -Infinity; // cycle of the reader's last start bit
    this.repeatNext = false; // the next character received repeats one we rejected
    this.events = []; // pending {cycle, fn}
    this.alarm = null;
    this.log = []; // what happened, for tests: {t (ns), what, ...}
    this.violations = [];
    this.afterAtr = null;
    this.pendingRate = null;
    this.rstCycle = 0;
    this.unwatch = [];
  }

  // ---- wiring ----
  attach(chip) {
    // (again after a hard reset: a new chip, its own clock)
    for (const off of this.unwatch) {
      off();
    }
    const { nets } = this.board;
    this.chip = chip;
    this.alarm = chip.rp2040.clock.createAlarm(() => this.fire());
    this.events = [];
    this.clock = new CardClock(this);
    this.unwatch = [
      nets.watch(this.pins.vcc, () => this.contactsChanged()),
      nets.watch(this.pins.rst, () => this.contactsChanged()),
      nets.watch(this.pins.io, (level) => this.ioChanged(level)),
      nets.watch(this.pins.clk, (level) => {
        if (level) {
          this.clock.edge(this.now);
          this.clockChanged();
        }
      }),
    ];
    nets.set(this.pins.vcc, 'gate-pullup', 1, RESISTOR);
    this.powerDown('reset');
    this.contactsChanged();
  }

  get now() {
    return this.chip.rp2040.clock.nanos;
  }

  get cycles() {
    return this.clock.cyclesAt(this.now);
  }

  get etuCycles() {
    return this.f / this.d;
  }

  /** The card's own bit length in card-clock cycles. */
  get bitCycles() {
    return this.etuCycles * (1 + this.timing.bit_error_etu / 10);
  }

  note(what, extra = {}) {
    const entry = { t: this.board.nanos, what, ...extra };
    this.log.push(entry);
    if (this.log.length > 5000) {
      this.log.splice(0, 1000);
    }
    if (this.onEvent) {
      this.onEvent(entry);
    }
  }

  violation(what) {
    this.violations.push({ t: this.board.nanos, what });
    this.note('violation', { detail: what });
  }

  insert() {
    if (this.inserted) {
      return;
    }
    this.inserted = true;
    this.board.nets.set(this.pins.detect, 'card-switch', 0, DRIVE);
    this.note('inserted');
    this.contactsChanged();
  }

  remove() {
    if (!this.inserted) {
      return;
    }
    this.inserted = false;
    this.board.nets.set(this.pins.detect, 'card-switch', null);
    this.release();
    this.powerDown('removed');
    this.note('removed');
  }

  setTiming(t) {
    Object.assign(this.timing, t);
    this.note('timing', { timing: { ...this.timing } });
  }

  // ---- contacts ----
  clockChanged() {
    const wave = this.chip.pwm.waveform(this.pins.clk);
    const now = this.now;
    if (this.clock.update(now, wave)) {
      this.note('clock', { hz: this.clock.periodNs ? 1e9 / this.clock.periodNs : 0 });
      this.reschedule();
    }
  }

  contactsChanged() {
    const { nets } = this.board;
    const vcc = nets.level(this.pins.vcc) === 0; // P-MOSFET on while its gate is low
    nets.set(this.pins.io, 'pullup-10k', vcc ? 1 : 0, RESISTOR);
    if (!this.inserted) {
      this.vcc = vcc;
      return;
    }
    this.clockChanged();
    if (vcc !== this.vcc) {
      this.vcc = vcc;
      if (vcc) {
        this.note('vcc on');
      } else {
        this.powerDown('vcc off');
        return;
      }
    }
    const rst = nets.level(this.pins.rst) === 1;
    if (rst === this.rst) {
      return;
    }
    this.rst = rst;
    if (!this.vcc) {
      return;
    }
    if (!rst) {
      if (this.active) {
        this.note('rst low'); // a warm reset starts (or deactivation)
        this.stopActivity();
        this.warm = true;
      }
      return;
    }
    // RST rising: cold or warm reset (ISO 7816-3 6.2.2, 6.2.3)
    const clk = this.clock;
    if (!clk.periodNs) {
      this.violation('RST released with no clock on CLK');
      return;
    }
    const clocksSinceStart = (this.now - clk.startNs) / clk.periodNs;
    if (clocksSinceStart < MIN_RST_CLOCKS) {
      this.violation(`RST released ${Math.round(clocksSinceStart)} clocks after CLK started (< 400)`);
    }
    const warm = !!this.warm;
    this.note(warm ? 'warm reset' : 'cold reset', { clocks: Math.round(clocksSinceStart), hz: 1e9 / clk.periodNs });
    this.stopActivity();
    this.active = true;
    this.f = 372;
    this.d = 1;
    this.inverse = false;
    this.errorSignal = false;
    this.rstCycle = this.cycles;
    this.nextTxCycle = this.rstCycle + this.timing.atr_clocks;
    this.afterAtr = null;
    this.request({ card: warm ? 'W' : 'C' }, (reply) => this.answer(reply, true));
  }

  powerDown(why) {
    const was = this.active;
    this.stopActivity();
    this.active = false;
    this.rst = false;
    this.warm = false;
    if (why !== 'reset' || was) {
      this.request({ card: 'O' }, () => {});
    }
    if (this.inserted && why === 'vcc off') {
      this.note('deactivated');
    }
  }

  stopActivity() {
    this.release();
    this.rx = null;
    this.tx = [];
    this.txBusy = false;
    this.awaitHigh = null;
    this.repeatNext = false;
    this.pendingRate = null;
    this.afterAtr = null;
    this.events = [];
    if (this.alarm) {
      this.alarm.cancel();
    }
  }

  drive(low) {
    if (low === this.driving) {
      return;
    }
    this.driving = low;
    this.board.nets.set(this.pins.io, 'card', low ? 0 : null, DRIVE);
  }

  release() {
    this.drive(false);
  }

  // ---- events on the card's clock ----
  at(cycle, fn) {
    this.events.push({ cycle, fn });
    this.events.sort((a, b) => a.cycle - b.cycle);
    this.reschedule();
  }

  reschedule() {
    if (!this.alarm) {
      return;
    }
    this.alarm.cancel();
    if (!this.events.length) {
      return;
    }
    const ns = this.clock.nsAt(this.events[0].cycle);
    if (ns === Infinity) {
      return; // the clock stopped: so does the card
    }
    this.alarm.schedule(Math.max(0, ns - this.now));
  }

  fire() {
    const now = this.cycles + 1e-6;
    while (this.events.length && this.events[0].cycle <= now) {
      const ev = this.events.shift();
      ev.fn();
    }
    this.reschedule();
  }

  // ---- the host (Python) ----
  request(msg, callback) {
    this.host.request(msg, callback);
  }

  /** What the host says the card sends (ATR, answers), with the protocol state. */
  answer(reply, isAtr = false) {
    if (reply.removed) {
      this.note('card pulled out (fault)');
      this.remove();
      if (this.onRemoved) {
        this.onRemoved();
      }
      return;
    }
    if (reply.t !== undefined && reply.t !== null) {
      if (isAtr) {
        this.afterAtr = reply.t; // the character rules change once the ATR is out
      } else {
        this.errorSignal = reply.t === 0;
      }
    }
    const out = reply.out || [];
    if (isAtr && out.length) {
      this.inverse = out[0][0] === 0x03;
      const extra = [];
      if (this.timing.tck && reply.tck !== undefined) {
        extra.push([reply.tck, false, 0]); // a TCK after an ATR offering only T=0
      }
      for (const hex of (this.timing.atr_extra || '').match(/../g) || []) {
        extra.push([parseInt(hex, 16), false, 0]);
      }
      out.push(...extra);
    }
    for (const [b, bad, gapNs] of out) {
      this.tx.push({ b, bad: !!bad, gapNs: gapNs || 0, tries: 0 });
    }
    if (reply.rate) {
      this.pendingRate = reply.rate; // after what is queued has gone out
    }
    this.startTx();
    this.drained();
  }

  /** The card has nothing more queued: what waited for the end of its answer applies. */
  drained() {
    if (this.tx.length) {
      return;
    }
    if (this.afterAtr !== null) {
      this.errorSignal = this.afterAtr === 0;
      this.afterAtr = null;
    }
    if (this.pendingRate) {
      this.applyRate();
    }
  }

  applyRate() {
    const [f, d] = this.pendingRate;
    this.pendingRate = null;
    this.f = f;
    this.d = d;
    this.note('rate', { f, d });
  }

  // ---- sending ----
  startTx() {
    if (this.txBusy || !this.tx.length || !this.active) {
      return;
    }
    this.txBusy = true;
    const item = this.tx[0];
    const start = Math.max(this.cycles, this.nextTxCycle);
    const gapCycles = item.gapNs && this.clock.periodNs ? item.gapNs / this.clock.periodNs : 0;
    this.at(start + gapCycles, () => this.sendChar(item));
  }

  sendChar(item) {
    if (this.rx) {
      this.violation('the reader was sending when the card had to answer');
      this.rx = null;
    }
    const t0 = this.cycles;
    const bit = this.bitCycles;
    const b = item.b;
    let p = parityBit(b, this.inverse);
    if (item.bad) {
      p ^= 1;
    }
    const levels = [0];
    for (let i = 0; i < 8; i++) {
      levels.push((b >> i) & 1);
    }
    levels.push(p);
    for (let i = 0; i < 10; i++) {
      const level = levels[i];
      this.at(t0 + i * bit, () => this.drive(level === 0));
    }
    this.at(t0 + 10 * bit, () => this.release());
    this.nextTxCycle = t0 + this.timing.char_etu * this.etuCycles;
    if (this.errorSignal) {
      this.at(t0 + this.timing.check_at_etu * bit, () => this.checkTx(item, t0));
    } else {
      this.at(t0 + 10 * bit, () => this.sent(item));
    }
  }

  checkTx(item, t0) {
    const low = this.board.nets.level(this.pins.io) === 0;
    if (!low) {
      this.sent(item);
      return;
    }
    // the reader's error signal: the repeat starts repeat_after_etu after the line is back
    item.tries++;
    this.note('error signal from the reader', { b: item.b, bad: item.bad, tries: item.tries });
    this.awaitHigh = { item, t0 };
    this.at(t0 + 20 * this.etuCycles, () => {
      if (this.awaitHigh && this.awaitHigh.item === item) {
        this.awaitHigh = null;
        this.violation('I/O held low by the reader for more than 9 etu');
      }
    });
  }

  /** The reader's error signal has ended: repeat the character (ISO 7816-3 7.3). */
  lineBack() {
    const { item } = this.awaitHigh;
    this.awaitHigh = null;
    this.nextTxCycle = this.cycles + this.timing.repeat_after_etu * this.etuCycles;
    this.txBusy = false;
    if (item.bad) {
      // the host sent it with a parity error on purpose: it repeats it (and what it held)
      this.tx.shift();
      this.request({ card: 'N' }, (reply) => {
        const out = reply.out || [];
        this.tx.unshift(...out.map(([b, bad, gapNs]) => ({ b, bad: !!bad, gapNs: gapNs || 0, tries: item.tries })));
        this.startTx();
      });
      return;
    }
    if (item.tries >= this.timing.max_repeats) {
      this.note('gave up repeating', { b: item.b });
      this.tx.shift();
    }
    this.startTx();
  }

  sent(item) {
    if (!item.bad) {
      this.note('tx', { b: item.b });
    } else {
      this.note('tx bad parity, no error signal seen', { b: item.b });
    }
    this.tx.shift();
    this.txBusy = false;
    this.drained();
    this.startTx();
  }

  // ---- receiving ----
  ioChanged(level) {
    if (level === 1 && this.awaitHigh && !this.driving) {
      this.lineBack();
      return;
    }
    if (!this.active || !this.inserted || level !== 0 || this.driving || this.rx || this.txBusy) {
      return;
    }
    // a start bit's leading edge
    const t0 = this.cycles;
    const bit = this.bitCycles;
    this.rx = { t0, value: 0, parity: 0 };
    this.at(t0 + 0.5 * bit, () => {
      if (this.board.nets.level(this.pins.io) !== 0) {
        this.rx = null; // a glitch, not a start bit
        return;
      }
      for (let i = 1; i <= 9; i++) {
        this.at(t0 + (i + 0.5) * bit, () => this.sample(i));
      }
    });
  }

  sample(i) {
    const rx = this.rx;
    if (!rx) {
      return;
    }
    const level = this.board.nets.level(this.pins.io);
    if (i <= 8) {
      rx.value |= level << (i - 1);
      return;
    }
    rx.parity = level;
    const t0 = rx.t0;
    const bit = this.bitCycles;
    const ok = parityOk(rx.value, rx.parity, this.inverse);
    this.lastRxStart = t0;
    const done = t0 + 10 * bit; // the card listens again from its first stop bit...
    this.at(done, () => {
      if (this.rx === rx) {
        this.rx = null;
      }
    });
    if (!ok) {
      this.note('rx parity error', { b: rx.value });
      if (this.errorSignal) {
        this.errorOn(t0);
      }
      return;
    }
    const kind = this.repeatNext ? 'R' : 'D';
    this.repeatNext = false;
    this.note('rx', { b: rx.value });
    this.request({ card: kind, b: rx.value, t: this.board.nanos }, (reply) => {
      if (reply.reject) {
        this.note('card rejects the character', { b: rx.value });
        this.repeatNext = true;
        if (this.errorSignal) {
          this.errorOn(t0);
        }
      }
      this.nextTxCycle = Math.max(this.nextTxCycle, t0 + this.timing.answer_etu * this.etuCycles);
      this.answer(reply);
    });
  }

  errorOn(t0) {
    const bit = this.bitCycles;
    const from = t0 + this.timing.error_at_etu * bit;
    const to = from + this.timing.error_len_etu * this.etuCycles;
    const rx = this.rx;
    this.at(from, () => this.drive(true));
    this.at(to, () => {
      this.release();
      if (this.rx === rx) {
        this.rx = null;
      }
    });
  }
}
