// Fast PWM outputs as waveforms, not edges.
//
// rp2040js (1.4.1) makes every PWM edge a simulator alarm and a GPIO update: a 4 MHz card
// clock (clk_sys / 30) would cost 8 million host callbacks per emulated second. A channel
// whose period is at most FAST_PERIOD_CYCLES sys cycles, free-running, with its wrap
// interrupt disabled (PWM INTE, RP2040 datasheet 4.5.3), runs here as a waveform: its edge
// alarms are off, its double-buffered CC/TOP take effect at once (the chip latches them at
// the next wrap, a period later), and whoever watches the pin (the card) asks for the
// waveform: period and the time of a rising edge, from CHn_DIV/CHn_TOP/CHn_CC/CHn_CSR
// (4.5.3) and the clk_sys the chip runs at. Slower or interrupting channels keep rp2040js's
// edges. The pin's input buffer reads high while it runs as a waveform.
const FUNCTION_PWM = 4;
const FAST_PERIOD_CYCLES = 256;
const CSR_EN = 1 << 0;
const CSR_PH_CORRECT = 1 << 1;
const CSR_A_INV = 1 << 2;
const CSR_B_INV = 1 << 3;
const CSR_DIVMODE_SHIFT = 4;
const PWM_EN = 0xa0;
const PWM_INTE = 0xa8;
const PWM_INTF = 0xac;

export class PWMClock {
  constructor(rp2040, onChange) {
    this.rp2040 = rp2040;
    this.pwm = rp2040.pwm;
    this.onChange = onChange;
    this.fast = new Array(8).fill(false);
    const pwm = this.pwm;
    for (const ch of pwm.channels) {
      const write = ch.writeRegister.bind(ch);
      ch.writeRegister = (offset, value) => {
        write(offset, value);
        this.update(ch);
      };
    }
    const pwmWrite = pwm.writeUint32.bind(pwm);
    pwm.writeUint32 = (offset, value) => {
      pwmWrite(offset, value);
      if (offset === PWM_EN || offset === PWM_INTE || offset === PWM_INTF) {
        for (const ch of pwm.channels) {
          this.update(ch);
        }
      }
    };
    rp2040.addClockListener(() => this.changed());
    const io = rp2040.peripherals[0x40014];
    const ioWrite = io.writeUint32.bind(io);
    io.writeUint32 = (offset, value) => {
      ioWrite(offset, value);
      if (offset < 0xf0) {
        this.changed(); // a pin's function may have moved to or from PWM
      }
    };
  }

  periodCycles(ch) {
    const top = ch.timer.top + 1;
    return ch.timer.prescaler * (ch.csr & CSR_PH_CORRECT ? 2 * (top - 1) : top);
  }

  isFast(ch) {
    const bit = 1 << ch.index;
    return (
      !!(ch.csr & CSR_EN) &&
      ((ch.csr >> CSR_DIVMODE_SHIFT) & 3) === 0 &&
      !((this.pwm.intEnable | this.pwm.intForce) & bit) &&
      this.periodCycles(ch) <= FAST_PERIOD_CYCLES
    );
  }

  update(ch) {
    const fast = this.isFast(ch);
    if (fast) {
      ch.updateDoubleBuffered(); // latch CC/TOP now
    }
    if (fast !== this.fast[ch.index]) {
      this.fast[ch.index] = fast;
      ch.alarmA.enable = !fast;
      ch.alarmB.enable = !fast;
      ch.alarmBottom.enable = !fast;
      if (fast) {
        ch.setA(!(ch.csr & CSR_A_INV));
        ch.setB(!(ch.csr & CSR_B_INV));
      }
    }
    this.changed();
  }

  changed() {
    if (this.onChange) {
      this.onChange();
    }
  }

  /**
   * The clock on a GPIO driven by a fast PWM channel: {periodNs, highNs, edgeNs (a rising
   * edge)}, or null when the pin does not carry one (not PWM, channel off or slow, duty 0 or
   * 100 %).
   */
  waveform(gpio) {
    const pin = this.rp2040.gpio[gpio];
    if (pin.functionSelect !== FUNCTION_PWM) {
      return null;
    }
    const ch = this.pwm.channels[(gpio >> 1) & 7];
    if (!this.fast[ch.index]) {
      return null;
    }
    const b = gpio & 1;
    if (b && ((ch.csr >> CSR_DIVMODE_SHIFT) & 3) !== 0) {
      return null; // B is an input in the gated/counting modes
    }
    const level = b ? ch.alarmB.target : ch.alarmA.target; // CC half for this output
    const top = ch.timer.top;
    if (level <= 0 || level > top) {
      return null; // stuck low or high
    }
    const hz = this.rp2040.clkSys;
    const cycles = this.periodCycles(ch);
    const periodNs = (cycles * 1e9) / hz;
    const phase = ch.csr & CSR_PH_CORRECT;
    const highNs = ((phase ? 2 * level : level) * ch.timer.prescaler * 1e9) / hz;
    // the counter's zero (a rising edge in the plain mode) at or before now
    const now = this.rp2040.clock.nanos;
    const count = ch.timer.rawCounter;
    const edgeNs = now - (count * ch.timer.prescaler * 1e9) / hz;
    return { periodNs, highNs, edgeNs };
  }
}

export function installPWMClock(rp2040, board) {
  return new PWMClock(rp2040, () => board.hardwareChanged && board.hardwareChanged());
}
