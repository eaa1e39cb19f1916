// The QSPI flash path (flash.js): the SPI flash's instructions, the SSI's FIFOs, status and
// chip select, IO_QSPI, driven through the registers as the bootrom's flash functions do
// (pico-bootrom program_flash_generic.c: flash_cs_force, flash_put_get, flash_do_cmd).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chip, r32, w32 } from './helpers.js';

const SSI = 0x18000000;
const CTRLR0 = 0x00;
const SSIENR = 0x08;
const SER = 0x10;
const BAUDR = 0x14;
const TXFLR = 0x20;
const RXFLR = 0x24;
const SR = 0x28;
const DR0 = 0x60;
const IO_QSPI = 0x40018000;
const SS_CTRL = 0x0c;
const SS_STATUS = 0x08;
const SD1_CTRL = 0x1c;
const OUTOVER_NORMAL = 0;
const OUTOVER_LOW = 2;
const OUTOVER_HIGH = 3;

function spi(rp2040) {
  // flash_init_spi(): standard SPI, 8-bit frames, TX and RX
  w32(rp2040, SSI + SSIENR, 0);
  w32(rp2040, SSI + BAUDR, 6);
  w32(rp2040, SSI + CTRLR0, 7 << 16);
  w32(rp2040, SSI + SER, 1);
  w32(rp2040, SSI + SSIENR, 1);
}

const cs = (rp2040, over) => w32(rp2040, IO_QSPI + SS_CTRL, over << 8);

/** flash_do_cmd(): CS forced low, command + tx, bytes back, CS high. */
function cmd(rp2040, bytes, rxCount = 0) {
  cs(rp2040, OUTOVER_LOW);
  const out = [];
  const all = [...bytes, ...new Array(rxCount).fill(0)];
  for (const b of all) {
    w32(rp2040, SSI + DR0, b);
    while (!r32(rp2040, SSI + RXFLR)) {
      rp2040.core.cycles += 1; // time passes while the frame shifts
    }
    out.push(r32(rp2040, SSI + DR0) & 0xff);
  }
  cs(rp2040, OUTOVER_HIGH);
  return out.slice(bytes.length);
}

test('JEDEC ID (9Fh) and status registers (05h, 35h) through the SSI', () => {
  const { rp2040 } = chip();
  spi(rp2040);
  assert.deepEqual(cmd(rp2040, [0x9f], 3), [0xef, 0x40, 0x15]);
  assert.deepEqual(cmd(rp2040, [0x05], 1), [0x00]);
  assert.deepEqual(cmd(rp2040, [0x35], 1), [0x02], 'QE set, as boot2 expects');
});

test('page program (02h) needs write enable (06h), only clears bits, and executes on CS high', () => {
  const { rp2040, flash } = chip();
  spi(rp2040);
  const addr = 0xa0000;
  rp2040.flash.fill(0xff, addr, addr + 256);
  cmd(rp2040, [0x02, 0x0a, 0x00, 0x00, 0x12, 0x34]);
  assert.equal(rp2040.flash[addr], 0xff, 'no WEL: ignored');
  cmd(rp2040, [0x06]);
  assert.deepEqual(cmd(rp2040, [0x05], 1), [0x02], 'WEL');
  cs(rp2040, OUTOVER_LOW);
  for (const b of [0x02, 0x0a, 0x00, 0x00, 0x12, 0x34]) {
    w32(rp2040, SSI + DR0, b);
    r32(rp2040, SSI + DR0);
  }
  assert.equal(rp2040.flash[addr], 0xff, 'not before chip select rises');
  cs(rp2040, OUTOVER_HIGH);
  assert.deepEqual([rp2040.flash[addr], rp2040.flash[addr + 1]], [0x12, 0x34]);
  assert.deepEqual(cmd(rp2040, [0x05], 1), [0x00], 'WEL cleared after programming');
  cmd(rp2040, [0x06]);
  cmd(rp2040, [0x02, 0x0a, 0x00, 0x00, 0xf0]);
  assert.equal(rp2040.flash[addr], 0x10, 'programming ANDs');
  assert.equal(flash.flash.programs, 2);
});

test('sector erase (20h) and 64 KB block erase (D8h) fill with FF on their boundaries', () => {
  const { rp2040 } = chip();
  spi(rp2040);
  rp2040.flash.fill(0, 0xa0000, 0xc0000);
  cmd(rp2040, [0x06]);
  cmd(rp2040, [0x20, 0x0a, 0x13, 0x45]); // inside the sector at 0xa1000
  assert.equal(rp2040.flash[0xa1000], 0xff);
  assert.equal(rp2040.flash[0xa1fff], 0xff);
  assert.equal(rp2040.flash[0xa0fff], 0x00);
  assert.equal(rp2040.flash[0xa2000], 0x00);
  cmd(rp2040, [0x06]);
  cmd(rp2040, [0xd8, 0x0b, 0x00, 0x00]);
  assert.equal(rp2040.flash[0xb0000], 0xff);
  assert.equal(rp2040.flash[0xbffff], 0xff);
  assert.equal(rp2040.flash[0xaffff], 0x00);
});

test('read data (03h) streams from the address; unique ID (4Bh) after 4 dummy bytes', () => {
  const { rp2040 } = chip();
  spi(rp2040);
  rp2040.flash.set([1, 2, 3, 4], 0x1234);
  assert.deepEqual(cmd(rp2040, [0x03, 0x00, 0x12, 0x34], 4), [1, 2, 3, 4]);
  const id = cmd(rp2040, [0x4b, 0, 0, 0, 0], 8);
  assert.equal(id.length, 8);
  assert.notDeepEqual(id, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
});

test('SSI SR: BUSY and TXFLR while frames shift at BAUDR clocks per bit', () => {
  const { rp2040 } = chip();
  spi(rp2040);
  cs(rp2040, OUTOVER_LOW);
  w32(rp2040, SSI + DR0, 0x05);
  w32(rp2040, SSI + DR0, 0x00);
  assert.equal(r32(rp2040, SSI + SR) & 1, 1, 'BUSY');
  assert.equal(r32(rp2040, SSI + TXFLR), 1, 'the second frame waits');
  rp2040.core.cycles += 8 * 6 * 2;
  assert.equal(r32(rp2040, SSI + SR) & 1, 0, 'done after 2 x 8 bits x BAUDR 6');
  assert.equal(r32(rp2040, SSI + SR) & 0b110, 0b110, 'TFE, TFNF');
  assert.equal(r32(rp2040, SSI + RXFLR), 2);
  cs(rp2040, OUTOVER_HIGH);
});

test('chip select from the SSI itself (OUTOVER normal): one transfer while the FIFO is busy', () => {
  const { rp2040 } = chip();
  spi(rp2040);
  cs(rp2040, OUTOVER_NORMAL);
  // boot2's read_flash_sreg: command and dummy back to back, then wait
  w32(rp2040, SSI + DR0, 0x35);
  w32(rp2040, SSI + DR0, 0x35);
  rp2040.core.cycles += 1000;
  r32(rp2040, SSI + SR);
  r32(rp2040, SSI + DR0);
  assert.equal(r32(rp2040, SSI + DR0) & 0xff, 0x02, 'SR2 in the same transfer');
  // a gap (FIFO drained) ends the transfer: the next byte is a new command
  w32(rp2040, SSI + DR0, 0x9f);
  w32(rp2040, SSI + DR0, 0);
  rp2040.core.cycles += 1000;
  r32(rp2040, SSI + DR0);
  assert.equal(r32(rp2040, SSI + DR0) & 0xff, 0xef);
});

test('IO_QSPI: CTRL registers kept; SS status reads its pad high; INOVER reads 0 (not aborted)', () => {
  const { rp2040 } = chip();
  assert.equal(r32(rp2040, IO_QSPI + SD1_CTRL) & (3 << 16), 0, 'flash_was_aborted() is false');
  w32(rp2040, IO_QSPI + SS_CTRL, OUTOVER_HIGH << 8);
  assert.equal(r32(rp2040, IO_QSPI + SS_CTRL), OUTOVER_HIGH << 8);
  assert.ok(r32(rp2040, IO_QSPI + SS_STATUS) & (1 << 17), 'INFROMPAD: BOOTSEL not held');
  assert.ok(r32(rp2040, 0xd0000008) & 2, 'SIO GPIO_HI_IN: QSPI SS high');
});

test('disabling the SSI (SSIENR 0) empties its FIFOs', () => {
  const { rp2040 } = chip();
  spi(rp2040);
  cs(rp2040, OUTOVER_LOW);
  w32(rp2040, SSI + DR0, 0x9f);
  w32(rp2040, SSI + DR0, 0);
  assert.equal(r32(rp2040, SSI + RXFLR), 2);
  w32(rp2040, SSI + SSIENR, 0);
  assert.equal(r32(rp2040, SSI + RXFLR), 0);
});
