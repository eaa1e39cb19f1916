// PIO state machines that keep the RP2040's time (datasheet 3.5: "Functional details").
//
// rp2040js (1.4.1) runs every enabled state machine 1000 instructions per host timer tick,
// whatever its clock divider and delay cycles, so a PIO program's timing means nothing.
// TimedPIO / TimedStateMachine keep rp2040js's instruction semantics (StateMachine's
// executeInstruction) and give them the RP2040's time:
//   - a state machine advances once per tick of its own clock, clk_sys / (INT + FRAC/256)
//     (SMx_CLKDIV, 3.7), in emulated time (the simulator's clock), clk_sys as the chip runs;
//   - an instruction takes 1 + its delay cycles; a stalled one (wait, blocking pull/push,
//     autopull/autopush) is re-evaluated on each tick and its delay starts when it completes
//     (3.5.4); side-set still happens on its first cycle (rp2040js does that part);
//   - a stalled machine costs nothing until its condition may have changed (a FIFO write or
//     read, an input pin, a PIO IRQ flag): it then wakes on its next tick;
//   - SMx_INSTR (3.7) executed while the machine is stalled replaces the stalled instruction
//     (pico-sdk pio_sm_exec: "executed instead of the next instruction"); rp2040js left it
//     stalled;
//   - CTRL (3.7): SM_ENABLE starts/stops the ticks, SM_RESTART, CLKDIV_RESTART (the divider's
//     phase) are honoured; SHIFTCTRL FJOIN_TX/FJOIN_RX change the FIFO depths (8/0) and
//     clear both FIFOs, as writing them does on the chip (pio_sm_clear_fifos relies on it).
// Not modelled: the 2-cycle input synchronizer (INPUT_SYNC_BYPASS), `out exec`/`mov exec`
// taking a cycle of their own, and IRQ-driven interrupt timing beyond rp2040js's.
import { FIFO, RPPIO, StateMachine } from 'rp2040js';

// Register offsets (3.7, "List of registers")
const CTRL = 0x000;
const SM0_CLKDIV = 0x0c8;
const SM0_SHIFTCTRL = 0x0d0;
const SM0_INSTR = 0x0d8;
const SM_STRIDE = 0x18;
const SM3_PINCTRL = 0x124;
// CTRL fields
const CTRL_SM_ENABLE_SHIFT = 0;
const CTRL_SM_RESTART_SHIFT = 4;
const CTRL_CLKDIV_RESTART_SHIFT = 8;
// SHIFTCTRL fields
const SHIFTCTRL_FJOIN_TX = 1 << 30;
const SHIFTCTRL_FJOIN_RX = 1 << 31;
// EXECCTRL fields
const EXECCTRL_EXEC_STALLED = 1 << 31;
const EXECCTRL_SIDE_EN = 1 << 30;

/** Delay cycles encoded in an instruction, given the side-set configuration. */
function delayOf(opcode, pinCtrl) {
  const sidesetCount = (pinCtrl >> 29) & 0x7;
  return ((opcode >> 8) & 0x1f) & ((1 << (5 - sidesetCount)) - 1);
}

export class TimedStateMachine extends StateMachine {
  constructor(rp2040, pio, index) {
    super(rp2040, pio, index);
    this.alarm = rp2040.clock.createAlarm(() => this.tick());
    this.period = 1; // sys cycles per SM clock tick: INT + FRAC/256
    this.nextTick = 0; // sys cycle (on the PIO's cycle clock) of the next tick to evaluate
    this.inTick = false;
    this.sleeping = false; // stalled, waiting for a notification
    this.opcode = 0; // the instruction being executed (for its delay after a stall)
    this.execPending = false; // the stalled instruction came from SMx_INSTR
    this.ticks = 0; // ticks evaluated (for tests and figures)
    this.stalls = { pin: 0, irq: 0, rxFull: 0, txEmpty: 0 }; // stalls begun, by cause
    this.lastRxFullNs = -1; // when a push last stalled on a full RX FIFO
    this.rxMax = 0; // the RX FIFO's highest level seen
  }

  countStall() {
    switch (this.waitType) {
      case 1: // WaitType.Pin
        this.stalls.pin++;
        break;
      case 2: // WaitType.rxFIFO: a push (or autopush) with the RX FIFO full
        this.stalls.rxFull++;
        this.lastRxFullNs = this.rp2040.clock.nanos;
        if (this.pio.onRxFull) {
          this.pio.onRxFull(this);
        }
        break;
      case 3: // WaitType.txFIFO
      case 5: // WaitType.Out (autopull)
        this.stalls.txEmpty++;
        break;
      case 4:
        this.stalls.irq++;
        break;
    }
  }

  get sys() {
    return this.pio.sys;
  }

  updatePeriod() {
    const int = this.clockDivInt || 0x10000; // INT 0 = 65536 (3.7, SMx_CLKDIV)
    this.period = int + (int === 0x10000 ? 0 : this.clockDivFrac / 256);
  }

  /** The first tick strictly after the current sys cycle, on this machine's divider grid. */
  alignNext() {
    const now = this.sys.cycles;
    if (this.nextTick <= now) {
      const k = Math.floor((now - this.nextTick) / this.period) + 1;
      this.nextTick += k * this.period;
    }
  }

  schedule(ticksAhead) {
    // ticksAhead >= 1: the tick ticksAhead - 1 after nextTick is the next one to evaluate
    this.nextTick += (ticksAhead - 1) * this.period;
    this.alarm.schedule(Math.max(0, this.sys.nanosUntil(this.nextTick)));
  }

  start() {
    // SM_ENABLE rising: ticks begin one period on (the divider runs from here)
    this.nextTick = this.sys.cycles + this.period;
    this.sleeping = false;
    this.schedule(1);
  }

  halt() {
    this.alarm.cancel();
  }

  clkDivRestart() {
    if (this.enabled) {
      this.nextTick = this.sys.cycles + this.period;
      this.schedule(1);
    }
  }

  restart() {
    super.restart();
    this.execPending = false;
    this.sleeping = false;
    this.execCtrl &= ~EXECCTRL_EXEC_STALLED;
    if (this.enabled) {
      this.alignNext();
      this.schedule(1);
    }
  }

  /** One tick of this machine's clock: evaluate a stall, or run the next instruction. */
  tick() {
    if (!this.enabled) {
      return;
    }
    this.ticks++;
    this.inTick = true;
    const at = this.nextTick;
    let ahead = 1;
    if (this.waiting) {
      const pc = this.pc;
      super.checkWait();
      if (!this.waiting && this.execPending) {
        this.pc = pc; // an exec'd instruction does not move the program counter
        this.execPending = false;
      }
      if (this.waiting) {
        this.sleeping = true; // until a notification (checkWait from outside)
        this.inTick = false;
        this.pio.checkChangedPins();
        return;
      }
      ahead = 1 + delayOf(this.opcode, this.pinCtrl);
    } else {
      this.updatePC = true;
      const opcode = this.pio.instructions[this.pc];
      this.opcode = opcode;
      this.executeInstruction(opcode);
      if (this.updatePC && !this.waiting) {
        this.nextPC();
      }
      if (this.waiting) {
        this.countStall();
        this.sleeping = true;
        this.inTick = false;
        this.pio.checkChangedPins();
        return;
      }
      ahead = 1 + delayOf(opcode, this.pinCtrl);
    }
    this.inTick = false;
    if (this.rxFIFO.itemCount > this.rxMax) {
      this.rxMax = this.rxFIFO.itemCount;
    }
    this.pio.checkChangedPins();
    this.nextTick = at + this.period;
    this.schedule(ahead);
  }

  /** rp2040js calls this when a stall may end (FIFO, pin, IRQ): wake on the next tick. */
  checkWait() {
    if (this.inTick) {
      super.checkWait();
      return;
    }
    if (!this.waiting || !this.enabled || !this.sleeping) {
      return;
    }
    this.sleeping = false;
    this.alignNext();
    this.schedule(1);
  }

  writeUint32(offset, value) {
    switch (offset + SM0_CLKDIV) {
      case SM0_CLKDIV:
        super.writeUint32(offset, value);
        this.updatePeriod();
        return;
      case SM0_SHIFTCTRL: {
        const joined = (this.shiftCtrl ^ value) & (SHIFTCTRL_FJOIN_TX | SHIFTCTRL_FJOIN_RX);
        super.writeUint32(offset, value);
        if (joined) {
          const tx = value & SHIFTCTRL_FJOIN_TX ? 8 : value & SHIFTCTRL_FJOIN_RX ? 0 : 4;
          const rx = value & SHIFTCTRL_FJOIN_RX ? 8 : value & SHIFTCTRL_FJOIN_TX ? 0 : 4;
          this.txFIFO = new FIFO(tx);
          this.rxFIFO = new FIFO(rx);
          this.updateDMATx();
          this.updateDMARx();
          this.pio.checkInterrupts();
        }
        return;
      }
      case SM0_INSTR: {
        // The written instruction takes the place of a stalled one
        const wasSleeping = this.sleeping || this.waiting;
        this.waiting = false;
        this.sleeping = false;
        this.execPending = false;
        this.execCtrl &= ~EXECCTRL_EXEC_STALLED;
        const opcode = value & 0xffff;
        this.opcode = opcode;
        this.inTick = true;
        this.updatePC = true;
        this.executeInstruction(opcode);
        this.inTick = false;
        if (this.waiting) {
          this.execCtrl |= EXECCTRL_EXEC_STALLED;
          this.execPending = true;
          this.sleeping = true;
        } else if (this.enabled && wasSleeping) {
          this.alignNext();
          this.schedule(1 + delayOf(opcode, this.pinCtrl));
        }
        this.pio.checkChangedPins();
        return;
      }
    }
    super.writeUint32(offset, value);
  }
}

/** The cycle clock the PIO blocks count in: sys cycles against emulated nanoseconds. */
export class SysCycleClock {
  constructor(rp2040) {
    this.rp2040 = rp2040;
    this.refNanos = 0;
    this.refCycles = 0;
    this.hz = rp2040.clkSys;
    rp2040.addClockListener((hz) => this.rebase(hz));
  }

  get cycles() {
    return this.refCycles + ((this.rp2040.clock.nanos - this.refNanos) * this.hz) / 1e9;
  }

  nanosUntil(cycle) {
    return ((cycle - this.cycles) * 1e9) / this.hz;
  }

  rebase(hz) {
    const c = this.cycles;
    this.refNanos = this.rp2040.clock.nanos;
    this.refCycles = c;
    this.hz = hz;
    for (const pio of this.rp2040.pio) {
      if (pio.retime) {
        pio.retime();
      }
    }
  }
}

export class TimedPIO extends RPPIO {
  constructor(rp2040, name, firstIrq, index, sys) {
    super(rp2040, name, firstIrq, index);
    this.sys = sys;
    this.machines = [0, 1, 2, 3].map((i) => new TimedStateMachine(rp2040, this, i));
  }

  /** clk_sys changed: pending ticks move to the new time grid. */
  retime() {
    for (const m of this.machines) {
      if (m.enabled && !m.sleeping) {
        m.alarm.schedule(Math.max(0, this.sys.nanosUntil(m.nextTick)));
      }
    }
  }

  writeUint32(offset, value) {
    if (offset === CTRL) {
      for (let i = 0; i < 4; i++) {
        const m = this.machines[i];
        const enable = !!(value & (1 << (CTRL_SM_ENABLE_SHIFT + i)));
        if (value & (1 << (CTRL_SM_RESTART_SHIFT + i))) {
          m.restart();
        }
        if (enable && !m.enabled) {
          m.enabled = true;
          m.start();
        } else if (!enable && m.enabled) {
          m.enabled = false;
          m.sleeping = false;
          m.halt();
        }
        if (value & (1 << (CTRL_CLKDIV_RESTART_SHIFT + i))) {
          m.clkDivRestart();
        }
      }
      this.stopped = !(value & 0xf);
      return;
    }
    if (offset >= SM0_CLKDIV && offset <= SM3_PINCTRL) {
      const i = Math.floor((offset - SM0_CLKDIV) / SM_STRIDE);
      this.machines[i].writeUint32(offset - SM0_CLKDIV - i * SM_STRIDE, value);
      return;
    }
    super.writeUint32(offset, value);
  }

  run() {
    // no host-timer batches: the machines tick on the simulator's clock
  }

  stop() {
    for (const m of this.machines) {
      m.enabled = false;
      m.halt();
    }
    this.stopped = true;
  }
}

/** Replaces an RP2040's two PIO blocks by timed ones (before the firmware runs). */
export function installTimedPIO(rp2040) {
  const sys = new SysCycleClock(rp2040);
  const old = rp2040.pio;
  const pio = old.map((p, i) => new TimedPIO(rp2040, p.name, p.firstIrq, i, sys));
  rp2040.pio = pio;
  rp2040.peripherals[0x50200] = pio[0];
  rp2040.peripherals[0x50300] = pio[1];
  return { sys, pio };
}
