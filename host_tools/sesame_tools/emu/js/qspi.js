// The RP2040's side of the QSPI flash path (flash.js has the flash chip, SPIFlash, and
// installFlash, which wires these in), in rp2040js's shape:
//
//   RPSSIFlash - the SSI (RP2040 datasheet 4.10, "SSI", registers 4.10.13): CTRLR0/1, BAUDR,
//               the 16-deep TX and RX FIFOs, SR's BUSY/TFNF/TFE/RFNE/RFF from emulated core
//               cycles (one frame = DFS+1 bits at clk_sys / BAUDR per bit clock), chip select
//               driven by the SSI itself while it shifts or forced by IO_QSPI, and the
//               EEPROM-read transfer mode boot2 uses once to enter continuous quad read.
//   RPIOQSPI  - the QSPI pins' IO block (datasheet 2.19.6.2): the six CTRL registers kept, the
//               SS pin's OUTOVER chip-selecting the flash (the bootrom's flash_cs_force()),
//               SS's STATUS (INFROMPAD, OUTTOPAD) reading the pad and the select.
import { BasePeripheral } from 'rp2040js';

// ---- RPSSIFlash: the SSI, RP2040 datasheet 4.10.13 (register list) ----
const SSI_CTRLR0 = 0x00;
const SSI_CTRLR1 = 0x04;
const SSI_SSIENR = 0x08;
const SSI_SER = 0x10;
const SSI_BAUDR = 0x14;
const SSI_TXFTLR = 0x18;
const SSI_RXFTLR = 0x1c;
const SSI_TXFLR = 0x20;
const SSI_RXFLR = 0x24;
const SSI_SR = 0x28;
const SSI_IMR = 0x2c;
const SSI_ISR = 0x30;
const SSI_RISR = 0x34;
const SSI_ICR = 0x48;
const SSI_DMACR = 0x4c;
const SSI_IDR = 0x58;
const SSI_VERSION_ID = 0x5c;
const SSI_DR0 = 0x60;
const SSI_RX_SAMPLE_DLY = 0xf0;
const SSI_SPI_CTRLR0 = 0xf4;
const SSI_TXD_DRIVE_EDGE = 0xf8;
// SR bits (4.10.13, SR)
const SR_BUSY = 1 << 0;
const SR_TFNF = 1 << 1;
const SR_TFE = 1 << 2;
const SR_RFNE = 1 << 3;
const SR_RFF = 1 << 4;
// CTRLR0 fields
const CTRLR0_DFS_32_SHIFT = 16;
const CTRLR0_TMOD_SHIFT = 8;
const CTRLR0_SPI_FRF_SHIFT = 21;
const TMOD_EEPROM_READ = 3;
// SPI_CTRLR0 fields
const SPI_CTRLR0_ADDR_L_SHIFT = 2;
const FIFO_DEPTH = 16;

export class RPSSIFlash extends BasePeripheral {
  constructor(rp2040, name, flash, ioqspi) {
    super(rp2040, name);
    this.flash = flash;
    this.ioqspi = ioqspi;
    ioqspi.ssi = this;
    this.ctrlr0 = 0;
    this.ctrlr1 = 0;
    this.ssienr = 0;
    this.ser = 0;
    this.baudr = 0;
    this.txftlr = 0;
    this.rxftlr = 0;
    this.imr = 0;
    this.dmacr = 0;
    this.rxSampleDly = 0;
    this.spiCtrlr0 = 0x03000000 | (1 << SPI_CTRLR0_ADDR_L_SHIFT); // reset value
    this.txdDriveEdge = 0;
    this.rx = [];
    this.busyUntil = 0; // core cycle at which the last frame has shifted out
    this.frameStarts = []; // core cycles at which frames still in the TX FIFO start
    this.eeprom = null; // EEPROM-read transfer under way: {cmd, addr, frames}
  }

  get cycles() {
    return this.rp2040.core.cycles;
  }

  get frameCycles() {
    // One frame: DFS+1 bits at clk_sys / BAUDR per bit (BAUDR 0 = disabled: say 2)
    const bits = ((this.ctrlr0 >> CTRLR0_DFS_32_SHIFT) & 0x1f) + 1;
    const frf = (this.ctrlr0 >> CTRLR0_SPI_FRF_SHIFT) & 3;
    const perClock = frf === 2 ? 4 : frf === 1 ? 2 : 1;
    return Math.max(1, Math.ceil(bits / perClock)) * (this.baudr || 2);
  }

  /** The SSI drives chip select itself (IO_QSPI SS OUTOVER normal): asserted while it shifts. */
  get selfSelect() {
    return this.ioqspi.ssOutover === 0;
  }

  /** Chip select as the flash sees it, the SSI's own select brought up to date. */
  updateSelect() {
    const over = this.ioqspi.ssOutover;
    if (over === 2) {
      this.flash.select(true); // OUTOVER LOW: forced selected
    } else if (over === 3) {
      this.flash.select(false); // OUTOVER HIGH: forced deselected
    } else if (this.cycles >= this.busyUntil) {
      this.flash.select(false); // normal: deselected once the FIFO drained
    }
  }

  readUint32(offset) {
    switch (offset) {
      case SSI_CTRLR0:
        return this.ctrlr0;
      case SSI_CTRLR1:
        return this.ctrlr1;
      case SSI_SSIENR:
        return this.ssienr;
      case SSI_SER:
        return this.ser;
      case SSI_BAUDR:
        return this.baudr;
      case SSI_TXFTLR:
        return this.txftlr;
      case SSI_RXFTLR:
        return this.rxftlr;
      case SSI_TXFLR:
        return this.txLevel;
      case SSI_RXFLR:
        return this.rx.length;
      case SSI_SR: {
        const tx = this.txLevel;
        this.updateSelect();
        return (
          (this.cycles < this.busyUntil ? SR_BUSY : 0) |
          (tx < FIFO_DEPTH ? SR_TFNF : 0) |
          (tx === 0 ? SR_TFE : 0) |
          (this.rx.length ? SR_RFNE : 0) |
          (this.rx.length >= FIFO_DEPTH ? SR_RFF : 0)
        );
      }
      case SSI_IMR:
        return this.imr;
      case SSI_ISR:
      case SSI_RISR:
        return 0;
      case SSI_ICR:
        return 0;
      case SSI_DMACR:
        return this.dmacr;
      case SSI_IDR:
        return 0x51535049;
      case SSI_VERSION_ID:
        return 0x3430312a;
      case SSI_DR0:
        return this.rx.length ? this.rx.shift() : 0;
      case SSI_RX_SAMPLE_DLY:
        return this.rxSampleDly;
      case SSI_SPI_CTRLR0:
        return this.spiCtrlr0;
      case SSI_TXD_DRIVE_EDGE:
        return this.txdDriveEdge;
    }
    if (offset >= 0x20 && offset <= 0x58) {
      return 0; // other status/interrupt-clear registers
    }
    return super.readUint32(offset);
  }

  /** Frames written to DR0 that have not started shifting. */
  get txLevel() {
    const now = this.cycles;
    const starts = this.frameStarts;
    while (starts.length && starts[0] <= now) {
      starts.shift();
    }
    return starts.length;
  }

  writeUint32(offset, value) {
    switch (offset) {
      case SSI_CTRLR0:
        this.ctrlr0 = value;
        return;
      case SSI_CTRLR1:
        this.ctrlr1 = value & 0xffff;
        return;
      case SSI_SSIENR:
        this.ssienr = value & 1;
        if (!this.ssienr) {
          // Disabling the SSI empties both FIFOs and stops any transfer (4.10.3)
          this.rx = [];
          this.frameStarts = [];
          this.busyUntil = this.cycles;
          this.eeprom = null;
          this.updateSelect();
        }
        return;
      case SSI_SER:
        this.ser = value & 1;
        return;
      case SSI_BAUDR:
        this.baudr = value & 0xfffe;
        return;
      case SSI_TXFTLR:
        this.txftlr = value & 0xff;
        return;
      case SSI_RXFTLR:
        this.rxftlr = value & 0xff;
        return;
      case SSI_IMR:
        this.imr = value & 0x3f;
        return;
      case SSI_DMACR:
        this.dmacr = value & 3;
        return;
      case SSI_DR0:
        this.writeFrame(value >>> 0);
        return;
      case SSI_RX_SAMPLE_DLY:
        this.rxSampleDly = value & 0xff;
        return;
      case SSI_SPI_CTRLR0:
        this.spiCtrlr0 = value >>> 0;
        return;
      case SSI_TXD_DRIVE_EDGE:
        this.txdDriveEdge = value & 0xff;
        return;
    }
    if (offset >= 0x20 && offset <= 0x58) {
      return; // read-only or interrupt registers
    }
    super.writeUint32(offset, value);
  }

  writeFrame(value) {
    if (!this.ssienr) {
      return;
    }
    const now = this.cycles;
    if (this.selfSelect) {
      if (now >= this.busyUntil) {
        // the FIFO had drained: the previous transfer's chip select has risen
        this.flash.select(false);
        this.eeprom = null;
      }
      if (this.ser) {
        this.flash.select(true);
      }
    }
    const start = Math.max(now, this.busyUntil);
    this.frameStarts.push(start);
    this.busyUntil = start + this.frameCycles;
    const tmod = (this.ctrlr0 >> CTRLR0_TMOD_SHIFT) & 3;
    if (tmod === TMOD_EEPROM_READ) {
      this.eepromFrame(value);
      return;
    }
    // TX and RX (or TX only): one byte each way per frame (8-bit frames: the low byte)
    const out = this.flash.transfer(value & 0xff);
    if (tmod !== 1 && this.rx.length < FIFO_DEPTH) {
      this.rx.push(out);
    }
  }

  eepromFrame(value) {
    // EEPROM read: instruction then address frames go out, then CTRLR1.NDF + 1 data frames
    // come back. boot2 uses it once to put the flash in continuous quad read (EBh, mode
    // A0h); XIP reads themselves come from rp2040.flash directly.
    const frf = (this.ctrlr0 >> CTRLR0_SPI_FRF_SHIFT) & 3;
    if (!this.eeprom) {
      this.eeprom = { cmd: value & 0xff, frames: [] };
      if (frf === 0) {
        this.flash.transfer(value & 0xff);
      }
      return;
    }
    const e = this.eeprom;
    e.frames.push(value);
    const dfsBytes = (((this.ctrlr0 >> CTRLR0_DFS_32_SHIFT) & 0x1f) + 1) >> 3;
    const addrNibbles = (this.spiCtrlr0 >> SPI_CTRLR0_ADDR_L_SHIFT) & 0xf;
    // the address frame: 24 address bits, then (ADDR_L = 8 nibbles) 8 mode bits
    const addr = addrNibbles >= 8 ? value >>> 8 : value & 0xffffff;
    const n = this.ctrlr1 + 1;
    for (let i = 0; i < n && this.rx.length < FIFO_DEPTH; i++) {
      let word = 0;
      for (let k = 0; k < Math.max(1, dfsBytes); k++) {
        word |= this.flash.array[(addr + i * dfsBytes + k) % this.flash.size] << (8 * k);
      }
      this.rx.push(word >>> 0);
    }
  }
}

// ---- RPIOQSPI: IO_QSPI, RP2040 datasheet 2.19.6.2 ----
const GPIO_QSPI_SCLK_STATUS = 0x00;
const GPIO_QSPI_SD3_CTRL = 0x2c;
const GPIO_QSPI_SS_CTRL = 0x0c;
const IO_QSPI_INTR = 0x30;
const IO_QSPI_LAST = 0x54; // DORMANT_WAKE_INTS
const CTRL_OUTOVER_SHIFT = 8;
const CTRL_RESET = 0x1f; // FUNCSEL = NULL

export class RPIOQSPI extends BasePeripheral {
  constructor(rp2040, name) {
    super(rp2040, name);
    this.ctrl = new Uint32Array(6).fill(CTRL_RESET); // SCLK, SS, SD0..SD3
    this.ssi = null;
  }

  get ssOutover() {
    return (this.ctrl[1] >> CTRL_OUTOVER_SHIFT) & 3;
  }

  readUint32(offset) {
    if (offset >= GPIO_QSPI_SCLK_STATUS && offset <= GPIO_QSPI_SD3_CTRL) {
      const pin = offset >> 3;
      if (offset & 4) {
        return this.ctrl[pin];
      }
      // STATUS (2.19.6.2): INFROMPAD (bit 17) and OUTTOPAD (bit 9) of SS: high when idle
      if (pin !== 1) {
        return 0;
      }
      const idle = !(this.ssi && this.ssi.flash.selected);
      return (this.rp2040.qspi[1].rawInputValue ? 1 << 17 : 0) | (idle ? 1 << 9 : 0);
    }
    if (offset >= IO_QSPI_INTR && offset <= IO_QSPI_LAST) {
      return 0;
    }
    return super.readUint32(offset);
  }

  writeUint32(offset, value) {
    if (offset >= GPIO_QSPI_SCLK_STATUS && offset <= GPIO_QSPI_SD3_CTRL) {
      if (offset & 4) {
        const pin = offset >> 3;
        this.ctrl[pin] = value;
        if (offset === GPIO_QSPI_SS_CTRL && this.ssi) {
          this.ssi.updateSelect();
        }
      }
      return;
    }
    if (offset >= IO_QSPI_INTR && offset <= IO_QSPI_LAST) {
      return;
    }
    super.writeUint32(offset, value);
  }
}
