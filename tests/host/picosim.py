"""The Pico side of the line simulation (tests/host/linesim.py): the real PIO program of
firmware/drivers/card_pio.py in pioemu, its cycles placed on the shared clock, and
stand-ins of MicroPython's `machine`, `rp2` and `time` whose time is that same clock, so
the driver code above the PIO (drivers/rp2_cardline.py, drivers/cardline.py,
boards/pico/board.py) runs against a card that keeps its own time.

PIO timing (RP2040 datasheet 3.5.5 clock dividers, 3.4 instructions): one state-machine
cycle every CLKDIV system clocks (INT + FRAC/256, the fraction spread as whole system
clocks); an instruction takes
1 + its delay cycles; a stalled `wait`/`pull`/`push` one cycle per try. pioemu executes an
instruction and its delay in one step and reports the clock it ends on: the runner maps
that clock to time, gives the card every instant up to each instruction before the
instruction samples the pins, and skips the cycles of a stall that nothing can end
(nothing on the line changes, the FIFO the program waits on is untouched) in one jump.

Clocks (MicroPython v1.28 ports/rp2): `machine.freq(f)` sets clk_sys and, as a side
effect of pico-sdk's set_sys_clock_pll, clk_peri to the 48 MHz USB PLL; `lightsleep()`
wakes through runtime_init_clocks_optional_usb(), which restores the build's defaults:
clk_sys = clk_peri = 125 MHz (SYS_CLK_HZ of pico-sdk 2.2 for the RP2040). PWM (machine_pwm.c)
takes its period from clk_sys when it is configured; SPI (spi_set_baudrate) and I2C take
their dividers from clk_peri when they are initialised, so their rates move with it.

CPU time: every call into a stand-in costs `CALL_NS` (a MicroPython method call on a
120 MHz Cortex-M0+ takes microseconds), so the driver's loops take time as on the board.
"""


import sys
import types
from dataclasses import replace
from pathlib import Path

from pioemu import ShiftRegister, State, emulate

from linesim import Clock, Wire
import rp2shim

HERE = Path(__file__).parent
FIRMWARE = HERE.parents[1] / "firmware"
if str(FIRMWARE) not in sys.path:
    sys.path.insert(0, str(FIRMWARE))
pio = rp2shim.load("drivers.card_pio")
PROG = pio.card_io
CALL_NS = 2_000
GC_NS = 4_000_000  # one gc.collect() of the firmware's heap on the Pico (emulated: 3.3-4 ms)
GC_INFO_NS = 3_500_000  # one gc.mem_free(): a walk of the whole allocation table (gc_info)
HEAP_FREE = 150_000  # the Pico's free heap after a collection, about (191 KB at boot)
DEFAULT_SYS_HZ = 125_000_000  # the build's clk_sys after a lightsleep
PIO0 = 0x50200000
SM0_CLKDIV, SM0_ADDR = 0x0C8, 0x0D4  # RP2040 datasheet 3.7: PIO registers
_STALLS = {}  # opcode -> "wait" (pin level), "pull", "push"
for _w in PROG.words:
    if _w & 0xE060 == 0x2020 or _w & 0xE060 == 0x2000:  # wait pin / wait gpio
        _STALLS[_w] = "wait"
    elif _w & 0xE0FF == 0x80A0:  # pull block
        _STALLS[_w] = "pull"
    elif _w & 0xE0FF == 0x8020:  # push block
        _STALLS[_w] = "push"


class PioRunner:
    """A state machine running PROG on the I/O pin (GPIO 0 for pioemu) of `wire`."""

    def __init__(self, clock, wire, pad):
        self.clock, self.wire, self.pad = clock, wire, pad
        self.state = State(program_counter=pio.RX, pin_values=0, pin_directions=0)
        self.on = False
        self.div256 = 256
        self.sys_hz = 120_000_000
        self.k0, self.t0 = 0, 0.0
        self.steps = 0

    # time <-> cycles
    def t_of(self, k):
        return self.t0 + ((k - self.k0) * self.div256 // 256) * 1e9 / self.sys_hz

    def k_at(self, t):
        # first cycle at or after t
        sysclks = (t - self.t0) * self.sys_hz / 1e9
        k = self.k0 + max(0, int(sysclks * 256 // self.div256))
        while self.t_of(k) < t:
            k += 1
        return k

    def retime(self, div256=None, sys_hz=None):
        # from now on cycles run at the new rate; the next instruction executes now
        t = self.clock.now
        self.run(t)
        nxt = self.t_of(self.state.clock)  # (mid-delay: when the next instruction was due)
        if div256 is not None:
            self.div256 = div256
        if sys_hz is not None:
            self.sys_hz = sys_hz
        self.k0 = self.state.clock
        self.t0 = max(t, nxt) if self.on else t

    def active(self, on):
        t = self.clock.now
        self.run(t)
        if on and not self.on:
            self.k0, self.t0 = self.state.clock, t
        self.on = bool(on)

    def _input(self, state: State) -> int:
        return self.wire.sense(self.t_of(state.clock))

    def _stalled(self, s, t):
        kind = _STALLS.get(PROG.words[s.program_counter])
        if kind == "wait":
            op = PROG.words[s.program_counter]
            return self.wire.sense(t) != (op >> 7) & 1
        if kind == "pull":
            return not s.transmit_fifo
        if kind == "push":
            return len(s.receive_fifo) >= 4
        return False

    def run(self, t_end):
        """Executes every instruction that starts at or before t_end."""
        if not self.on:
            return
        while self.t_of(self.state.clock) <= t_end:
            s = self.state
            t = self.t_of(s.clock)
            if not self._stalled(s, t):
                self._burst(t_end)
                continue
            # a stall: nothing changes until the line does (wait) or the CPU acts (FIFOs)
            nxt = t_end
            if _STALLS[PROG.words[s.program_counter]] == "wait":
                nxt = min(t_end, self.wire.next_change(t),
                          *(a.next_event() for a in self.wire.agents))
            k = max(s.clock + 1, self.k_at(nxt))
            if nxt >= t_end:
                while self.t_of(k) <= t_end:
                    k += 1
            self.state = replace(s, clock=k)

    def _burst(self, t_end):
        def stop(_op, s):
            t = self.t_of(s.clock)
            return t > t_end or self._stalled(s, t)

        for prev, cur in emulate(PROG.words, stop_when=stop, initial_state=self.state,
                                 input_source=self._input, shift_isr_right=True,
                                 shift_osr_right=True, out_base=0, out_count=1, set_base=0,
                                 set_count=1, jmp_pin=0, wrap_target=PROG.wrap_target,
                                 wrap_top=PROG.wrap):
            self.steps += 1
            if (prev.pin_directions ^ cur.pin_directions) & 1:
                self.pad.pio_dir(self.t_of(prev.clock + 1), bool(cur.pin_directions & 1))
            self.state = cur

    # what the CPU does to it (rp2.StateMachine methods, sm.exec)
    def put(self, w):
        fifo = self.state.transmit_fifo.copy()
        assert len(fifo) < 4, "TX FIFO full"
        fifo.append(w & 0xFFFFFFFF)
        self.state = replace(self.state, transmit_fifo=fifo)

    def get(self):
        fifo = self.state.receive_fifo.copy()
        w = fifo.popleft()
        self.state = replace(self.state, receive_fifo=fifo)
        return w

    def exec(self, instr):
        # An executed instruction takes the place of the next one (pico-sdk pio_sm_exec).
        s = self.state
        if instr < 32:  # jmp
            self.state = replace(s, program_counter=instr)
        elif instr == pio.PULL_NOBLOCK:
            fifo = s.transmit_fifo.copy()
            v = fifo.popleft() if fifo else s.x_register
            self.state = replace(s, transmit_fifo=fifo, output_shift_register=ShiftRegister(v, 0))
        elif instr == pio.MOV_Y_OSR:
            self.state = replace(s, y_register=s.output_shift_register.contents)
        elif instr == pio.MOV_ISR_NULL:
            self.state = replace(s, input_shift_register=ShiftRegister(0, 0))
        elif instr == pio.SET_PINS_0:
            pass  # the output value stays 0: the pin only changes direction
        elif instr == pio.SET_PINDIRS_0:
            if s.pin_directions & 1:
                self.pad.pio_dir(self.clock.now, False)
            self.state = replace(s, pin_directions=0)
        else:
            raise AssertionError("exec %04X" % instr)


class Pad:
    """The I/O GPIO: owned by the PIO (pin direction = drive low) or by SIO (Pin())."""

    def __init__(self, wire, who="reader"):
        self.wire, self.who = wire, who
        self.func = "sio"
        self.out, self.value = False, 1  # SIO: output enabled, output value
        self.pio_low = False
        self.pull = None  # "up" when the internal pull-up is on
        self.pulls: list = [(0.0, None)]  # (time, pull) changes

    def _update(self, t):
        low = (self.out and not self.value) if self.func == "sio" else self.pio_low
        self.wire.drive(self.who, t, low)

    def pio_dir(self, t, out):
        self.pio_low = out
        if self.func == "pio":
            self._update(t)

    def to_pio(self, t):
        self.func = "pio"
        self._update(t)

    def to_sio(self, t, mode=None, pull=0, value=None):
        # machine_pin.c: a Pin(...) or init(...) sets the pulls every time (none if omitted)
        self.func = "sio"
        if mode is not None and mode >= 0:
            self.out = mode == 1
        if pull is not None:
            p = {1: "up", 2: "down"}.get(pull)
            if p != self.pull:
                self.pull = p
                self.pulls.append((t, p))
        if value is not None:
            self.value = value
        self._update(t)


class PicoSim:
    """A Pico with a card at its pins: `machine`, `rp2` and `time` stand-ins on one clock.
    pins: the GPIOs of the line (io, clk, rst, vcc, detect); levels of other pins read 1."""

    def __init__(self, io=2, clk=3, rst=4, vcc=5, detect=6, present=True, sys_hz=DEFAULT_SYS_HZ,
                 vcc_on=0, detect_level=0):
        self.clock = Clock()
        self.wire = Wire()
        self.pad = Pad(self.wire)
        self.io, self.clk, self.rst, self.vcc, self.detect = io, clk, rst, vcc, detect
        self.vcc_on, self.detect_level = vcc_on, detect_level
        self.present = present
        self.card = None
        self.sys_hz = sys_hz
        self.peri_hz = 48_000_000  # at boot main.c's set_sys_clock_khz puts it on the USB PLL
        self.sm = None
        self.levels: dict = {}
        self.pwm_hz = 0.0
        self.sleeps = 0
        self.buses: list = []
        self.clock.hooks.append(self._catch_up)
        self.machine = self._machine()
        self.time = self._time()
        self.gc = self._gc()

    def attach(self, card):
        self.card = card
        return card

    def _catch_up(self, t):
        if self.sm is not None:
            self.sm.run(t)
        self.wire.sense(t)

    def cost(self, ns=CALL_NS):
        self.clock.advance(ns)

    # ---- time ----
    def _time(self):
        sim = self
        mod = types.ModuleType("time")

        def ticks_us():
            sim.cost()
            return int(sim.clock.now // 1000)

        def ticks_ms():
            sim.cost()
            return int(sim.clock.now // 1_000_000)

        mod.ticks_us, mod.ticks_ms = ticks_us, ticks_ms
        mod.ticks_diff = lambda a, b: a - b
        mod.ticks_add = lambda a, b: a + b
        mod.sleep_us = lambda us: sim.clock.advance(us * 1000)
        mod.sleep_ms = lambda ms: sim.clock.advance(ms * 1_000_000)
        return mod

    # ---- gc ----
    def _gc(self):
        # MicroPython's gc as the line uses it; a collection stops the CPU GC_NS (measured
        # on the emulated Pico for this firmware's heap), so one that fell while the card
        # sends would cost characters here as on the chip.
        sim = self
        mod = types.ModuleType("gc")
        mod.level = 2048  # main.py's allocation threshold
        mod.collections = 0
        mod.asked = 0  # gc.mem_free() calls
        mod.free = HEAP_FREE  # what mem_free() says: tests lower it to stand for allocations

        def threshold(n=None):
            if n is None:
                return mod.level
            mod.level = n

        def collect():
            mod.collections += 1
            mod.free = HEAP_FREE
            sim.clock.advance(GC_NS)

        def mem_free():
            mod.asked += 1
            sim.clock.advance(GC_INFO_NS)
            return mod.free

        mod.threshold, mod.collect, mod.mem_free = threshold, collect, mem_free
        return mod

    # ---- machine ----
    def _pin_changed(self, n, v):
        t = self.clock.now
        card = self.card
        if card is None:
            return
        if n == self.rst:
            card.set_rst(t, v)
        elif n == self.vcc:
            card.set_vcc(t, v == self.vcc_on)

    def _machine(self):
        sim = self
        mod = types.ModuleType("machine")

        class Pin:
            IN, OUT, OPEN_DRAIN, PULL_UP, PULL_DOWN = 0, 1, 2, 1, 2

            def __init__(self, n, mode=-1, pull=-1, value=None):
                self.n = n
                self.init(mode, pull, value)

            def init(self, mode=-1, pull=-1, value=None):
                sim.cost()
                if self.n == sim.io:
                    sim.pad.to_sio(sim.clock.now, mode, pull, value)
                if self.n == sim.clk and mode == 1:
                    sim._set_clk(0)
                if value is not None:
                    self._set(value)

            def _set(self, v):
                if sim.levels.get(self.n) != v:
                    sim.levels[self.n] = v
                    sim._pin_changed(self.n, v)

            def value(self, v=None):
                sim.cost()
                if v is None:
                    if self.n == sim.io:
                        return sim.wire.sense(sim.clock.now)
                    if self.n == sim.detect:
                        return sim.detect_level if sim.present else 1 - sim.detect_level
                    return sim.levels.get(self.n, 1)
                if self.n == sim.io:
                    sim.pad.to_sio(sim.clock.now, pull=None, value=v)
                self._set(v)
                return None

        class PWM:
            def __init__(self, pin, freq=0, duty_u16=0):
                sim.cost()
                assert pin.n == sim.clk
                # machine_pwm.c: top = round(clk_sys / freq) - 1, divider 1 (freq > 2 kHz)
                top = (sim.sys_hz + freq // 2) // freq - 1
                self.hz = sim.sys_hz / (top + 1)
                sim._set_clk(self.hz)

            def deinit(self):
                sim.cost()
                sim._set_clk(0)

        class Mem32(dict):
            def __setitem__(self, a, v):
                super().__setitem__(a, v)
                if a == PIO0 + SM0_CLKDIV and sim.sm is not None:
                    sim.sm.retime(div256=(v >> 8) & 0xFFFFFF)

            def __getitem__(self, a):
                if a == PIO0 + SM0_ADDR:
                    sim.cost()
                    sim.sm.run(sim.clock.now)
                    return sim.sm.state.program_counter
                return super().__getitem__(a)

        class SPI:
            def __init__(self, bus_id, baudrate=1_000_000, **kw):
                self.init(baudrate)
                sim.buses.append(self)

            def init(self, baudrate=1_000_000, **kw):
                # pico-sdk spi_set_baudrate: prescale (even) then postdiv from clk_peri
                f = sim.peri_hz
                pre = 2
                while pre <= 254 and f >= pre * 256 * baudrate:
                    pre += 2
                post = 256
                while post > 1 and not f // (pre * (post - 1)) > baudrate:
                    post -= 1
                self.div = pre * post

            def rate(self):
                return sim.peri_hz / self.div

            def write(self, buf):
                pass

        class I2C:
            def __init__(self, bus_id, freq=400_000, **kw):
                self.freq, self.at_peri = freq, sim.peri_hz
                sim.buses.append(self)

            def rate(self):
                return self.freq * sim.peri_hz / self.at_peri

        def freq(f=None):
            sim.cost()
            if f is None:
                return sim.sys_hz
            sim.sys_hz, sim.peri_hz = f, 48_000_000
            if sim.sm is not None:
                sim.sm.retime(sys_hz=f)
            return None

        def lightsleep(ms=0):
            sim.sleeps += 1
            sim.clock.advance(ms * 1_000_000)
            sim.sys_hz = sim.peri_hz = DEFAULT_SYS_HZ
            if sim.sm is not None:
                sim.sm.retime(sys_hz=DEFAULT_SYS_HZ)
            for h in sim.on_sleep:
                h()

        mod.Pin, mod.PWM, mod.SPI, mod.I2C = Pin, PWM, SPI, I2C
        mod.mem32 = Mem32()
        mod.freq, mod.lightsleep = freq, lightsleep
        self.on_sleep: list = []
        return mod

    def _set_clk(self, hz):
        self.pwm_hz = hz
        if self.card is not None:
            self.card.set_clk(self.clock.now, hz)

    # ---- rp2 ----
    def rp2(self):
        sim = self
        mod = rp2shim.install()

        class StateMachine:
            def __init__(self, sm_id, prog, freq=0, **pins):
                assert prog is PROG and sm_id == 0
                assert {pins[k] for k in ("in_base", "out_base", "set_base", "jmp_pin")} == {
                    pins["in_base"]}
                sim.cost()
                r = PioRunner(sim.clock, sim.wire, sim.pad)
                r.sys_hz = sim.sys_hz
                sim.sm = r
                self.r = r
                sim.pad.to_pio(sim.clock.now)

            def active(self, v=None):
                sim.cost()
                self.r.active(v)

            def restart(self):
                # CTRL.SM_RESTART (RP2040 datasheet 3.7): shift counters, the ISR and the
                # delay counter cleared; X, Y, the OSR's contents and the FIFOs kept
                sim.cost()
                r = self.r
                r.run(sim.clock.now)
                osr = r.state.output_shift_register.contents
                r.state = replace(r.state, input_shift_register=ShiftRegister(0, 0),
                                  output_shift_register=ShiftRegister(osr, 0))
                r.k0, r.t0 = r.state.clock, sim.clock.now

            def exec(self, instr):
                sim.cost()
                self.r.run(sim.clock.now)
                self.r.exec(instr)

            def put(self, w):
                sim.cost()
                self.r.run(sim.clock.now)
                self.r.put(w)

            def get(self, buf=None, shift=0):
                assert buf is None
                sim.cost()
                self.r.run(sim.clock.now)
                return self.r.get() >> shift

            def rx_fifo(self):
                sim.cost()
                self.r.run(sim.clock.now)
                return len(self.r.state.receive_fifo)

        mod.StateMachine = StateMachine
        return mod

    def load(self, *modules):
        """Imports firmware modules under these stand-ins (their `time` too)."""
        import importlib
        sys.modules["machine"] = self.machine
        sys.modules["rp2"] = self.rp2()
        if str(FIRMWARE) not in sys.path:
            sys.path.insert(0, str(FIRMWARE))
        sys.modules["drivers.card_pio"] = pio
        out = []
        for name in ("drivers.cardline",) + modules:
            sys.modules.pop(name, None)
        for name in ("drivers.cardline",) + modules:
            m = importlib.import_module(name)
            if hasattr(m, "time"):
                m.time = self.time
            if hasattr(m, "gc"):
                m.gc = self.gc
            out.append(m)
        return out[1:] if modules else out


STANDINS = ("machine", "rp2", "drivers.rp2_cardline", "drivers.cardline", "drivers.card_pio",
            "drivers.realboard", "pins", "board")


def saved_modules():
    return {n: sys.modules.get(n) for n in STANDINS}


def restore_modules(saved):
    for n, m in saved.items():
        if m is None:
            sys.modules.pop(n, None)
        else:
            sys.modules[n] = m
