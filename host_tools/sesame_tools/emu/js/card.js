// A smart card at the Pico's pins: ISO/IEC 7816-3 electrically and in time, with the EMV
// applet behind it in Python (the project's virtual card), character by character. Three
// files: this one (the contacts, activation and the ATR, the dispatch to the virtual card),
// cardline.js (the character layer: bits, parity, the error signal and repetition, on the
// card's clock) and cardclock.js (the card's clock, measured from the CLK contact).
//
// Contacts (boards/pico/pins.py, direct 3.3 V wiring): C1 VCC from a P-MOSFET whose gate is
// GPIO5 (low = on, a gate pull-up keeps it off while the pin floats), C2 RST = GPIO4, C3 CLK
// = GPIO3, C7 I/O = GPIO2 with a 10 k pull-up to the card's VCC, the socket's card-detect
// switch from GPIO6 to GND (closed = card in).
//
//   ISO 7816-3 6.2: RST rising with VCC and CLK on -> the ATR starts atr_clocks later
//     (400..40 000); RST low -> high again with VCC on: warm reset; VCC off: deactivated.
//   After the ATR the character rules follow its protocol (the error signal and repetition
//     for T=0, none for T=1), and after a PPS answer the new F/D applies once the answer is
//     out (ISO 7816-3 section 9, PPS): the virtual card says which in its replies (`t`, `rate`).
//
// The host (Python, over main.js's control channel) gets each whole character when its
// parity bit has been sampled; emulated time stands still until it answers with what the
// card sends back (and whether it rejects the character). Events are kept in `log` for tests.
import { DRIVE, RESISTOR } from './nets.js';
import { CardClock } from './cardclock.js';
import { CardLine } from './cardline.js';

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

export class SmartCard extends CardLine {
  constructor(board, pins, host, timing = {}) {
    super(board, pins, { ...DEFAULT_TIMING, ...timing });
    this.host = host; // request(msg, callback(reply)): the Python side
    this.inserted = false;
    this.vcc = false;
    this.rst = false;
    this.active = false; // powered, reset released, ATR under way or done
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
}
