// Entry point of the emulated Pico, started by host_tools/sesame_tools/emu/emulator.py:
//
//   node main.js CONFIG.json
//
// stdin/stdout: the USB CDC serial's bytes (host -> board, board -> host);
// control_fd (3 unless CONFIG says): the control channel, one JSON object a line both ways:
//   harness -> board: {"cmd": "insert"|"remove"|"reset"|"timing"|"key"|"status"|"save"|"quit", ...}
//                     {"re": id, ...}: the answer to a card request
//                     {"cmd": "profile", "after": text, "until": text}: count the CPU's
//                     cycles (profile.js) from when the host sends `after` (or now) until
//                     the board prints `until`; "profile_report": what was counted;
//                     {"cmd": "watch", "text": t}: an event when the board prints t
//   board -> harness: {"ev": "ready"|"reset"|"card"|"status"|"saved"|"error", ...}
//                     {"req": id, "card": "C"|"W"|"O"|"D"|"R"|"N", "b": byte}: the card at the
//                     pins hands a character (or a reset) to the virtual card and waits
//                     {"ev": "seen", "text", "nanos", "chip_nanos", "heap_free"}: a watch
// CONFIG: {bootrom, uf2, flash (file kept between runs, or null), fast, pins: {io, clk, rst,
//          vcc, detect}, inserted, timing: {...card.js DEFAULT_TIMING}, watch: [text...]
//          (watched from power-on), heap: {ctx, size, start} (MicroPython's heap, .elf)}
import fs from 'fs';
import net from 'net';
import { Board } from './board.js';
import { SmartCard } from './card.js';
import { Nets } from './nets.js';
import { HeapView, Profile } from './profile.js';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function readBootrom(path) {
  const rom = fs.readFileSync(path);
  return new Uint32Array(rom.buffer, rom.byteOffset, rom.length >> 2);
}

const control = new net.Socket({ fd: config.control_fd ?? 3, readable: true, writable: true });
function send(obj) {
  control.write(JSON.stringify(obj) + '\n');
}

let nextId = 1;
const traced = new Set();
const traces = [];
const waiting = new Map();
let board = null;
let card = null;
const heapView = config.heap ? new HeapView(config.heap) : null;
let profile = null; // the last profile (running or stopped)
let profileAfter = null;
let profileUntil = null;
let inTail = ''; // the end of the host's input, for profileAfter
const watches = (config.watch || []).map((text) => ({ text }));
let outTail = ''; // the end of the board's output, so a watched text split over packets is seen

/** The board's serial output: to the host, and through the watches. */
function serialOut(data) {
  process.stdout.write(data);
  if (!watches.length && profileUntil === null) {
    return;
  }
  const text = outTail + Buffer.from(data).toString('latin1');
  for (let i = watches.length - 1; i >= 0; i--) {
    const w = watches[i];
    if (text.includes(w.text)) {
      watches.splice(i, 1);
      const heap = heapView ? heapView.free(board.rp2040.sram) : null;
      send({ ev: 'seen', text: w.text, nanos: board.nanos,
             chip_nanos: board.rp2040.clock.nanos, heap_free: heap });
    }
  }
  if (profileUntil !== null && text.includes(profileUntil)) {
    profileUntil = null;
    stopProfile();
  }
  outTail = text.slice(-64);
}

/** The host's bytes to the board's USB serial (a profile may start on them). */
function serialIn(data) {
  if (profileAfter !== null) {
    const text = inTail + data.toString('latin1');
    if (text.includes(profileAfter)) {
      profileAfter = null;
      startProfile();
    }
    inTail = text.slice(-64);
  }
  board.serialIn(data);
}

function startProfile() {
  profile = new Profile(board, heapView);
  board.profile = profile;
}

function stopProfile() {
  if (profile) {
    profile.stop();
  }
  board.profile = null;
}

const host = {
  request(msg, callback) {
    const id = nextId++;
    waiting.set(id, callback);
    board.pause(); // emulated time stands still while the host answers
    send({ req: id, ...msg });
  },
};

const flashPath = config.flash || null;
let savedOps = -1;
let lastOps = -1;
let lastOpsAt = 0;
function saveFlash(force = false) {
  if (!flashPath || !board) {
    return;
  }
  const ops = board.flashOps + board.resets * 1e9;
  if (!force && ops === savedOps) {
    return;
  }
  const tmp = flashPath + '.tmp';
  fs.writeFileSync(tmp, board.flashBytes());
  fs.renameSync(tmp, flashPath);
  savedOps = ops;
}

function main() {
  const nets = new Nets();
  let flashImage = null;
  if (flashPath && fs.existsSync(flashPath)) {
    flashImage = new Uint8Array(fs.readFileSync(flashPath));
  }
  board = new Board({
    bootrom: readBootrom(config.bootrom),
    uf2: new Uint8Array(fs.readFileSync(config.uf2)),
    flashImage,
    fast: !!config.fast,
    nets,
    onSerial: serialOut,
    onReset: (b) => {
      if (card) {
        card.attach(b.chip);
      }
      send({ ev: 'reset', resets: b.resets });
    },
  });
  board.hardwareChanged = () => card && card.clockChanged();
  card = new SmartCard(board, config.pins, host, config.timing || {});
  card.onEvent = (e) => {
    if (config.events) {
      send({ ev: 'card', ...e });
    }
  };
  card.attach(board.chip);
  if (config.inserted) {
    card.insert();
  }
  nets.onShort = (pin) => send({ ev: 'error', what: `short circuit on GPIO${pin}` });

  process.stdin.on('data', serialIn);
  process.stdin.on('end', () => quit());
  let buf = '';
  control.on('data', (chunk) => {
    buf += chunk.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) {
        handle(JSON.parse(line));
      }
    }
  });
  control.on('end', () => quit());
  control.on('error', () => quit());
  setInterval(() => {
    // save the flash once its writes have settled for a moment (a kill -9 keeps them)
    const ops = board.flashOps + board.resets * 1e9;
    const now = Date.now();
    if (ops !== lastOps) {
      lastOps = ops;
      lastOpsAt = now;
    } else if (ops !== savedOps && now - lastOpsAt > 300) {
      saveFlash();
    }
  }, 200);
  process.on('SIGTERM', () => quit());
  process.on('SIGINT', () => quit());
  board.start();
  send({ ev: 'ready' });
}

function handle(msg) {
  if (msg.re !== undefined) {
    const cb = waiting.get(msg.re);
    waiting.delete(msg.re);
    board.resume();
    if (cb) {
      cb(msg);
    }
    return;
  }
  switch (msg.cmd) {
    case 'insert':
      card.insert();
      break;
    case 'remove':
      card.remove();
      break;
    case 'timing':
      card.setTiming(msg.timing || {});
      break;
    case 'reset':
      board.requestReset('run');
      board.kick();
      break;
    case 'key': {
      const { row, col } = msg; // the key's row and column GPIOs
      board.nets.link(row, col, !!msg.down);
      if (msg.down && msg.ms) {
        board.later(msg.ms, () => {
          board.nets.link(row, col, false); // held for ms, then up for `after` ms
          board.later(msg.after || 0, () => msg.id !== undefined && send({ ev: 'key', id: msg.id }));
        });
      } else if (msg.id !== undefined) {
        send({ ev: 'key', id: msg.id });
      }
      break;
    }
    case 'trace': {
      // record level changes of pins (tests): {pin, t (ns, world time), level}
      for (const pin of msg.pins || []) {
        if (!traced.has(pin)) {
          traced.add(pin);
          board.nets.watch(pin, (level) => traces.push({ pin, t: board.nanos, level }));
        }
      }
      break;
    }
    case 'status':
      send({
        ev: 'status',
        id: msg.id,
        nanos: board.nanos,
        clk_sys: board.rp2040.clkSys,
        resets: board.resets,
        flash_ops: board.flashOps,
        card: {
          inserted: card.inserted,
          vcc: card.vcc,
          active: card.active,
          f: card.f,
          d: card.d,
          clock_hz: card.clock.periodNs ? 1e9 / card.clock.periodNs : 0,
          inverse: card.inverse,
          error_signal: card.errorSignal,
          timing: card.timing,
        },
        log: msg.log ? card.log.slice(-msg.log) : card.log,
        violations: card.violations,
        shorts: board.nets.shorts.length,
        pio_ticks: board.rp2040.pio[0].machines.map((m) => m.ticks),
        pio_stalls: board.rp2040.pio[0].machines.map((m) => m.stalls),
        pio_rx_max: board.rp2040.pio[0].machines.map((m) => m.rxMax),
        pio_fdebug: board.rp2040.pio[0].fdebug,
        pio_rx_full_at: board.rp2040.pio[0].machines.map((m) => (m.lastRxFullNs < 0 ? null : board.baseNanos + m.lastRxFullNs)),
        usb_out_packets: board.chip.cdc.outPackets,
        clk_wave: board.chip.pwm.waveform(config.pins.clk),
        levels: Array.from(board.nets.levels),
        traces: traces.splice(0),
        stall_samples: board.stallSamples,
      });
      break;
    case 'profile':
      stopProfile();
      profile = null;
      profileAfter = msg.after || null;
      inTail = '';
      if (profileAfter === null) {
        startProfile();
      }
      profileUntil = msg.until || null;
      send({ ev: 'profile', id: msg.id });
      break;
    case 'profile_report':
      stopProfile();
      send({ ev: 'profile', id: msg.id, ...(profile ? profile.report() : {}) });
      break;
    case 'watch':
      watches.push({ text: msg.text }); // answered by a 'seen' event
      break;
    case 'save':
      saveFlash(true);
      send({ ev: 'saved', id: msg.id });
      break;
    case 'quit':
      quit();
      break;
    default:
      send({ ev: 'error', what: `unknown command ${JSON.stringify(msg)}` });
  }
}

let quitting = false;
function quit() {
  if (quitting) {
    return;
  }
  quitting = true;
  if (board) {
    board.stop();
    try {
      saveFlash(true);
    } catch (e) {
      process.stderr.write(`could not save the flash: ${e.message}\n`);
    }
  }
  process.exit(0);
}

try {
  main();
} catch (e) {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(2);
}
