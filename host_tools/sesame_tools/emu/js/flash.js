// The Pico's QSPI flash path, which rp2040js (1.4.1) does not model: its SSI answers every
// status read with "done" and never reaches the flash array, and IO_QSPI is unimplemented
// (reads 0xffffffff, so the bootrom's flash_was_aborted() is always true and
// flash_range_erase/program return at once). Three classes, in rp2040js's shape:
//
//   SPIFlash  - the W25Q16JV on the Pico (Winbond datasheet rev. F, section 8: instructions),
//               over rp2040.flash (the array XIP reads come from).
//   RPSSIFlash - the SSI (RP2040 datasheet 4.10, "SSI", registers 4.10.13) with its FIFOs,
//               shifting frames to the flash one at a time, in emulated time.
//   RPIOQSPI  - the QSPI pins' IO block (datasheet 2.19.6.2): CTRL registers kept, the SS pin's
//               OUTOVER chip-selecting the flash (the bootrom's flash_cs_force()).
//
// Program and erase take effect when chip select rises, as on the chip, and complete at once
// (BUSY reads 0): the flash's own program/erase times (0.4 ms a page, 45 ms a sector) are
// not modelled.
import { BasePeripheral } from 'rp2040js';

// ---- SPIFlash: W25Q16JV instructions (datasheet section 8.1, table 8.1.2) ----
const CMD_WRITE_STATUS1 = 0x01;
const CMD_PAGE_PROGRAM = 0x02;
const CMD_READ_DATA = 0x03;
const CMD_WRITE_DISABLE = 0x04;
const CMD_READ_STATUS1 = 0x05;
const CMD_WRITE_ENABLE = 0x06;
const CMD_FAST_READ = 0x0b;
const CMD_READ_STATUS3 = 0x15;
const CMD_WRITE_STATUS3 = 0x11;
const CMD_SECTOR_ERASE = 0x20; // 4 KB
const CMD_WRITE_STATUS2 = 0x31;
const CMD_READ_STATUS2 = 0x35;
const CMD_UNIQUE_ID = 0x4b;
const CMD_BLOCK_ERASE_32K = 0x52;
const CMD_READ_SFDP = 0x5a;
const CMD_CHIP_ERASE = 0xc7;
const CMD_CHIP_ERASE_ALT = 0x60;
const CMD_JEDEC_ID = 0x9f;
const CMD_BLOCK_ERASE_64K = 0xd8;
const CMD_QUAD_IO_READ = 0xeb; // what boot2 (boot2_w25q080.S) leaves the flash in, for XIP
// Status register 1 bits (datasheet 7.1)
const SR1_BUSY = 1 << 0;
const SR1_WEL = 1 << 1;
// Status register 2 bits
const SR2_QE = 1 << 1;
const JEDEC_ID = [0xef, 0x40, 0x15]; // Winbond, W25Q16JV-IQ (16 Mbit)
const PAGE_SIZE = 256;

export class SPIFlash {
  constructor(array, size = 2 * 1024 * 1024, uniqueId = [0xe6, 0x60, 0x58, 0x38, 0x83, 0x49, 0x2d, 0x2f]) {
    this.array = array; // Uint8Array: rp2040.flash
    this.size = size; // addresses wrap at the chip's size
    this.uniqueId = uniqueId;
    this.sr1 = 0;
    this.sr2 = SR2_QE; // the Pico's flash leaves the factory with QE set
    this.sr3 = 0;
    this.selected = false;
    this.bytes = []; // what came in since chip select fell
    this.erases = 0; // counters, for tests and figures
    this.programs = 0;
  }

  /** Chip select: true = selected (CSn low). A rising CSn executes program/erase/write-status. */
  select(selected) {
    if (selected === this.selected) {
      return;
    }
    this.selected = selected;
    if (!selected) {
      this.execute();
    }
    this.bytes = [];
  }

  /** One byte in on MOSI while selected; returns the byte out on MISO. */
  transfer(value) {
    if (!this.selected) {
      return 0xff;
    }
    const { bytes } = this;
    bytes.push(value & 0xff);
    const n = bytes.length - 1; // index of this byte
    const cmd = bytes[0];
    switch (cmd) {
      case CMD_READ_STATUS1:
        return n ? this.sr1 : 0xff;
      case CMD_READ_STATUS2:
        return n ? this.sr2 : 0xff;
      case CMD_READ_STATUS3:
        return n ? this.sr3 : 0xff;
      case CMD_JEDEC_ID:
        return n ? (JEDEC_ID[n - 1] ?? 0xff) : 0xff;
      case CMD_READ_DATA:
        return n >= 4 ? this.array[(this.address() + n - 4) % this.size] : 0xff;
      case CMD_FAST_READ:
        return n >= 5 ? this.array[(this.address() + n - 5) % this.size] : 0xff;
      case CMD_UNIQUE_ID: // 4 dummy bytes, then the 64-bit ID
        return n >= 5 ? (this.uniqueId[n - 5] ?? 0xff) : 0xff;
      case CMD_READ_SFDP: // no SFDP table: the bootrom falls back to the JEDEC ID
        return 0xff;
      default:
        return 0xff;
    }
  }

  address() {
    const b = this.bytes;
    return ((b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }

  execute() {
    const b = this.bytes;
    if (!b.length) {
      return;
    }
    const wel = !!(this.sr1 & SR1_WEL);
    switch (b[0]) {
      case CMD_WRITE_ENABLE:
        this.sr1 |= SR1_WEL;
        return;
      case CMD_WRITE_DISABLE:
        this.sr1 &= ~SR1_WEL;
        return;
      case CMD_WRITE_STATUS1:
        if (wel && b.length >= 2) {
          this.sr1 = (b[1] & ~(SR1_BUSY | SR1_WEL)) | (this.sr1 & (SR1_BUSY | SR1_WEL));
          if (b.length >= 3) {
            this.sr2 = b[2];
          }
        }
        break;
      case CMD_WRITE_STATUS2:
        if (wel && b.length >= 2) {
          this.sr2 = b[1];
        }
        break;
      case CMD_WRITE_STATUS3:
        if (wel && b.length >= 2) {
          this.sr3 = b[1];
        }
        break;
      case CMD_PAGE_PROGRAM:
        if (wel && b.length > 4) {
          // Bits only go 1 -> 0; the address wraps inside its page (datasheet 8.2.16)
          const addr = this.address() % this.size;
          const page = addr - (addr % PAGE_SIZE);
          for (let i = 4; i < b.length; i++) {
            const a = page + ((addr + i - 4) % PAGE_SIZE);
            this.array[a] &= b[i];
          }
          this.programs++;
        }
        break;
      case CMD_SECTOR_ERASE:
        this.erase(wel, 4096);
        break;
      case CMD_BLOCK_ERASE_32K:
        this.erase(wel, 32768);
        break;
      case CMD_BLOCK_ERASE_64K:
        this.erase(wel, 65536);
        break;
      case CMD_CHIP_ERASE:
      case CMD_CHIP_ERASE_ALT:
        if (wel && b.length === 1) {
          this.array.fill(0xff, 0, this.size);
          this.erases++;
        }
        break;
      default:
        return; // reads and unknown instructions leave WEL alone
    }
    this.sr1 &= ~SR1_WEL; // cleared after every write/program/erase (datasheet 7.1.2)
  }

  erase(wel, size) {
    if (!wel || this.bytes.length < 4) {
      return;
    }
    const start = (this.address() % this.size) & ~(size - 1);
    this.array.fill(0xff, start, start + size);
    this.erases++;
  }
}

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

// PADS_QSPI reset values (datasheet 2.19.6.4): SCLK 0x56, SD0-3 0x52, SS 0x5a (pull-up on)
const QSPI_PAD_RESET = [0x56, 0x5a, 0x52, 0x52, 0x52, 0x52];

/**
 * Puts the flash path into an RP2040: the SSI at XIP_SSI_BASE, IO_QSPI at 0x40018000, the
 * QSPI pads at their reset values, and QSPI SS reading high: the bootrom reads it (SIO
 * GPIO_HI_IN) to see whether BOOTSEL is held, and rp2040js's pins read 0 (pressed) otherwise.
 */
export function installFlash(rp2040, options = {}) {
  for (let i = 0; i < 6; i++) {
    rp2040.qspi[i].padValue = QSPI_PAD_RESET[i];
  }
  rp2040.qspi[1].setInputValue(!options.bootsel); // the Pico's BOOTSEL button pulls SS low
  const flash = new SPIFlash(rp2040.flash, options.size, options.uniqueId);
  const ioqspi = new RPIOQSPI(rp2040, 'IO_QSPI_BASE');
  const ssi = new RPSSIFlash(rp2040, 'SSI', flash, ioqspi);
  rp2040.peripherals[0x18000] = ssi;
  rp2040.peripherals[0x40018] = ioqspi;
  return { flash, ssi, ioqspi };
}
