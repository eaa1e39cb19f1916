// Test helpers: a bare RP2040 with the harness's fixes (no firmware), register access,
// time stepping and a PIO instruction encoder (RP2040 datasheet 3.4, "Instruction Set").
import { ConsoleLogger, LogLevel, RP2040 } from 'rp2040js';
import { installChipRegs } from '../chipregs.js';
import { installFlash } from '../flash.js';
import { Nets } from '../nets.js';
import { installTimedPIO } from '../pio.js';
import { installPWMClock } from '../pwm.js';

export const PIO0 = 0x50200000;
export const IO_BANK0 = 0x40014000;
export const PADS_BANK0 = 0x4001c000;
export const PAD_IE = 1 << 6;
export const PAD_PUE = 1 << 3;
export const PAD_PDE = 1 << 2;
export const FUNC_PIO0 = 6;
export const FUNC_PWM = 4;
export const FUNC_SIO = 5;

export function chip({ withNets = true } = {}) {
  const rp2040 = new RP2040();
  rp2040.logger = new ConsoleLogger(LogLevel.Error);
  installChipRegs(rp2040, 'por');
  const flash = installFlash(rp2040, { size: 2 * 1024 * 1024 });
  const { sys, pio } = installTimedPIO(rp2040);
  const changes = [];
  const hooks = []; // called on PWM/IO changes, as Board.hardwareChanged
  const pwm = installPWMClock(rp2040, {
    hardwareChanged: () => {
      changes.push(rp2040.clock.nanos);
      for (const h of hooks) {
        h();
      }
    },
  });
  const nets = new Nets();
  if (withNets) {
    nets.attach(rp2040);
  }
  return { rp2040, flash, sys, pio, pwm, nets, changes, hooks };
}

export function w32(rp2040, addr, value) {
  rp2040.writeUint32(addr, value >>> 0);
}

export function r32(rp2040, addr) {
  return rp2040.readUint32(addr) >>> 0;
}

/** Routes a GPIO to a function, its pad input enabled (and pulls as asked). */
export function pinFunction(rp2040, gpio, func, pad = PAD_IE) {
  w32(rp2040, PADS_BANK0 + 4 + 4 * gpio, pad);
  w32(rp2040, IO_BANK0 + 8 * gpio + 4, func);
}

/** Advances emulated time (alarms fire: PIO ticks, PWM, the card). */
export function run(rp2040, nanos) {
  rp2040.clock.tick(nanos);
}

/** Sys cycles at 125 MHz (rp2040js's default clk_sys) -> ns. */
export const CYC = 8;

// ---- PIO encoder: delay/side-set field `ds` (5 bits, already packed) ----
const op = (code, ds, arg) => ((code << 13) | ((ds & 0x1f) << 8) | (arg & 0xff)) >>> 0;
export const pio = {
  jmp: (cond, addr, ds = 0) => op(0, ds, (cond << 5) | addr),
  wait: (polarity, source, index, ds = 0) => op(1, ds, (polarity << 7) | (source << 5) | index),
  in: (source, bits, ds = 0) => op(2, ds, (source << 5) | (bits & 0x1f)),
  out: (dest, bits, ds = 0) => op(3, ds, (dest << 5) | (bits & 0x1f)),
  push: (block = 1, ifFull = 0, ds = 0) => op(4, ds, (ifFull << 6) | (block << 5)),
  pull: (block = 1, ifEmpty = 0, ds = 0) => op(4, ds, 0x80 | (ifEmpty << 6) | (block << 5)),
  mov: (dest, src, ds = 0, o = 0) => op(5, ds, (dest << 5) | (o << 3) | src),
  set: (dest, data, ds = 0) => op(7, ds, (dest << 5) | data),
  nop: (ds = 0) => op(5, ds, (2 << 5) | 2), // mov y, y
};
export const JMP = { always: 0, notX: 1, xDec: 2, notY: 3, yDec: 4, xNeY: 5, pin: 6, notOSRE: 7 };
export const SRC = { pins: 0, x: 1, y: 2, null: 3, status: 5, isr: 6, osr: 7 };
export const DST = { pins: 0, x: 1, y: 2, null: 3, pindirs: 4, pc: 5, isr: 6, osr: 7, exec: 4 };
export const WAIT = { gpio: 0, pin: 1, irq: 2 };

// PIO registers (3.7)
export const R = {
  CTRL: 0x000,
  FSTAT: 0x004,
  FDEBUG: 0x008,
  FLEVEL: 0x00c,
  TXF0: 0x010,
  RXF0: 0x020,
  IRQ: 0x030,
  INSTR_MEM0: 0x048,
  SM0_CLKDIV: 0x0c8,
  SM0_EXECCTRL: 0x0cc,
  SM0_SHIFTCTRL: 0x0d0,
  SM0_ADDR: 0x0d4,
  SM0_INSTR: 0x0d8,
  SM0_PINCTRL: 0x0dc,
};

/** Loads a program at 0 and configures SM0 (wrap over the whole program by default). */
export function loadSM0(rp2040, program, { clkdiv = 1, frac = 0, pinctrl = 0, execctrl = null, shiftctrl = 0x000c0000 } = {}) {
  program.forEach((instr, i) => w32(rp2040, PIO0 + R.INSTR_MEM0 + 4 * i, instr));
  w32(rp2040, PIO0 + R.SM0_CLKDIV, (clkdiv << 16) | (frac << 8));
  const wrapTop = program.length - 1;
  w32(rp2040, PIO0 + R.SM0_EXECCTRL, execctrl ?? (wrapTop << 12));
  w32(rp2040, PIO0 + R.SM0_SHIFTCTRL, shiftctrl);
  w32(rp2040, PIO0 + R.SM0_PINCTRL, pinctrl);
  w32(rp2040, PIO0 + R.SM0_INSTR, pio.jmp(0, 0)); // jmp 0
}

/** PINCTRL: set/out/in/side-set bases and counts (3.7, SMx_PINCTRL). */
export function pinctrl({ outBase = 0, setBase = 0, sideBase = 0, inBase = 0, outCount = 0, setCount = 0, sideCount = 0 }) {
  return ((sideCount << 29) | (setCount << 26) | (outCount << 20) | (inBase << 15) | (sideBase << 10) | (setBase << 5) | outBase) >>> 0;
}

/** Records level changes of a pin: [{t (ns), level}]. */
export function recorder(nets, rp2040, gpio) {
  const seen = [];
  nets.watch(gpio, (level) => seen.push({ t: rp2040.clock.nanos, level }));
  return seen;
}
