// Pin levels (nets.js): the chip's output, the pad's pull-up/pull-down (PADS_BANK0 PUE/PDE,
// RP2040 datasheet 2.19.6.3), board resistors, external drives and pressed keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DRIVE, PULL, RESISTOR } from '../nets.js';
import { FUNC_SIO, PAD_IE, PAD_PDE, PAD_PUE, chip, pinFunction, r32, w32 } from './helpers.js';

const SIO_GPIO_IN = 0xd0000004;
const SIO_GPIO_OUT_SET = 0xd0000014;
const SIO_GPIO_OUT_CLR = 0xd0000018;
const SIO_GPIO_OE_SET = 0xd0000024;
const SIO_GPIO_OE_CLR = 0xd0000028;
const bit = (rp2040, n) => (r32(rp2040, SIO_GPIO_IN) >> n) & 1;

test('pad pull-up / pull-down decide an undriven pin', () => {
  const { rp2040 } = chip();
  pinFunction(rp2040, 11, FUNC_SIO, PAD_IE | PAD_PUE);
  pinFunction(rp2040, 12, FUNC_SIO, PAD_IE | PAD_PDE);
  assert.equal(bit(rp2040, 11), 1, 'pulled up (rp2040js alone reads 0)');
  assert.equal(bit(rp2040, 12), 0);
  w32(rp2040, 0x4001c004 + 4 * 12, PAD_IE | PAD_PUE); // pull changed in the pad
  assert.equal(bit(rp2040, 12), 1);
});

test('a pin reads what the chip drives on it', () => {
  const { rp2040 } = chip();
  pinFunction(rp2040, 4, FUNC_SIO, PAD_IE);
  w32(rp2040, SIO_GPIO_OE_SET, 1 << 4);
  w32(rp2040, SIO_GPIO_OUT_SET, 1 << 4);
  assert.equal(bit(rp2040, 4), 1);
  w32(rp2040, SIO_GPIO_OUT_CLR, 1 << 4);
  assert.equal(bit(rp2040, 4), 0);
});

test('strengths: drive > board resistor > pad pull; a floating pin holds its level', () => {
  const { rp2040, nets } = chip();
  pinFunction(rp2040, 2, FUNC_SIO, PAD_IE | PAD_PUE);
  assert.equal(bit(rp2040, 2), 1);
  nets.set(2, 'pullup-to-dead-vcc', 0, RESISTOR);
  assert.equal(bit(rp2040, 2), 0, 'a 10 k resistor to 0 V beats the pad pull-up');
  nets.set(2, 'card', 0, DRIVE);
  nets.set(2, 'pullup-to-dead-vcc', 1, RESISTOR);
  assert.equal(bit(rp2040, 2), 0, 'the open drain pulls the line low');
  nets.set(2, 'card', null);
  assert.equal(bit(rp2040, 2), 1);
  w32(rp2040, 0x4001c004 + 4 * 2, PAD_IE);
  nets.set(2, 'pullup-to-dead-vcc', null);
  assert.equal(bit(rp2040, 2), 1, 'nothing on it: keeps its level');
  void PULL;
});

test('two drives fighting is reported as a short circuit', () => {
  const { rp2040, nets } = chip();
  const shorts = [];
  nets.onShort = (pin) => shorts.push(pin);
  pinFunction(rp2040, 6, FUNC_SIO, PAD_IE);
  w32(rp2040, SIO_GPIO_OE_SET, 1 << 6);
  w32(rp2040, SIO_GPIO_OUT_SET, 1 << 6);
  nets.set(6, 'switch-to-gnd', 0, DRIVE);
  assert.deepEqual(shorts, [6]);
  w32(rp2040, SIO_GPIO_OE_CLR, 1 << 6);
});

test('a pressed key joins a row and a column: the driven row pulls the column down', () => {
  const { rp2040, nets } = chip();
  pinFunction(rp2040, 7, FUNC_SIO, PAD_IE); // row: open drain (released = input)
  pinFunction(rp2040, 11, FUNC_SIO, PAD_IE | PAD_PUE); // column with pull-up
  nets.link(7, 11, true);
  assert.equal(bit(rp2040, 11), 1, 'row released: the column stays up');
  w32(rp2040, SIO_GPIO_OUT_CLR, 1 << 7);
  w32(rp2040, SIO_GPIO_OE_SET, 1 << 7);
  assert.equal(bit(rp2040, 11), 0, 'row driven low: column low');
  nets.link(7, 11, false);
  assert.equal(bit(rp2040, 11), 1, 'key up');
});
