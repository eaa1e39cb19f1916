// The Pico's QSPI flash path, which rp2040js (1.4.1) does not model: its SSI answers every
// status read with "done" and never reaches the flash array, and IO_QSPI is unimplemented
// (reads 0xffffffff, so the bootrom's flash_was_aborted() is always true and
// flash_range_erase/program return at once). Three classes, in rp2040js's shape, in two files:
//
//   SPIFlash  - (this file) the W25Q16JV on the Pico (Winbond datasheet rev. F, section 8:
//               instructions), over rp2040.flash (the array XIP reads come from).
//   RPSSIFlash - (qspi.js) the SSI (RP2040 datasheet 4.10, "SSI", registers 4.10.13) with its
//               FIFOs, shifting frames to the flash one at a time, in emulated time.
//   RPIOQSPI  - (qspi.js) the QSPI pins' IO block (datasheet 2.19.6.2): CTRL registers kept,
//               the SS pin's OUTOVER chip-selecting the flash (the bootrom's flash_cs_force()).
//
// installFlash (below) puts the three into an RP2040.
//
// Program and erase take effect when chip select rises, as on the chip, and complete at once
// (BUSY reads 0): the flash's own program/erase times (0.4 ms a page, 45 ms a sector) are
// not modelled.
import { RPIOQSPI, RPSSIFlash } from './qspi.js';

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
