// The card at the pins (card.js) against a scripted reader that drives the contacts
// directly: activation, the ATR's timing, bit lengths on the card's own clock, parity and
// the error signal both ways, repetition, clock stop. The host (virtual card) is a stub.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmartCard } from '../card.js';
import { DRIVE } from '../nets.js';
import { FUNC_PWM, FUNC_SIO, PAD_IE, chip, pinFunction, run, w32 } from './helpers.js';

const PINS = { io: 2, clk: 3, rst: 4, vcc: 5, detect: 6 };
const PWM = 0x40050000;
const CH1 = 0x14;
const CLK_NS = 250; // 4 MHz from 125 MHz (31.25 sys cycles)
const ETU_NS = 372 * CLK_NS;

function bench(timing = {}, hostAnswer = () => ({ out: [] })) {
  const c = chip();
  const { rp2040, nets } = c;
  const board = { nets, chip: { rp2040, pwm: c.pwm }, get nanos() { return rp2040.clock.nanos; } };
  const requests = [];
  const host = {
    request(msg, cb) {
      requests.push({ t: rp2040.clock.nanos, ...msg });
      cb(hostAnswer(msg));
    },
  };
  pinFunction(rp2040, PINS.io, FUNC_SIO, PAD_IE);
  pinFunction(rp2040, PINS.detect, FUNC_SIO, PAD_IE | 8);
  const card = new SmartCard(board, PINS, host, timing);
  card.attach(board.chip);
  card.insert();
  c.hooks.push(() => card.clockChanged());
  return { ...c, card, requests };
}

/** The reader's side: VCC on, 4 MHz on CLK (125 MHz / 31.25), RST high after `clocks`. */
function activate(b, clocks = 40000) {
  const { rp2040, nets } = b;
  nets.set(PINS.vcc, 'reader', 0, DRIVE);
  pinFunction(rp2040, PINS.clk, FUNC_PWM);
  w32(rp2040, PWM + CH1 + 0x04, (1 << 4) | 4); // DIV 1.25
  w32(rp2040, PWM + CH1 + 0x10, 24); // TOP 24: 25 x 1.25 = 31.25 cycles
  w32(rp2040, PWM + CH1 + 0x0c, 12 << 16);
  w32(rp2040, PWM + CH1 + 0x00, 1);
  nets.set(PINS.rst, 'reader', 0, DRIVE);
  run(rp2040, clocks * CLK_NS);
  nets.set(PINS.rst, 'reader', 1, DRIVE);
}

/** Level changes on I/O driven by the card (not the pull-up coming with VCC). */
function ioEdges(b) {
  const seen = [];
  b.nets.watch(PINS.io, (level) => {
    if (b.card.driving || seen.length || level === 0) {
      seen.push({ t: b.rp2040.clock.nanos, level });
    }
  });
  return seen;
}

/** Reads one character by sampling at `at` etu into each bit (the reader's own time). */
function sampleChar(b, startNs, at = 0.5, etuNs = ETU_NS) {
  const levels = [];
  for (let i = 1; i <= 9; i++) {
    const target = startNs + (i + at) * etuNs;
    run(b.rp2040, target - b.rp2040.clock.nanos);
    levels.push(b.nets.level(PINS.io));
  }
  let v = 0;
  for (let i = 0; i < 8; i++) {
    v |= levels[i] << i;
  }
  return { v, parity: levels[8] };
}

/** The reader sends one character (direct convention), bit by bit, on I/O. */
function sendChar(b, value, { badParity = false, etuNs = ETU_NS } = {}) {
  const { rp2040, nets } = b;
  let ones = 0;
  const levels = [0];
  for (let i = 0; i < 8; i++) {
    levels.push((value >> i) & 1);
    ones += (value >> i) & 1;
  }
  levels.push((ones & 1) ^ (badParity ? 1 : 0));
  const t0 = rp2040.clock.nanos;
  for (const level of levels) {
    nets.set(PINS.io, 'reader', level ? null : 0, DRIVE);
    run(rp2040, etuNs);
  }
  nets.set(PINS.io, 'reader', null);
  return t0;
}

test('cold reset: the ATR starts atr_clocks after RST rises, characters char_etu apart', () => {
  const b = bench({ atr_clocks: 2000, char_etu: 13 }, (m) => (m.card === 'C' ? { out: [[0x3b, 0, 0], [0x00, 0, 0]], t: 0 } : { out: [] }));
  const edges = ioEdges(b);
  activate(b);
  const tRst = b.rp2040.clock.nanos;
  run(b.rp2040, 40 * ETU_NS);
  const falls = edges.filter((e) => e.level === 0).map((e) => e.t);
  assert.ok(Math.abs(falls[0] - tRst - 2000 * CLK_NS) < 1, `ATR start ${falls[0] - tRst} ns after RST`);
  const second = falls.find((t) => t >= falls[0] + 12 * ETU_NS);
  assert.ok(Math.abs(second - falls[0] - 13 * ETU_NS) < 1, 'the second start bit 13 etu later');
  assert.equal(b.card.violations.length, 0);
  assert.equal(b.requests[0].card, 'C');
});

test('the card\'s bits come on its own clock: bit_error_etu moves its 10th moment', () => {
  for (const err of [0.2, -0.2]) {
    const b = bench({ atr_clocks: 1000, bit_error_etu: err }, (m) => (m.card === 'C' ? { out: [[0x55, 0, 0]], t: 0 } : { out: [] }));
    const edges = ioEdges(b);
    activate(b);
    run(b.rp2040, 20 * ETU_NS);
    // 0x55 = 1,0,1,0,...: an edge at every bit boundary; the release after parity at 10 bits
    const t0 = edges[0].t;
    const last = edges[edges.length - 1];
    assert.equal(last.level, 1);
    const moment10 = (last.t - t0) / ETU_NS;
    assert.ok(Math.abs(moment10 - (10 + err)) < 1e-6, `10th moment at ${moment10} etu`);
  }
});

test('a reader sampling late reads wrong bits: the card does not wait for it', () => {
  const b = bench({ atr_clocks: 1000, bit_error_etu: -0.2 }, (m) => (m.card === 'C' ? { out: [[0x0f, 0, 0]], t: 0 } : { out: [] }));
  const edges = ioEdges(b);
  activate(b);
  run(b.rp2040, 1000 * CLK_NS + 1);
  const start = edges[0].t;
  assert.equal(sampleChar(b, start, 0.5).v, 0x0f, 'sampled mid-bit: right');
  const b2 = bench({ atr_clocks: 1000, bit_error_etu: -0.2 }, (m) => (m.card === 'C' ? { out: [[0x0f, 0, 0]], t: 0 } : { out: [] }));
  const e2 = ioEdges(b2);
  activate(b2);
  run(b2.rp2040, 1000 * CLK_NS + 1);
  assert.notEqual(sampleChar(b2, e2[0].t, 0.98).v, 0x0f, 'sampled at the end of each bit: wrong');
});

test('a received character goes to the host after its parity bit; a bad one gets the error signal', () => {
  const got = [];
  const b = bench({ atr_clocks: 1000 }, (m) => {
    if (m.card === 'C') {
      return { out: [[0x3b, 0, 0]], t: 0 };
    }
    if (m.card === 'D') {
      got.push(m.b);
    }
    return { out: [], t: 0 };
  });
  activate(b);
  run(b.rp2040, 30 * ETU_NS); // ATR out, T=0 rules from now on
  const t0 = sendChar(b, 0xa4);
  run(b.rp2040, 3 * ETU_NS);
  assert.deepEqual(got, [0xa4]);
  const reqT = b.requests.find((r) => r.card === 'D').t;
  assert.ok(reqT >= t0 + 9.5 * ETU_NS - 1 && reqT < t0 + 10 * ETU_NS, 'handed over at 9.5 etu');
  const edges = ioEdges(b);
  run(b.rp2040, 20 * ETU_NS);
  const t1 = b.rp2040.clock.nanos;
  sendChar(b, 0x12, { badParity: true });
  run(b.rp2040, 5 * ETU_NS);
  const low = edges.filter((e) => e.t > t1 + 10 * ETU_NS);
  assert.equal(low[0].level, 0);
  assert.ok(Math.abs(low[0].t - t1 - 10.5 * ETU_NS) < 1, `error signal at ${(low[0].t - t1) / ETU_NS} etu`);
  assert.ok(Math.abs(low[1].t - low[0].t - 1.5 * ETU_NS) < 1, 'for 1.5 etu');
  assert.deepEqual(got, [0xa4], 'the bad character is not passed on');
});

test('the host rejecting a character: error signal, and the repeat comes back as "R"', () => {
  let n = 0;
  const b = bench({ atr_clocks: 1000 }, (m) => {
    if (m.card === 'C') {
      return { out: [[0x3b, 0, 0]], t: 0 };
    }
    n++;
    return { out: [], t: 0, reject: n === 1 };
  });
  activate(b);
  run(b.rp2040, 30 * ETU_NS);
  const edges = ioEdges(b);
  const t0 = sendChar(b, 0x00);
  run(b.rp2040, 5 * ETU_NS);
  assert.ok(edges.some((e) => e.level === 0 && Math.abs(e.t - t0 - 10.5 * ETU_NS) < 1), 'error signal');
  run(b.rp2040, 2 * ETU_NS);
  sendChar(b, 0x00);
  run(b.rp2040, 3 * ETU_NS);
  assert.deepEqual(b.requests.filter((r) => r.card !== 'C').map((r) => r.card), ['D', 'R']);
});

test('the reader\'s error signal on a card character: repeated 2 etu after the line comes back', () => {
  const b = bench({ atr_clocks: 1000 }, (m) => (m.card === 'C' ? { out: [[0x3b, 0, 0]], t: 0 } : { out: [[0x60, 0, 0]], t: 0 }));
  activate(b);
  run(b.rp2040, 30 * ETU_NS);
  const edges = ioEdges(b);
  const tx = sendChar(b, 0x01);
  const start = tx + 16 * ETU_NS; // answer_etu 16 after our start bit
  run(b.rp2040, start + 10.5 * ETU_NS - b.rp2040.clock.nanos);
  b.nets.set(PINS.io, 'reader', 0, DRIVE); // error signal, 10.5 .. 12.5 etu
  run(b.rp2040, 2 * ETU_NS);
  b.nets.set(PINS.io, 'reader', null);
  const back = b.rp2040.clock.nanos;
  run(b.rp2040, 20 * ETU_NS);
  const falls = edges.filter((e) => e.level === 0 && e.t > back).map((e) => e.t);
  assert.ok(Math.abs(falls[0] - back - 2 * ETU_NS) < 1, `repeat ${(falls[0] - back) / ETU_NS} etu after`);
  assert.ok(b.card.log.some((e) => e.what === 'error signal from the reader'));
});

test('stop the clock and the card stops; start it and the card goes on', () => {
  const b = bench({ atr_clocks: 1000 }, (m) => (m.card === 'C' ? { out: [[0x3b, 0, 0]], t: 0 } : { out: [] }));
  const edges = ioEdges(b);
  activate(b);
  run(b.rp2040, 500 * CLK_NS);
  w32(b.rp2040, PWM + CH1, 0); // CLK stops (channel disabled)
  run(b.rp2040, 100 * ETU_NS);
  assert.equal(edges.length, 0, 'no ATR while the clock is stopped');
  assert.ok(b.card.log.some((e) => e.what === 'clock' && e.hz === 0));
  w32(b.rp2040, PWM + CH1, 1);
  run(b.rp2040, 500 * CLK_NS + 1);
  assert.equal(edges.length, 1, 'the ATR starts after 1000 clocks in all');
});

test('RST released too early or with no clock is a violation', () => {
  const b = bench({}, () => ({ out: [] }));
  b.nets.set(PINS.vcc, 'reader', 0, DRIVE);
  b.nets.set(PINS.rst, 'reader', 1, DRIVE);
  assert.match(b.card.violations[0].what, /no clock/);
  const b2 = bench({}, () => ({ out: [] }));
  activate(b2, 100);
  assert.match(b2.card.violations[0].what, /100 clocks/);
});

test('inverse convention: after TS 03 (direct reading) the card expects odd parity', () => {
  const got = [];
  const b = bench({ atr_clocks: 1000 }, (m) => {
    if (m.card === 'C') {
      return { out: [[0x03, 0, 0]], t: 0 };
    }
    got.push(m.b);
    return { out: [], t: 0 };
  });
  activate(b);
  run(b.rp2040, 30 * ETU_NS);
  assert.equal(b.card.inverse, true);
  sendChar(b, 0x5c, { badParity: false }); // even parity: wrong for this card
  run(b.rp2040, 5 * ETU_NS);
  assert.deepEqual(got, []);
  run(b.rp2040, 10 * ETU_NS);
  sendChar(b, 0x5c, { badParity: true }); // odd number of high levels: right
  run(b.rp2040, 5 * ETU_NS);
  assert.deepEqual(got, [0x5c]);
});
