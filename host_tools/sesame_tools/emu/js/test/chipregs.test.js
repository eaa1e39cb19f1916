// Small blocks (chipregs.js): VREG_AND_CHIP_RESET, ROSC, the SIO mailbox and core 1's reset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chip, r32, w32 } from './helpers.js';

test('CHIP_RESET reads HAD_POR after power-on, not PSM_RESTART_FLAG (the bootrom\'s safe mode)', () => {
  const { rp2040 } = chip();
  const v = r32(rp2040, 0x40064008);
  assert.equal(v & (1 << 24), 0);
  assert.ok(v & (1 << 8));
  assert.equal(r32(rp2040, 0x40064000) & 0xff, 0xb1);
});

test('ROSC: STATUS stable while enabled; RANDOMBIT gives both values', () => {
  const { rp2040 } = chip();
  assert.ok(r32(rp2040, 0x40060018) & (1 << 31));
  const bits = new Set();
  for (let i = 0; i < 64; i++) {
    bits.add(r32(rp2040, 0x4006001c));
  }
  assert.deepEqual([...bits].sort(), [0, 1]);
  w32(rp2040, 0x40060000, 0xd1e << 12); // disable
  assert.equal(r32(rp2040, 0x40060018) & (1 << 31), 0);
});

test('SIO FIFO: core 1 released from reset (PSM FRCE_OFF) answers 0 in the mailbox', () => {
  const { rp2040 } = chip();
  assert.equal(r32(rp2040, 0xd0000050) & 1, 0, 'empty');
  assert.ok(r32(rp2040, 0xd0000050) & 2, 'RDY');
  w32(rp2040, 0x40010004, 1 << 16); // force core 1 off
  w32(rp2040, 0x40010004, 0); // and release it
  assert.equal(r32(rp2040, 0xd0000050) & 1, 1, 'VLD');
  assert.equal(r32(rp2040, 0xd0000058), 0);
  assert.equal(r32(rp2040, 0xd0000050) & 1, 0);
  r32(rp2040, 0xd0000058);
  assert.ok(r32(rp2040, 0xd0000050) & 8, 'ROE after reading an empty FIFO');
});
