// PWMClock (pwm.js): a fast PWM output is a waveform (period, high time, edge), not edges.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FUNC_PWM, chip, pinFunction, recorder, run, w32 } from './helpers.js';

const PWM = 0x40050000;
const CH1 = 0x14; // channel 1: GPIO2 (A) / GPIO3 (B)
const CSR = 0x00;
const DIV = 0x04;
const CC = 0x0c;
const TOP = 0x10;
const INTE = 0xa8;

function clock(rp2040, top, level, div = 1 << 4) {
  pinFunction(rp2040, 3, FUNC_PWM);
  w32(rp2040, PWM + CH1 + DIV, div);
  w32(rp2040, PWM + CH1 + TOP, top);
  w32(rp2040, PWM + CH1 + CC, level << 16); // B half
  w32(rp2040, PWM + CH1 + CSR, 1);
}

test('CHn_TOP/CC/DIV at clk_sys give the waveform, with no edge alarms', () => {
  const { rp2040, pwm, nets } = chip();
  const edges = recorder(nets, rp2040, 3);
  clock(rp2040, 29, 15); // 125 MHz / 30
  run(rp2040, 10000);
  const wave = pwm.waveform(3);
  assert.ok(wave);
  assert.ok(Math.abs(wave.periodNs - 30 * 8) < 1e-6);
  assert.ok(Math.abs(wave.highNs - 15 * 8) < 1e-6);
  assert.ok(edges.length <= 1, `no per-edge callbacks (${edges.length})`);
  assert.ok(rp2040.clock.nanos - wave.edgeNs < wave.periodNs + 1e-6);
});

test('a slow channel, or one with its wrap interrupt enabled, keeps its edges', () => {
  const { rp2040, pwm, nets } = chip();
  const edges = recorder(nets, rp2040, 3);
  clock(rp2040, 999, 500);
  run(rp2040, 100000);
  assert.equal(pwm.waveform(3), null);
  assert.ok(edges.length > 10, `edges ${edges.length}`);
  const c2 = chip();
  const e2 = recorder(c2.nets, c2.rp2040, 3);
  w32(c2.rp2040, PWM + INTE, 1 << 1);
  clock(c2.rp2040, 29, 15);
  run(c2.rp2040, 2000);
  assert.equal(c2.pwm.waveform(3), null);
  assert.ok(e2.length > 10);
});

test('duty 0 or a pin not on PWM carries no clock; a register write tells the watchers', () => {
  const { rp2040, pwm, changes } = chip();
  clock(rp2040, 29, 0);
  assert.equal(pwm.waveform(3), null, 'stuck low');
  const n = changes.length;
  w32(rp2040, PWM + CH1 + CC, 15 << 16);
  assert.ok(changes.length > n);
  assert.ok(pwm.waveform(3));
  w32(rp2040, 0x40014000 + 8 * 3 + 4, 5); // GPIO3 back to SIO
  assert.equal(pwm.waveform(3), null);
});
