// The bench's profile (profile.js): MicroPython's free heap counted from an allocation
// table laid out as py/gc.c lays it, and the CPU's cycles binned per address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RP2040 } from 'rp2040js';
import { HeapView, Profile } from '../profile.js';

const SRAM = 0x20000000;

function sramWithHeap({ ctxOff = 0x100, heapOff = 0x1000, atbLen = 64, atb = [] } = {}) {
  const sram = new Uint8Array(264 * 1024);
  const view = new DataView(sram.buffer);
  view.setUint32(ctxOff + 8, 0x12345678, true); // other state before mem.area
  view.setUint32(ctxOff + 16, SRAM + heapOff, true); // gc_alloc_table_start
  view.setUint32(ctxOff + 20, atbLen, true); // gc_alloc_table_byte_len
  sram.set(atb, heapOff);
  return { sram, heap: { ctx: SRAM + ctxOff, size: 64, start: SRAM + heapOff } };
}

test('free heap: the AT_FREE (00) entries of the table, 16 bytes each', () => {
  // 0x55: four entries 01 (AT_HEAD); 0xA0: 00 00 10 10 -> two free; 0x00: four free
  const { sram, heap } = sramWithHeap({ atbLen: 3, atb: [0x55, 0xa0, 0x00] });
  const h = new HeapView(heap);
  assert.equal(h.free(sram), (0 + 2 + 4) * 16);
  sram[heap.start - SRAM + 2] = 0xff; // allocated (tail entries)
  assert.equal(h.free(sram), 2 * 16);
});

test('free heap: null before gc_init has written the table address', () => {
  const { heap } = sramWithHeap();
  const empty = new Uint8Array(264 * 1024);
  assert.equal(new HeapView(heap).free(empty), null);
});

test('profile: cycles per address in flash, SRAM and ROM; awake time', () => {
  const rp2040 = new RP2040();
  const board = { chip: { rp2040 }, get nanos() { return rp2040.clock.nanos; } };
  const p = new Profile(board, null);
  p.add(0x10000100, 3, 8);
  p.add(0x10000100, 2, 8);
  p.add(0x20000010, 1, 8);
  p.add(0x00000200, 4, 8);
  p.stop();
  const r = p.report();
  assert.equal(r.cycles, 10);
  assert.equal(r.awake_ns, 80);
  assert.deepEqual(r.pcs, [[0x10000100, 5], [0x200, 4], [0x20000010, 1]]);
});
