// TimedPIO / TimedStateMachine (pio.js): one test per register behaviour the fix adds,
// each driving PIO0 through its registers (no firmware) and watching the pins in time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DRIVE } from '../nets.js';
import {
  CYC, DST, FUNC_PIO0, FUNC_SIO, JMP, PAD_IE, PAD_PUE, PIO0, R, SRC, WAIT,
  chip, loadSM0, pinFunction, pinctrl, pio, r32, recorder, run, w32,
} from './helpers.js';

const OUT = 5; // the pin the programs drive
const IN = 7; // the pin they read

function intervals(edges) {
  const d = [];
  for (let i = 1; i < edges.length; i++) {
    d.push(Math.round((edges[i].t - edges[i - 1].t) * 1000) / 1000);
  }
  return d;
}

function setup(program, opts = {}) {
  const c = chip();
  pinFunction(c.rp2040, OUT, FUNC_PIO0, PAD_IE | (opts.pad ?? 0));
  pinFunction(c.rp2040, IN, FUNC_SIO);
  loadSM0(c.rp2040, program, {
    pinctrl: pinctrl({ setBase: OUT, setCount: 1, outBase: OUT, outCount: 1, sideBase: OUT, inBase: IN, ...(opts.pins || {}) }),
    ...opts,
  });
  if (!opts.keepDirs) {
    w32(c.rp2040, PIO0 + R.SM0_INSTR, pio.set(DST.pindirs, 1)); // OUT driven by the PIO
  }
  const edges = recorder(c.nets, c.rp2040, OUT);
  return { ...c, edges };
}

const enable = (rp2040, mask = 1) => w32(rp2040, PIO0 + R.CTRL, mask);

test('SMx_CLKDIV integer: one instruction per INT sys cycles', () => {
  const { rp2040, edges } = setup([pio.set(DST.pins, 1), pio.set(DST.pins, 0)], { clkdiv: 10 });
  enable(rp2040);
  run(rp2040, 4000);
  const d = intervals(edges);
  assert.ok(d.length > 40, `edges: ${d.length}`);
  assert.deepEqual([...new Set(d)], [10 * CYC]);
});

test('SMx_CLKDIV fraction: INT + FRAC/256 on average, each interval INT or INT+1 cycles', () => {
  const { rp2040, edges } = setup([pio.set(DST.pins, 1), pio.set(DST.pins, 0)], { clkdiv: 2, frac: 128 });
  enable(rp2040);
  run(rp2040, 20000);
  const d = intervals(edges);
  const avg = (edges[edges.length - 1].t - edges[0].t) / d.length;
  assert.ok(Math.abs(avg - 2.5 * CYC) < 0.1, `average ${avg}`);
  for (const x of d) {
    assert.ok(x >= 2 * CYC - 0.01 && x <= 3 * CYC + 0.01, `interval ${x}`);
  }
});

test('delay cycles: an instruction takes 1 + delay ticks', () => {
  const { rp2040, edges } = setup([pio.set(DST.pins, 1, 3), pio.set(DST.pins, 0, 1)], { clkdiv: 3 });
  enable(rp2040);
  run(rp2040, 3000);
  const d = intervals(edges);
  // high for 4 ticks, low for 2 ticks, 3 cycles each
  assert.equal(d[0], (edges[0].level ? 4 : 2) * 3 * CYC);
  for (let i = 0; i < d.length; i++) {
    const wasHigh = edges[i].level === 1;
    assert.equal(d[i], (wasHigh ? 4 : 2) * 3 * CYC, `interval ${i}`);
  }
});

test('side-set on pin directions (EXECCTRL SIDE_PINDIR): open drain by direction', () => {
  // side-set count 1, no enable bit: ds = side << 4 | delay; the pin's output value stays 0
  const execctrl = (1 << 29) | (1 << 12); // SIDE_PINDIR, wrap top 1
  const { rp2040, edges, nets } = setup([pio.nop((1 << 4) | 3), pio.nop((0 << 4) | 1)], {
    execctrl, pad: PAD_PUE, keepDirs: true, pins: { sideCount: 1 },
  });
  w32(rp2040, PIO0 + R.SM0_INSTR, pio.set(DST.pins, 0));
  enable(rp2040);
  run(rp2040, 2000);
  const d = intervals(edges);
  assert.ok(d.length > 10);
  for (let i = 0; i < d.length; i++) {
    // low (driven) for 4 cycles, released (pulled up by the pad) for 2
    assert.equal(d[i], (edges[i].level === 0 ? 4 : 2) * CYC, `interval ${i}`);
  }
  void nets;
});

test('side-set happens on the first cycle of an instruction that stalls', () => {
  const execctrl = (1 << 29) | (0 << 12);
  const { rp2040, nets } = setup([pio.pull(1, 0, 1 << 4)], {
    execctrl, pad: PAD_PUE, keepDirs: true, pins: { sideCount: 1 },
  });
  enable(rp2040);
  run(rp2040, 100);
  assert.equal(nets.level(OUT), 0, 'driven low by side-set while the pull stalls');
  assert.ok(r32(rp2040, PIO0 + R.FDEBUG) & (1 << 24), 'FDEBUG TXSTALL');
});

test('jmp pin (EXECCTRL JMP_PIN) branches on the input pin', () => {
  const program = [
    pio.jmp(JMP.pin, 3), // 0
    pio.set(DST.pins, 0), // 1
    pio.jmp(JMP.always, 0), // 2
    pio.set(DST.pins, 1), // 3
    pio.jmp(JMP.always, 0), // 4
  ];
  const execctrl = (IN << 24) | (4 << 12);
  const { rp2040, nets } = setup(program, { execctrl });
  enable(rp2040);
  run(rp2040, 200);
  assert.equal(nets.level(OUT), 0);
  nets.set(IN, 'test', 1, DRIVE);
  run(rp2040, 5 * CYC);
  assert.equal(nets.level(OUT), 1);
  nets.set(IN, 'test', 0, DRIVE);
  run(rp2040, 5 * CYC);
  assert.equal(nets.level(OUT), 0);
});

test('wait gpio: stalled at no cost, completes on the first tick after the pin changes', () => {
  const program = [
    pio.wait(1, WAIT.gpio, IN), // 0
    pio.set(DST.pins, 1), // 1
    pio.wait(0, WAIT.gpio, IN), // 2
    pio.set(DST.pins, 0), // 3
  ];
  const { rp2040, edges, pio: blocks, nets } = setup(program, { clkdiv: 100 });
  const sm = blocks[0].machines[0];
  enable(rp2040);
  run(rp2040, 100000);
  const ticks = sm.ticks;
  run(rp2040, 1000000);
  assert.equal(sm.ticks, ticks, 'a stalled machine is not stepped');
  assert.equal(edges.length, 0);
  const t0 = rp2040.clock.nanos + 333;
  run(rp2040, 333);
  nets.set(IN, 'test', 1, DRIVE);
  run(rp2040, 10000);
  assert.equal(edges.length, 1);
  const dt = edges[0].t - t0;
  // the wait completes on the next tick (within 100 cycles), the set one tick later
  assert.ok(dt > 100 * CYC && dt <= 200 * CYC, `pin high ${dt} ns after the input`);
  assert.ok(sm.ticks - ticks <= 3, 'woken once, not polled');
});

test('blocking pull stalls on an empty TX FIFO; a CPU write resumes it', () => {
  const program = [pio.pull(1), pio.out(DST.pins, 1)];
  const { rp2040, nets } = setup(program, { clkdiv: 4, shiftctrl: (1 << 19) | (1 << 18) });
  enable(rp2040);
  run(rp2040, 1000);
  assert.ok(r32(rp2040, PIO0 + R.FDEBUG) & (1 << 24), 'TXSTALL');
  w32(rp2040, PIO0 + R.FDEBUG, 1 << 24); // write 1 to clear
  assert.equal(nets.level(OUT), 0);
  w32(rp2040, PIO0 + R.TXF0, 1);
  run(rp2040, 3 * 4 * CYC);
  assert.equal(nets.level(OUT), 1);
  w32(rp2040, PIO0 + R.TXF0, 0);
  run(rp2040, 3 * 4 * CYC);
  assert.equal(nets.level(OUT), 0);
});

test('blocking push stalls on a full RX FIFO (4 deep); a CPU read resumes it', () => {
  const program = [pio.in(SRC.x, 1), pio.push(1)];
  const { rp2040, pio: blocks } = setup(program, { clkdiv: 2 });
  const sm = blocks[0].machines[0];
  enable(rp2040);
  run(rp2040, 2000);
  assert.equal((r32(rp2040, PIO0 + R.FLEVEL) >> 4) & 0xf, 4, 'RX level');
  assert.ok(r32(rp2040, PIO0 + R.FDEBUG) & 1, 'RXSTALL');
  const ticks = sm.ticks;
  run(rp2040, 2000);
  assert.equal(sm.ticks, ticks, 'stalled: not stepped');
  r32(rp2040, PIO0 + R.RXF0);
  run(rp2040, 10 * CYC);
  assert.equal((r32(rp2040, PIO0 + R.FLEVEL) >> 4) & 0xf, 4, 'the stalled push went in');
  assert.ok(sm.ticks > ticks);
});

test('SMx_INSTR executed while stalled takes the place of the stalled instruction', () => {
  const program = [pio.wait(1, WAIT.gpio, IN), pio.jmp(JMP.always, 0), pio.jmp(JMP.always, 2), pio.set(DST.pins, 1, 0), pio.jmp(JMP.always, 2)];
  const { rp2040, nets } = setup(program, { clkdiv: 8, execctrl: 4 << 12 });
  enable(rp2040);
  run(rp2040, 1000);
  assert.equal(r32(rp2040, PIO0 + R.SM0_ADDR), 0, 'stalled on the wait');
  w32(rp2040, PIO0 + R.SM0_INSTR, pio.jmp(JMP.always, 3));
  run(rp2040, 4 * 8 * CYC);
  assert.equal(nets.level(OUT), 1, 'the jmp replaced the wait');
  assert.equal(r32(rp2040, PIO0 + R.SM0_ADDR), 2);
});

test('an exec\'d instruction that stalls sets EXEC_STALLED and leaves the PC alone', () => {
  const program = [pio.jmp(JMP.always, 0)];
  const { rp2040, nets } = setup(program, { clkdiv: 2, execctrl: 0 });
  enable(rp2040);
  run(rp2040, 100);
  w32(rp2040, PIO0 + R.SM0_INSTR, pio.wait(1, WAIT.gpio, IN));
  assert.ok(r32(rp2040, PIO0 + R.SM0_EXECCTRL) & (1 << 31), 'EXEC_STALLED');
  run(rp2040, 1000);
  assert.ok(r32(rp2040, PIO0 + R.SM0_EXECCTRL) & (1 << 31), 'still stalled');
  nets.set(IN, 'test', 1, DRIVE);
  run(rp2040, 10 * CYC);
  assert.equal(r32(rp2040, PIO0 + R.SM0_EXECCTRL) & (1 << 31), 0, 'cleared');
  assert.equal(r32(rp2040, PIO0 + R.SM0_ADDR), 0);
});

test('SHIFTCTRL FJOIN: changing it clears both FIFOs; a joined TX FIFO holds 8', () => {
  const { rp2040 } = setup([pio.jmp(JMP.always, 0)]);
  for (let i = 0; i < 3; i++) {
    w32(rp2040, PIO0 + R.TXF0, i);
  }
  assert.equal(r32(rp2040, PIO0 + R.FLEVEL) & 0xf, 3);
  const sc = r32(rp2040, PIO0 + R.SM0_SHIFTCTRL);
  w32(rp2040, PIO0 + R.SM0_SHIFTCTRL, sc ^ (1 << 31)); // pico-sdk pio_sm_clear_fifos
  w32(rp2040, PIO0 + R.SM0_SHIFTCTRL, sc);
  assert.equal(r32(rp2040, PIO0 + R.FLEVEL) & 0xff, 0, 'cleared');
  w32(rp2040, PIO0 + R.SM0_SHIFTCTRL, sc | (1 << 30)); // FJOIN_TX
  for (let i = 0; i < 8; i++) {
    assert.equal(r32(rp2040, PIO0 + R.FSTAT) & (1 << 16), 0, `not full at ${i}`);
    w32(rp2040, PIO0 + R.TXF0, i);
  }
  assert.ok(r32(rp2040, PIO0 + R.FSTAT) & (1 << 16), 'TXFULL after 8');
});

test('CTRL CLKDIV_RESTART puts two machines on the same divider phase', () => {
  const c = chip();
  const { rp2040, nets } = c;
  pinFunction(rp2040, 5, FUNC_PIO0);
  pinFunction(rp2040, 6, FUNC_PIO0);
  const SM1 = 0x18;
  w32(rp2040, PIO0 + R.INSTR_MEM0, pio.set(DST.pins, 1));
  w32(rp2040, PIO0 + R.INSTR_MEM0 + 4, pio.set(DST.pins, 0));
  for (const [off, pin] of [[0, 5], [SM1, 6]]) {
    w32(rp2040, PIO0 + R.SM0_CLKDIV + off, 7 << 16);
    w32(rp2040, PIO0 + R.SM0_EXECCTRL + off, 1 << 12);
    w32(rp2040, PIO0 + R.SM0_PINCTRL + off, pinctrl({ setBase: pin, setCount: 1 }));
    w32(rp2040, PIO0 + R.SM0_INSTR + off, pio.set(DST.pindirs, 1));
  }
  w32(rp2040, PIO0 + R.CTRL, 1);
  run(rp2040, 3 * CYC);
  w32(rp2040, PIO0 + R.CTRL, 3);
  const a = recorder(nets, rp2040, 5);
  const b = recorder(nets, rp2040, 6);
  run(rp2040, 500);
  assert.notEqual(a[0].t, b[0].t, 'out of phase before');
  w32(rp2040, PIO0 + R.CTRL, 3 | (3 << 8));
  a.length = 0;
  b.length = 0;
  run(rp2040, 500);
  assert.ok(a.length > 3 && b.length > 3);
  assert.equal(a[0].t, b[0].t, 'in phase after CLKDIV_RESTART');
});

test('ticks follow clk_sys: CLK_SYS from XOSC (12 MHz) slows the machine down', () => {
  const { rp2040, edges } = setup([pio.set(DST.pins, 1), pio.set(DST.pins, 0)], { clkdiv: 1 });
  enable(rp2040);
  run(rp2040, 200);
  // CLK_SYS_CTRL (2.15.7): SRC = clksrc_clk_sys_aux, AUXSRC = xosc_clksrc
  w32(rp2040, 0x4000803c, 1 | (3 << 5));
  assert.equal(rp2040.clkSys, 12e6);
  edges.length = 0;
  run(rp2040, 2000);
  const d = intervals(edges);
  assert.ok(d.length > 10);
  for (const x of d) {
    assert.ok(Math.abs(x - 1e9 / 12e6) < 0.01, `interval ${x}`);
  }
});
