// What the firmware costs on the emulated RP2040 (make bench): the CPU's cycles per
// instruction address while a profile runs, the emulated time the core was awake (not in
// WFI/WFE), and MicroPython's free heap sampled from its allocation table in SRAM.
//
// Heap: py/gc.c keeps two bits per 16-byte block in the allocation table (ATB) at the start
// of the heap (gc_init: gc_alloc_table_start = the heap's first byte); a block whose bits
// are 00 (AT_FREE) is free, and gc.mem_free() is the free blocks times 16 (gc_info). The
// table's address and length live in mp_state_ctx.mem.area: found by looking in
// mp_state_ctx (address and size from the .elf) for the word holding the heap's start
// (__GcHeapStart) and taking the length from the word after it (mpstate.h's
// mp_state_mem_area_t: gc_alloc_table_start, gc_alloc_table_byte_len). Checked against
// gc.mem_free() by tests/emu.

const FLASH_BASE = 0x10000000;
const FLASH_SPAN = 2 * 1024 * 1024;
const SRAM_BASE = 0x20000000;
const SRAM_SPAN = 264 * 1024;
const ROM_SPAN = 16 * 1024;
const BYTES_PER_BLOCK = 16; // MICROPY_BYTES_PER_GC_BLOCK on 32-bit ports: 4 words

// FREE_IN_BYTE[b]: how many of the four 2-bit ATB entries in byte b are AT_FREE (00)
const FREE_IN_BYTE = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  let n = 0;
  for (let i = 0; i < 8; i += 2) {
    n += ((b >> i) & 3) === 0 ? 1 : 0;
  }
  FREE_IN_BYTE[b] = n;
}

/** MicroPython's heap in the chip's SRAM: heap = {ctx, size, start} from the .elf. */
export class HeapView {
  constructor(heap) {
    this.heap = heap;
    this.atb = 0;
    this.len = 0;
  }

  locate(sram) {
    const { ctx, size, start } = this.heap;
    const view = new DataView(sram.buffer, sram.byteOffset, sram.length);
    for (let off = ctx - SRAM_BASE; off + 8 <= ctx - SRAM_BASE + size; off += 4) {
      if (view.getUint32(off, true) === start) {
        const len = view.getUint32(off + 4, true);
        if (len > 0 && start - SRAM_BASE + len <= sram.length) {
          this.atb = start - SRAM_BASE;
          this.len = len;
          return true;
        }
      }
    }
    return false;
  }

  /** gc.mem_free() as MicroPython would count it now, or null before gc_init. */
  free(sram) {
    if (!this.len && !this.locate(sram)) {
      return null;
    }
    let blocks = 0;
    const end = this.atb + this.len;
    for (let i = this.atb; i < end; i++) {
      blocks += FREE_IN_BYTE[sram[i]];
    }
    return blocks * BYTES_PER_BLOCK;
  }
}

export class Profile {
  /**
   * board: the Board (its chip may change on a reset: the profile then ends);
   * heapView: a HeapView or null; heapEveryNs: how often the heap is sampled.
   */
  constructor(board, heapView, heapEveryNs = 100e3) {
    this.board = board;
    this.chip = board.chip;
    this.flash = new Float64Array(FLASH_SPAN / 2);
    this.sram = new Float64Array(SRAM_SPAN / 2);
    this.rom = new Float64Array(ROM_SPAN / 2);
    this.other = 0;
    this.cycles = 0;
    this.awakeNanos = 0;
    this.startNanos = board.nanos;
    this.endNanos = null;
    this.heapView = heapView;
    this.heapMin = null;
    this.heapFirst = null;
    this.heapSamples = 0;
    if (heapView) {
      const clock = this.chip.rp2040.clock;
      this.alarm = clock.createAlarm(() => {
        if (this.endNanos === null && this.chip === this.board.chip) {
          this.sampleHeap();
          this.alarm.schedule(heapEveryNs);
        }
      });
      this.sampleHeap();
      this.alarm.schedule(heapEveryNs);
    }
  }

  get running() {
    return this.endNanos === null;
  }

  /** One instruction at `pc` took `cycles` of `cycleNanos` each. */
  add(pc, cycles, cycleNanos) {
    this.cycles += cycles;
    this.awakeNanos += cycles * cycleNanos;
    if (pc >= FLASH_BASE && pc < FLASH_BASE + FLASH_SPAN) {
      this.flash[(pc - FLASH_BASE) >>> 1] += cycles;
    } else if (pc >= SRAM_BASE && pc < SRAM_BASE + SRAM_SPAN) {
      this.sram[(pc - SRAM_BASE) >>> 1] += cycles;
    } else if (pc < ROM_SPAN) {
      this.rom[pc >>> 1] += cycles;
    } else {
      this.other += cycles;
    }
  }

  sampleHeap() {
    const free = this.heapView.free(this.chip.rp2040.sram);
    if (free !== null) {
      this.heapSamples++;
      if (this.heapFirst === null) {
        this.heapFirst = free;
      }
      this.heapMin = this.heapMin === null ? free : Math.min(this.heapMin, free);
    }
  }

  stop() {
    if (this.endNanos === null) {
      if (this.heapView) {
        this.sampleHeap();
      }
      this.endNanos = this.board.nanos;
    }
  }

  /** Cycles per instruction address: [[address, cycles], ...], the hot ones first. */
  pcs() {
    const out = [];
    const add = (arr, base) => {
      for (let i = 0; i < arr.length; i++) {
        if (arr[i]) {
          out.push([base + i * 2, arr[i]]);
        }
      }
    };
    add(this.flash, FLASH_BASE);
    add(this.sram, SRAM_BASE);
    add(this.rom, 0);
    return out.sort((a, b) => b[1] - a[1]);
  }

  report() {
    const end = this.endNanos === null ? this.board.nanos : this.endNanos;
    return {
      start_ns: this.startNanos,
      end_ns: end,
      span_ns: end - this.startNanos,
      awake_ns: this.awakeNanos,
      cycles: this.cycles,
      other_cycles: this.other,
      heap_first: this.heapFirst,
      heap_min: this.heapMin,
      heap_samples: this.heapSamples,
      pcs: this.pcs(),
    };
  }
}
