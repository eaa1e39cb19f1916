// What the GPIO pins are wired to, and the level each pin's input buffer then reads.
//
// rp2040js (1.4.1) gives a pin's input only what the host last passed to setInputValue():
// an undriven pin reads 0, a pin the chip drives does not read its own level, and the pad's
// pull-up/pull-down bits (PADS_BANK0 GPIOx PUE/PDE, RP2040 datasheet 2.19.6.3) change
// nothing. Nets resolves each pin's level from everything on it, by strength:
//
//   DRIVE (3): the chip's own output (IO_BANK0 output enable, not disabled by the pad's
//              OD bit), an open-drain device pulling low (the card's I/O), a switch to GND;
//   RESISTOR (2): a board resistor (the card I/O's 10 k pull-up to the card's VCC);
//   PULL (1): the pad's own pull-up / pull-down (50-80 k, datasheet 2.19.4);
//
// the strongest wins; two drives fighting is a short circuit (reported, read as low); a pin
// with nothing on it keeps the level it had (the pad's input floats, or a bus keeper holds).
// Keys of a matrix keypad join two pins into one net while pressed.
import { GPIOPinState } from 'rp2040js';

export const DRIVE = 3;
export const RESISTOR = 2;
export const PULL = 1;

export class Nets {
  constructor(count = 30) {
    this.count = count;
    this.rp2040 = null;
    this.external = []; // per pin: Map(source -> {level, strength})
    this.links = []; // per pin: Set of pins joined to it (pressed keys)
    this.levels = new Uint8Array(count); // last resolved level
    this.watchers = []; // per pin: callbacks (level, pin) on a change of the resolved level
    this.shorts = []; // (time, pin) of drive fights seen
    this.onShort = null;
    for (let i = 0; i < count; i++) {
      this.external.push(new Map());
      this.links.push(new Set());
      this.watchers.push([]);
    }
    this.unlisten = [];
  }

  /** Wires the nets to a chip (again after a hard reset: a new RP2040). */
  attach(rp2040) {
    for (const off of this.unlisten) {
      off();
    }
    this.unlisten = [];
    this.rp2040 = rp2040;
    for (let i = 0; i < this.count; i++) {
      const pin = i;
      this.unlisten.push(rp2040.gpio[i].addListener(() => this.resolve(pin)));
    }
    for (let i = 0; i < this.count; i++) {
      this.resolve(i, true);
    }
  }

  /** An external source on a pin: level 0/1 with a strength, or null to remove it. */
  set(pin, source, level, strength = DRIVE) {
    const ext = this.external[pin];
    if (level === null || level === undefined) {
      if (!ext.delete(source)) {
        return;
      }
    } else {
      const old = ext.get(source);
      if (old && old.level === level && old.strength === strength) {
        return;
      }
      ext.set(source, { level: level ? 1 : 0, strength });
    }
    this.resolve(pin);
  }

  /** Joins two pins (a key pressed) or separates them. */
  link(a, b, joined) {
    if (joined) {
      this.links[a].add(b);
      this.links[b].add(a);
    } else {
      this.links[a].delete(b);
      this.links[b].delete(a);
    }
    this.resolve(a);
    this.resolve(b);
  }

  watch(pin, callback) {
    this.watchers[pin].push(callback);
    return () => {
      const w = this.watchers[pin];
      const i = w.indexOf(callback);
      if (i >= 0) {
        w.splice(i, 1);
      }
    };
  }

  level(pin) {
    return this.levels[pin];
  }

  group(pin) {
    // The pins joined to this one, itself included
    const seen = [pin];
    for (let k = 0; k < seen.length; k++) {
      for (const other of this.links[seen[k]]) {
        if (!seen.includes(other)) {
          seen.push(other);
        }
      }
    }
    return seen;
  }

  resolve(pin, force = false) {
    const { rp2040 } = this;
    if (!rp2040) {
      return;
    }
    const pins = this.links[pin].size ? this.group(pin) : [pin];
    let hi = 0; // strongest strength pulling high / low
    let lo = 0;
    let driveHi = false;
    let driveLo = false;
    for (const p of pins) {
      const gpio = rp2040.gpio[p];
      const state = gpio.value;
      const padOD = gpio.outputDisable;
      if ((state === GPIOPinState.High || state === GPIOPinState.Low) && !padOD) {
        if (state === GPIOPinState.High) {
          hi = DRIVE;
          driveHi = true;
        } else {
          lo = DRIVE;
          driveLo = true;
        }
      } else if (state === GPIOPinState.InputPullUp) {
        hi = Math.max(hi, PULL);
      } else if (state === GPIOPinState.InputPullDown) {
        lo = Math.max(lo, PULL);
      }
      for (const { level, strength } of this.external[p].values()) {
        if (level) {
          hi = Math.max(hi, strength);
          driveHi ||= strength === DRIVE;
        } else {
          lo = Math.max(lo, strength);
          driveLo ||= strength === DRIVE;
        }
      }
    }
    let level;
    if (driveHi && driveLo) {
      level = 0;
      this.shorts.push(pin);
      if (this.onShort) {
        this.onShort(pin);
      }
    } else if (hi > lo) {
      level = 1;
    } else if (lo > hi) {
      level = 0;
    } else {
      level = this.levels[pin]; // floating, or a bus keeper: holds
    }
    for (const p of pins) {
      const changed = this.levels[p] !== level;
      this.levels[p] = level;
      const gpio = rp2040.gpio[p];
      if (changed || force || gpio.rawInputValue !== !!level) {
        gpio.setInputValue(!!level);
      }
      if (changed) {
        for (const w of this.watchers[p]) {
          w(level, p);
        }
      }
    }
  }
}
