// The emulated Raspberry Pi Pico: an RP2040 from rp2040js with the fixes of this folder,
// booted from the real bootrom and a MicroPython .uf2, run on the simulator's clock.
//
// Chip: one power-on of the RP2040 (a hard reset makes a new one; the flash array and
// the world outside the chip stay). Board: the chip, its 2 MB flash (optionally kept in a
// file), the wiring (nets.js) and the run loop:
//   - time: each instruction advances the simulator's clock by its cycles at the clk_sys
//     the firmware configured (RP2040.clkSys follows PLL_SYS / CLK_SYS, rp2040js 1.4.1),
//     not rp2040js Simulator's fixed 125 MHz; a sleeping core (WFI/WFE) jumps to the next
//     alarm (timer, USB, PIO tick, the card's next bit);
//   - pacing: emulated time never runs ahead of the wall clock (host programs time out in
//     wall time), unless `fast`;
//   - resets: the watchdog (machine.reset(), a WDT timeout) and reset() reboot the chip
//     through the bootrom; the USB serial re-enumerates.
import { ConsoleLogger, LogLevel, RP2040 } from 'rp2040js';
import { installChipRegs } from './chipregs.js';
import { installFlash } from './flash.js';
import { installTimedPIO } from './pio.js';
import { installPWMClock } from './pwm.js';
import { HeldCDC } from './usb.js';

export const FLASH_SIZE = 2 * 1024 * 1024; // W25Q16JV on the Pico
const FLASH_BASE = 0x10000000;
const UF2_MAGIC0 = 0x0a324655;
const UF2_MAGIC1 = 0x9e5d5157;
const UF2_FLAG_NOT_MAIN_FLASH = 0x1;
const SLICE_NANOS = 1e6; // run this much emulated time between looks at the host
const MAX_LAG_MS = 20; // emulated time may fall this far behind the wall clock, then re-bases

/** UF2 blocks (github.com/microsoft/uf2: 32-byte header, payload at 32) into a flash array. */
export function loadUF2(uf2, flash) {
  let blocks = 0;
  for (let off = 0; off + 512 <= uf2.length; off += 512) {
    const v = new DataView(uf2.buffer, uf2.byteOffset + off, 512);
    if (v.getUint32(0, true) !== UF2_MAGIC0 || v.getUint32(4, true) !== UF2_MAGIC1) {
      continue;
    }
    const flags = v.getUint32(8, true);
    const addr = v.getUint32(12, true);
    const size = v.getUint32(16, true);
    if (flags & UF2_FLAG_NOT_MAIN_FLASH || addr < FLASH_BASE || size > 476) {
      continue;
    }
    flash.set(uf2.subarray(off + 32, off + 32 + size), addr - FLASH_BASE);
    blocks++;
  }
  if (!blocks) {
    throw new Error('no RP2040 flash blocks in the .uf2 file');
  }
  return blocks;
}

export class Chip {
  constructor(bootrom, flashImage, board, cause = 'por') {
    const rp2040 = new RP2040();
    rp2040.logger = new ConsoleLogger(LogLevel.Error);
    rp2040.loadBootrom(bootrom); // resets: the flash array fills with FF
    rp2040.flash.set(flashImage.subarray(0, FLASH_SIZE));
    this.rp2040 = rp2040;
    installChipRegs(rp2040, cause);
    this.flash = installFlash(rp2040, { size: FLASH_SIZE }).flash;
    const { sys } = installTimedPIO(rp2040);
    this.sys = sys;
    this.pwm = installPWMClock(rp2040, board);
    this.cdc = new HeldCDC(rp2040.usbCtrl);
    const watchdog = rp2040.peripherals[0x40058];
    watchdog.onWatchdogTrigger = () => {
      // the chip resets (at the end of this instruction): its watchdog stops counting,
      // or rp2040js's periodic alarm at counter 0 would fire again at once, forever
      watchdog.alarm.enable = false;
      watchdog.timer.enable = false;
      board.requestReset('watchdog');
    };
    rp2040.addClockListener(() => board.clockChanged());
    rp2040.core.reset(); // from the bootrom's vectors, as at power-on
  }
}

export class Board {
  constructor({ bootrom, uf2, flashImage = null, fast = false, nets, onSerial, onReset }) {
    this.bootrom = bootrom;
    this.flashImage = new Uint8Array(FLASH_SIZE).fill(0xff);
    if (flashImage) {
      this.flashImage.set(flashImage.subarray(0, FLASH_SIZE));
    }
    loadUF2(uf2, this.flashImage); // a UF2 copied to the Pico: the filesystem blocks stay
    this.fast = fast;
    this.nets = nets;
    this.onSerial = onSerial || (() => {});
    this.onReset = onReset || (() => {});
    this.interrupt = false; // ends the current slice at the next instruction
    this.pauses = 0; // > 0: emulated time stands still (the host computes a card answer)
    this.resetWhy = null;
    this.running = false;
    this.resets = 0;
    this.baseNanos = 0; // emulated time of earlier power-ons (world time = base + chip's)
    this.wallRef = 0;
    this.timer = null;
    this.laters = []; // {at (world ns), fn}: host actions in emulated time (a key's release)
    this.stallSamples = []; // [{t, sm, pcs}]: the CPU's PCs while a PIO push stalled
    this.profile = null; // a running profile.js Profile (bench): the CPU's cycles per address
    this.boot();
  }

  boot(cause = 'por') {
    const old = this.chip;
    if (this.profile) {
      this.profile.stop(); // a profile is of one power-on
      this.profile = null;
    }
    if (old) {
      this.baseNanos += old.rp2040.clock.nanos;
      this.flashImage.set(old.rp2040.flash.subarray(0, FLASH_SIZE));
    }
    this.chip = new Chip(this.bootrom, this.flashImage, this, cause);
    if (old && cause === 'watchdog') {
      // a watchdog reset keeps the watchdog's scratch registers and says why (2.8.1.1)
      const was = old.rp2040.peripherals[0x40058];
      const now = this.chip.rp2040.peripherals[0x40058];
      now.scratchData.set(was.scratchData);
      now.reason = was.reason;
    }
    const { rp2040 } = this.chip;
    this.rp2040 = rp2040;
    this.cycleNanos = 1e9 / rp2040.clkSys;
    this.chip.cdc.onSerialData = (data) => this.onSerial(data);
    for (const pio of rp2040.pio) {
      pio.onRxFull = (sm) => this.sampleStall(sm);
    }
    this.nets.attach(rp2040);
    this.onReset(this);
  }

  /** World time in emulated nanoseconds (continuous across chip resets). */
  get nanos() {
    return this.baseNanos + this.rp2040.clock.nanos;
  }

  clockChanged() {
    this.cycleNanos = 1e9 / this.rp2040.clkSys;
    this.interrupt = true;
  }

  requestReset(why) {
    this.resetWhy = why;
    this.interrupt = true;
  }

  get flashOps() {
    const f = this.chip.flash;
    return f.erases + f.programs;
  }

  /** Host bytes to the USB serial. */
  serialIn(bytes) {
    this.chip.cdc.sendSerialBytes(bytes);
  }

  pause() {
    this.pauses++;
    this.interrupt = true;
  }

  resume() {
    if (this.pauses > 0 && --this.pauses === 0) {
      this.kick();
    }
  }

  start() {
    this.running = true;
    this.wallRef = performance.now() - this.nanos / 1e6;
    this.kick();
  }

  stop() {
    this.running = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  kick() {
    if (this.running && !this.timer && !this.pauses) {
      this.timer = setImmediate(() => this.loop());
    }
  }

  loop() {
    this.timer = null;
    if (!this.running || this.pauses) {
      return;
    }
    this.runSlice(SLICE_NANOS);
    this.fireLater();
    if (this.resetWhy) {
      const why = this.resetWhy;
      this.resetWhy = null;
      this.resets++;
      this.boot(why);
    }
    if (this.pauses || !this.running) {
      return;
    }
    if (this.fast) {
      this.timer = setImmediate(() => this.loop());
      return;
    }
    const wall = performance.now();
    const emu = this.nanos / 1e6;
    let ahead = this.wallRef + emu - wall;
    if (ahead < -MAX_LAG_MS) {
      this.wallRef -= ahead + MAX_LAG_MS; // slower than real time: do not race later
      ahead = -MAX_LAG_MS;
    }
    if (ahead > 1) {
      this.timer = setTimeout(() => this.loop(), ahead);
    } else {
      this.timer = setImmediate(() => this.loop());
    }
  }

  /** Runs the chip for up to `nanos` of emulated time (less when interrupted). */
  runSlice(nanos) {
    const { rp2040 } = this;
    const { core, clock } = rp2040;
    const end = clock.nanos + nanos;
    this.interrupt = false;
    let cycleNanos = this.cycleNanos;
    while (clock.nanosCounter < end) {
      if (core.waiting) {
        const next = clock.nextAlarm;
        if (!next || next.nanos > end) {
          clock.tick(end - clock.nanosCounter);
          break;
        }
        clock.tick(next.nanos - clock.nanosCounter);
      } else if (this.profile === null) {
        clock.tick(core.executeInstruction() * cycleNanos);
      } else {
        const pc = core.PC;
        const cycles = core.executeInstruction();
        this.profile.add(pc, cycles, cycleNanos);
        clock.tick(cycles * cycleNanos);
      }
      if (this.interrupt) {
        this.interrupt = false;
        cycleNanos = this.cycleNanos;
        if (this.pauses || this.resetWhy) {
          break;
        }
      }
    }
  }

  /**
   * While a state machine's push stalls on a full RX FIFO (the CPU is not reading it), the
   * CPU's PC every 2 us: where the firmware was instead (map them with the .elf's symbols).
   */
  sampleStall(sm) {
    const { rp2040 } = this;
    const samples = [];
    this.stallSamples.push({ t: this.nanos, sm: sm.index, pcs: samples });
    if (this.stallSamples.length > 20) {
      this.stallSamples.shift();
    }
    const alarm = rp2040.clock.createAlarm(() => {
      if (sm.waiting && sm.waitType === 2 && samples.length < 5000) {
        samples.push(rp2040.core.PC >>> 0);
        alarm.schedule(2000);
      }
    });
    alarm.schedule(0);
  }

  /** Calls fn once `ms` of emulated time have passed (to a slice's precision: 1 ms). */
  later(ms, fn) {
    this.laters.push({ at: this.nanos + ms * 1e6, fn });
  }

  fireLater() {
    if (!this.laters.length) {
      return;
    }
    const now = this.nanos;
    const due = this.laters.filter((l) => l.at <= now);
    this.laters = this.laters.filter((l) => l.at > now);
    for (const l of due) {
      l.fn();
    }
  }

  /** Runs until `predicate()` or `limitNanos` of emulated time (tests). */
  runUntil(predicate, limitNanos) {
    const stopAt = this.nanos + limitNanos;
    while (this.nanos < stopAt && !predicate()) {
      this.runSlice(Math.min(SLICE_NANOS, stopAt - this.nanos));
      if (this.resetWhy) {
        const why = this.resetWhy;
        this.resetWhy = null;
        this.resets++;
        this.boot(why);
      }
    }
    return predicate();
  }

  /** The flash as it is now (to save). */
  flashBytes() {
    return this.rp2040.flash.subarray(0, FLASH_SIZE);
  }
}
