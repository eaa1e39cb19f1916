// The character layer of the card at the pins (card.js): ISO/IEC 7816-3 section 7 on the
// I/O contact, every moment scheduled on the card's own clock (cardclock.js), so one etu is
// F/D of *its* clock cycles and its bit length is that times (1 + bit_error_etu / 10)
// (bit_error_etu = how far the 10th moment of a character lands from nominal, 7.1 allows
// +-0.2). Nothing here looks at the reader's state machine: a reader that samples late or
// drives early fails as it would on a real card.
//
//   7.1/7.2: a character = start bit, 8 data bits, parity; the card sends them char_etu
//     apart (>= 12), its first answer answer_etu after the start bit of the reader's last
//     character (>= 16). A received character is sampled in the middle of each moment.
//   7.3 (T=0 and the PPS exchange after a T=0 ATR: `errorSignal`): a character received
//     with a wrong parity gets the error signal, I/O low from error_at_etu (10.5) for
//     error_len_etu (1..2); a character the card sent is checked at check_at_etu (11) and,
//     if the reader holds I/O low, repeated repeat_after_etu (2) after the line comes back
//     (give up after max_repeats tries).
//   Conventions: characters are "as read in the direct convention" (the virtual card codes
//     the inverse convention itself); after an inverse TS (03 read directly) the parity on
//     the line is odd in that reading, as on the wire.
//
// CardLine is the base of SmartCard (card.js), which supplies the rest: `chip` (attach),
// `active` and `inserted` (whether the card talks at all), and the dispatch to the virtual
// card: `request(msg, callback)`, `answer(reply)` (what the card sends back) and `drained()`
// (called when the card has nothing more queued).
import { DRIVE } from './nets.js';
import { CardClock } from './cardclock.js';

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

/** A card's I/O contact: characters in and out, parity, error signal, repetition. */
export class CardLine {
  constructor(board, pins, timing) {
    this.board = board;
    this.pins = pins; // {io, clk, rst, vcc, detect}
    this.timing = timing;
    this.clock = new CardClock(this);
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
    this.awaitHigh = null; // a sent character the reader rejected, until I/O is back high
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
