// Small blocks rp2040js (1.4.1) leaves unimplemented (every read 0xffffffff):
//
//   RPVregChipReset - VREG_AND_CHIP_RESET (RP2040 datasheet 2.10.7). With all ones in
//     CHIP_RESET the bootrom sees PSM_RESTART_FLAG (bit 24, "debugger restart: safe mode")
//     and parks core 0 in its rescue loop (a wfi at 0x30) instead of booting from flash.
//     Power-on values: VREG 0x000000b1, BOD 0x00000091, CHIP_RESET HAD_POR (bit 8).
//   RPROSC - the ring oscillator (datasheet 2.17.8): CTRL/DIV/PHASE/... kept, STATUS stable
//     and enabled, RANDOMBIT a pseudo-random bit (MicroPython seeds its random module from
//     it), COUNT counting down to 0 at once.
import { BasePeripheral } from 'rp2040js';

// VREG_AND_CHIP_RESET (2.10.7)
const VREG = 0x00;
const BOD = 0x04;
const CHIP_RESET = 0x08;
const CHIP_RESET_HAD_POR = 1 << 8;
const CHIP_RESET_HAD_RUN = 1 << 16;
const CHIP_RESET_PSM_RESTART_FLAG = 1 << 24;

export class RPVregChipReset extends BasePeripheral {
  constructor(rp2040, name, cause = 'por') {
    super(rp2040, name);
    this.vreg = 0xb1;
    this.bod = 0x91;
    this.chipReset = cause === 'run' ? CHIP_RESET_HAD_RUN : cause === 'watchdog' ? 0 : CHIP_RESET_HAD_POR;
  }

  readUint32(offset) {
    switch (offset) {
      case VREG:
        return this.vreg | (1 << 12); // ROK: regulation OK
      case BOD:
        return this.bod;
      case CHIP_RESET:
        return this.chipReset;
    }
    return super.readUint32(offset);
  }

  writeUint32(offset, value) {
    switch (offset) {
      case VREG:
        this.vreg = value & 0xf3;
        return;
      case BOD:
        this.bod = value & 0xf1;
        return;
      case CHIP_RESET:
        // only PSM_RESTART_FLAG is writable
        this.chipReset = (this.chipReset & ~CHIP_RESET_PSM_RESTART_FLAG) | (value & CHIP_RESET_PSM_RESTART_FLAG);
        return;
    }
    super.writeUint32(offset, value);
  }
}

// ROSC (2.17.8)
const ROSC_CTRL = 0x00;
const ROSC_FREQA = 0x04;
const ROSC_FREQB = 0x08;
const ROSC_DORMANT = 0x0c;
const ROSC_DIV = 0x10;
const ROSC_PHASE = 0x14;
const ROSC_STATUS = 0x18;
const ROSC_RANDOMBIT = 0x1c;
const ROSC_COUNT = 0x20;
const ROSC_STATUS_STABLE = 1 << 31;
const ROSC_STATUS_ENABLED = 1 << 12;
const ROSC_CTRL_ENABLE_SHIFT = 12;
const ROSC_CTRL_DISABLE = 0xd1e;

export class RPROSC extends BasePeripheral {
  constructor(rp2040, name) {
    super(rp2040, name);
    this.ctrl = 0x00000aa0;
    this.freqa = 0;
    this.freqb = 0;
    this.dormant = 0;
    this.div = 0x10; // divide by 16 at reset
    this.phase = 0x8;
    this.lfsr = 0xace1;
  }

  readUint32(offset) {
    switch (offset) {
      case ROSC_CTRL:
        return this.ctrl;
      case ROSC_FREQA:
        return this.freqa;
      case ROSC_FREQB:
        return this.freqb;
      case ROSC_DORMANT:
        return this.dormant;
      case ROSC_DIV:
        return this.div;
      case ROSC_PHASE:
        return this.phase;
      case ROSC_STATUS: {
        const enabled = ((this.ctrl >> ROSC_CTRL_ENABLE_SHIFT) & 0xfff) !== ROSC_CTRL_DISABLE;
        return enabled ? ROSC_STATUS_STABLE | ROSC_STATUS_ENABLED : 0;
      }
      case ROSC_RANDOMBIT: {
        // 16-bit Galois LFSR, x^16 + x^14 + x^13 + x^11 + 1
        const bit = this.lfsr & 1;
        this.lfsr = (this.lfsr >>> 1) ^ (bit ? 0xb400 : 0);
        return bit;
      }
      case ROSC_COUNT:
        return 0;
    }
    return super.readUint32(offset);
  }

  writeUint32(offset, value) {
    switch (offset) {
      case ROSC_CTRL:
        this.ctrl = value & 0xffffff;
        return;
      case ROSC_FREQA:
        this.freqa = value;
        return;
      case ROSC_FREQB:
        this.freqb = value;
        return;
      case ROSC_DORMANT:
        this.dormant = value;
        return;
      case ROSC_DIV:
        this.div = value & 0xfff;
        return;
      case ROSC_PHASE:
        this.phase = value & 0xfff;
        return;
      case ROSC_COUNT:
        return;
    }
    super.writeUint32(offset, value);
  }
}


// SIO inter-core FIFOs (datasheet 2.3.1.3) and core 1. rp2040js (1.4.1) runs core 0 only and
// its SIO warns on FIFO_ST/FIFO_WR/FIFO_RD, returning nothing. SIOMailbox gives core 0 its
// mailbox: FIFO_ST (VLD, RDY, WOF, ROE), FIFO_RD (from core 1, 8 deep), FIFO_WR (to core 1,
// 8 deep, nobody reads it). Core 1 itself is not emulated; what its bootrom does when
// released from reset (PSM FRCE_OFF PROC1 falling: it drains its FIFO and pushes a 0,
// pico-sdk multicore_reset_core1) is, so MicroPython's soft reset finds the 0 it waits for.
// MicroPython's _thread (which launches code on core 1) is therefore not supported.
const SIO_FIFO_ST = 0x50;
const SIO_FIFO_WR = 0x54;
const SIO_FIFO_RD = 0x58;
const FIFO_ST_VLD = 1 << 0;
const FIFO_ST_RDY = 1 << 1;
const FIFO_ST_WOF = 1 << 2;
const FIFO_ST_ROE = 1 << 3;
const PSM_FRCE_OFF = 0x04;
const PSM_PROC1 = 1 << 16;
const MAILBOX_DEPTH = 8;

export class SIOMailbox {
  constructor(rp2040) {
    this.rx = []; // core 1 -> core 0
    this.tx = []; // core 0 -> core 1
    this.wof = false;
    this.roe = false;
    const sio = rp2040.sio;
    const read = sio.readUint32.bind(sio);
    const write = sio.writeUint32.bind(sio);
    sio.readUint32 = (offset) => {
      switch (offset) {
        case SIO_FIFO_ST:
          return (
            (this.rx.length ? FIFO_ST_VLD : 0) |
            (this.tx.length < MAILBOX_DEPTH ? FIFO_ST_RDY : 0) |
            (this.wof ? FIFO_ST_WOF : 0) |
            (this.roe ? FIFO_ST_ROE : 0)
          );
        case SIO_FIFO_RD:
          if (!this.rx.length) {
            this.roe = true;
            return 0;
          }
          return this.rx.shift();
      }
      return read(offset);
    };
    sio.writeUint32 = (offset, value) => {
      switch (offset) {
        case SIO_FIFO_ST: // writing clears the sticky error flags
          this.wof = false;
          this.roe = false;
          return;
        case SIO_FIFO_WR:
          if (this.tx.length >= MAILBOX_DEPTH) {
            this.wof = true;
          } else {
            this.tx.push(value >>> 0);
          }
          return;
      }
      write(offset, value);
    };
    const psm = rp2040.peripherals[0x40010];
    const psmWrite = psm.writeUint32.bind(psm);
    psm.writeUint32 = (offset, value) => {
      const was = psm.frceOff & PSM_PROC1;
      psmWrite(offset, value);
      if (offset === PSM_FRCE_OFF && was && !(psm.frceOff & PSM_PROC1)) {
        this.tx = []; // core 1's bootrom drains its mailbox...
        if (this.rx.length < MAILBOX_DEPTH) {
          this.rx.push(0); // ...and tells core 0 it is ready
        }
      }
    };
  }
}

export function installChipRegs(rp2040, cause) {
  const vreg = new RPVregChipReset(rp2040, 'VREG_AND_CHIP_RESET_BASE', cause);
  const rosc = new RPROSC(rp2040, 'ROSC_BASE');
  rp2040.peripherals[0x40064] = vreg;
  rp2040.peripherals[0x40060] = rosc;
  const mailbox = new SIOMailbox(rp2040);
  return { vreg, rosc, mailbox };
}
