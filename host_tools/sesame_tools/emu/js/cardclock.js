// The card's clock, as the card at the pins (card.js) counts it: card-clock cycles against
// emulated time, piecewise constant. The card counts the CLK the reader really produces:
// the PWM waveform from pwm.js while the pin carries one (a fast free-running channel), or
// the pin's rising edges when the clock is slow (rp2040js's own PWM edges, or a reader
// toggling the pin). A stopped clock (the reader's clock stop) stops the card: no
// cycle passes, so nothing it has scheduled happens until the clock runs again.
//
// One etu is F/D of these cycles (ISO 7816-3 7.1); cardline.js schedules every bit on them.

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
