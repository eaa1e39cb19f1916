"""A host stand-in for MicroPython's `rp2` module, enough to evaluate an `@rp2.asm_pio`
program: like the board's rp2.py it runs the function twice (labels, then words) with the
PIO instruction names as its globals, and encodes each instruction to its 16-bit word
(RP2040 datasheet 3.4). It also writes the same program as pioasm text, so a test can
check the words against an independent assembler (adafruit_pioasm)."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

# Operand names as rp2.py defines them (sources/destinations, jmp conditions, push/pull).
_NAMES = {
    "gpio": 0, "pins": 0, "x": 1, "y": 2, "null": 3, "pindirs": 4, "pc": 5, "status": 5,
    "isr": 6, "osr": 7, "exec": 8,
    "not_x": 1, "x_dec": 2, "not_y": 3, "y_dec": 4, "x_not_y": 5, "pin": 6, "not_osre": 7,
    "noblock": 0x01, "block": 0x21, "iffull": 0x40, "ifempty": 0x40,
}
_SRC_TXT = {0: "pins", 1: "x", 2: "y", 3: "null", 4: "pindirs", 5: "pc", 6: "isr", 7: "osr"}
_COND_TXT = {0: "", 1: "!x ", 2: "x-- ", 3: "!y ", 4: "y-- ", 5: "x!=y ", 6: "pin ", 7: "!osre "}


class PIO:
    IN_LOW, IN_HIGH, OUT_LOW, OUT_HIGH = 0, 1, 2, 3
    SHIFT_LEFT, SHIFT_RIGHT = 0, 1
    JOIN_NONE, JOIN_TX, JOIN_RX = 0, 1, 2


@dataclass
class Program:
    words: list[int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    wrap_target: int = 0
    wrap: int = -1
    config: dict = field(default_factory=dict)


class _Emit:
    def __init__(self, config):
        self.prog = Program(config=config)
        self.pass_ = 0

    def start(self, pass_):
        self.pass_ = pass_
        self.prog.words, self.prog.text = [], []

    def _emit(self, word, text):
        self.prog.words.append(word)
        self.prog.text.append(text)
        return self

    def __getitem__(self, delay):  # instr()[delay]
        assert 0 <= delay <= 31
        self.prog.words[-1] |= delay << 8
        self.prog.text[-1] += " [%d]" % delay
        return self

    def label(self, name):
        if self.pass_ == 0:
            assert name not in self.prog.labels, name
            self.prog.labels[name] = len(self.prog.words)

    def wrap_target(self):
        self.prog.wrap_target = len(self.prog.words)

    def wrap(self):
        self.prog.wrap = len(self.prog.words) - 1

    def _addr(self, label):
        return self.prog.labels.get(label, 0) if self.pass_ == 0 else self.prog.labels[label]

    def jmp(self, cond, label=None):
        if label is None:
            cond, label = 0, cond
        a = self._addr(label)
        return self._emit(0x0000 | cond << 5 | a, "jmp %s%d" % (_COND_TXT[cond], a))

    def wait(self, polarity, src, index):
        src = {0: 0, 6: 1}[src]  # gpio, pin
        return self._emit(0x2000 | polarity << 7 | src << 5 | index,
                          "wait %d %s %d" % (polarity, ("gpio", "pin")[src], index))

    def in_(self, src, bits):
        return self._emit(0x4000 | src << 5 | (bits & 31), "in %s, %d" % (_SRC_TXT[src], bits))

    def out(self, dest, bits):
        d = 7 if dest == 8 else dest
        return self._emit(0x6000 | d << 5 | (bits & 31), "out %s, %d" % (_SRC_TXT[d], bits))

    def push(self, value=0, value2=0):
        v = value | value2
        if not v & 1:
            v |= 0x20
        return self._emit(0x8000 | (v & 0x60),
                          "push%s %s" % (" iffull" if v & 0x40 else "", "block" if v & 0x20 else "noblock"))

    def pull(self, value=0, value2=0):
        v = value | value2
        if not v & 1:
            v |= 0x20
        return self._emit(0x8080 | (v & 0x60),
                          "pull%s %s" % (" ifempty" if v & 0x40 else "", "block" if v & 0x20 else "noblock"))

    def mov(self, dest, src):
        d = 4 if dest == 8 else dest
        op = (src >> 3) & 3
        s = src & 7
        txt = "mov %s, %s%s" % ({4: "exec"}.get(d, _SRC_TXT[d]), ("", "~", "::")[op], _SRC_TXT[s])
        return self._emit(0xA000 | d << 5 | op << 3 | s, txt)

    def set(self, dest, data):
        return self._emit(0xE000 | dest << 5 | data, "set %s, %d" % (_SRC_TXT[dest], data))

    def nop(self):
        return self._emit(0xA042, "nop")


def asm_pio(**config):
    def dec(f):
        emit = _Emit(config)
        g = dict(_NAMES)
        g.update(invert=lambda x: x | 0x08, reverse=lambda x: x | 0x10)
        for n in ("label", "wrap_target", "wrap", "jmp", "wait", "in_", "out", "push", "pull",
                  "mov", "set", "nop"):
            g[n] = getattr(emit, n)
        saved = dict(f.__globals__)
        try:
            for p in (0, 1):
                f.__globals__.clear()
                f.__globals__.update(g)
                emit.start(p)
                f()
        finally:
            f.__globals__.clear()
            f.__globals__.update(saved)
        prog = emit.prog
        if prog.wrap < 0:
            prog.wrap = len(prog.words) - 1
        assert len(prog.words) <= 32, "a PIO program has at most 32 instructions"
        return prog
    return dec


def install():
    """Puts this stand-in in sys.modules as `rp2` (and returns the module)."""
    mod = types.ModuleType("rp2")
    mod.PIO = PIO
    mod.asm_pio = asm_pio
    sys.modules["rp2"] = mod
    return mod


def load(module_name):
    """Imports a firmware module that defines asm_pio programs, under this stand-in."""
    import importlib
    saved = sys.modules.get("rp2")
    install()
    sys.modules.pop(module_name, None)
    try:
        return importlib.import_module(module_name)
    finally:
        if saved is None:
            sys.modules.pop("rp2", None)
        else:
            sys.modules["rp2"] = saved
