# What the real boards' card lines (drivers/rp2_cardline.py, drivers/esp32_cardline.py)
# share, around each board's own character engine (the `port`: a PIO state machine or a
# UART): the contacts (CLK as a 4 MHz PWM, RST, the VCC switch, the card-detect switch),
# activation and deactivation (ISO 7816-3 6.2, 6.4), the wait for a received character
# (watchdog fed, removal noticed, never without a timeout), the turnaround before the
# reader sends, the rate/guard state and the counters of sesame.iso7816.session.
#
# A subclass provides: _start_port() (cold reset: make `port`, set etu_us and rx_any,
# the port's "a character is in" method), _restart_port() (warm reset), _stop_port()
# (deactivation: port None), _flush_rx() (drop what the receiver holds, just before RST
# rises), _arriving() (True when a character is in, which it drops, or on its way),
# _io_in() (the I/O contact as an input, for the VCC check) and turn_t0/turn_t1
# (turnaround in etu for T=0 and T=1, from when a received character is read).
#
# Supply (direct wiring, boards/*/pins.py): VCC through a P-MOSFET with a soft start (its
# gate RC: VCC takes a few ms to rise) and a discharge MOSFET (VCC falls in about 1 ms).
# A cold reset must be a power cycle: VCC falls to "inactive" (ISO 7816-3: 0.4 V at most)
# before it rises again, or the card keeps its state and answers as after a warm reset.
import time
from micropython import const
from machine import Pin, PWM
from sesame.errors import CardAbsent, CardTimeout, ProtocolError
from sesame.iso7816.session import Counters

CLK_HZ = const(4_000_000)  # the card clock
_ACTIVATION_US = const(10_500)  # RST low 42 000 clocks (EMV Book 1 8.1.2: 40 000-45 000)
_HOOK_US = const(20_000)  # on_wait at most this often: a key scan is not free
_MAX_WAIT_US = const(60_000_000)  # one wait at most (a BWT x WTX can be longer): ticks_diff
# of the 32-bit boards' microsecond clock reaches 2^29 us (537 s) at most
_VCC_RISE_US = const(5_000)  # soft start (gate RC about 1 ms): VCC up before CLK starts
_VCC_FALL_US = const(500_000)  # the longest wait for VCC to fall (no discharge path: ~100 ms)
_TDA_OFF_US = const(10_000)  # TDA8024: its own deactivation sequence, VCC discharged
_BUSY_ETU = const(9600)  # a card talking on its own this long before we may send: give up


def _nothing_in():
    return 0


class CardLine:
    # Fields: port (None while deactivated), rx_any, io_n (the GPIO that drives the card's
    # I/O: pulled low on deactivation without a TDA8024), clk_pin/clk (PWM or None), rst,
    # vcc (vcc_on: its level for "on"), detect (detect_level: its level with a card in),
    # tda8024, f/d (rate), etu_us, guard (extra guard time N, etu), turn (turnaround, etu),
    # rx_at/rx_etu_us (when the last character was received, the etu it came at), off_at
    # (when VCC was switched off), feed (watchdog), counters.
    turn_t0 = 0
    turn_t1 = 0
    idle_etu = 0  # quiet line needed after _arriving() saw activity (its receiver's blind spot)

    def __init__(self, io_n, clk, rst, vcc, detect, detect_level, vcc_on, tda8024):
        self.port = None
        self.rx_any = _nothing_in  # until a port runs
        self.io_n = io_n
        self.clk_pin = Pin(clk, Pin.OUT, value=0)
        self.clk = None
        self.rst = Pin(rst, Pin.OUT, value=0)
        self.vcc_on = vcc_on
        self.vcc = Pin(vcc, Pin.OUT, value=1 - vcc_on)
        self.detect = Pin(detect, Pin.IN, Pin.PULL_UP)
        self.detect_level = detect_level
        self.tda8024 = tda8024
        self.vcc_class = 0 if tda8024 else 1  # TDA8024 with 5V/3V high: class A; direct: B
        self.f = 372
        self.d = 1
        self.etu_us = 93
        self.guard = 0
        self.turn = self.turn_t0
        self.feed = None  # watchdog feed, called while waiting for the card
        self.on_wait = None  # the reader's hook while it waits (sesame.iso7816.session)
        self.counters = Counters()
        self.rx_at = self.off_at = time.ticks_us()
        self.rx_etu_us = self.etu_us

    def _start_port(self):
        raise NotImplementedError

    def _restart_port(self):
        raise NotImplementedError

    def _stop_port(self):
        raise NotImplementedError

    def _flush_rx(self):
        raise NotImplementedError

    def _arriving(self):
        raise NotImplementedError

    def _io_in(self):
        raise NotImplementedError

    def _defaults(self):
        # After a reset: default rate, no extra guard time, T=0 turnaround.
        self.f, self.d, self.guard, self.turn = 372, 1, 0, self.turn_t0

    # ---- contract ----
    def present(self):
        return self.detect.value() == self.detect_level

    def cold_reset(self):
        if not self.present():
            raise CardAbsent("no card")
        self.deactivate()
        self._vcc_down()
        self._defaults()
        self.vcc.value(self.vcc_on)
        time.sleep_us(_VCC_RISE_US)
        self._start_port()  # I/O released: high (reception)
        self.clk = PWM(self.clk_pin, freq=CLK_HZ, duty_u16=32768)
        self._hold_rst()

    def warm_reset(self):
        if self.port is None:
            raise CardAbsent("no card")
        self.rst.value(0)
        self._defaults()
        self._restart_port()
        self._hold_rst()

    def _hold_rst(self):
        time.sleep_us(_ACTIVATION_US)
        self._flush_rx()  # what came while VCC and CLK started is no TS
        self.rst.value(1)

    def deactivate(self):
        # ISO 7816-3 6.4: RST low, CLK low, I/O low, VCC off.
        self.rst.value(0)
        if self.clk is not None:
            self.clk.deinit()
            self.clk = None
        self.clk_pin.init(Pin.OUT, value=0)
        self._stop_port()
        if not self.tda8024:
            Pin(self.io_n, Pin.OUT, value=0)
        if self.vcc.value() == self.vcc_on:
            self.off_at = time.ticks_us()
        self.vcc.value(1 - self.vcc_on)

    def _vcc_down(self):
        # Until VCC is inactive (a cold reset is a power cycle). Direct wiring: the I/O
        # pull-up goes to the card's VCC, so the released I/O reads high until VCC falls
        # below the input's threshold, then six times that long again: an RC discharge
        # goes from any threshold the chips guarantee (RP2040: VIL 0.8 V to VIH 2.0 V;
        # ESP32: 0.25 to 0.75 VDD) to below 0.4 V within it, whatever its time constant.
        # A few ms with the wiring's discharge MOSFET; capped for a wiring without one.
        if self.tda8024:
            time.sleep_us(_TDA_OFF_US)
            return
        io = self._io_in()
        while io.value():
            if time.ticks_diff(time.ticks_us(), self.off_at) > _VCC_FALL_US:
                break
        dt = time.ticks_diff(time.ticks_us(), self.off_at)
        if 0 <= dt < _VCC_FALL_US:
            time.sleep_us(min(6 * dt, _VCC_FALL_US))
        Pin(self.io_n, Pin.OUT, value=0)

    def set_guard(self, n):
        # Extra guard time N from TC1 (255 = none for T=0).
        self.guard = 0 if n == 255 else n

    def set_protocol(self, t):
        # The turnaround: 16 etu between the card's last character and ours (ISO 7816-3
        # 7.2), or T=1's 22 etu block guard time (11.2).
        self.turn = self.turn_t1 if t == 1 else self.turn_t0

    # ---- for the subclasses' write and read_byte ----
    def _port(self):
        p = self.port
        if p is None:
            raise CardAbsent("card removed")
        return p

    def _ready(self):
        # Before a write or a read: the line is active and the card still in.
        p = self.port
        if p is None or not self.present():
            raise CardAbsent("card removed")
        return p

    def _wait(self, limit_us):
        # Until the port has a character (rx_any()): feeds the watchdog, notices a removed
        # card, lets the reader look at its keys (on_wait, which may raise) every
        # _HOOK_US, gives up after limit_us. A slow hook never turns a character that came
        # meanwhile into a timeout: the port is asked again before giving up.
        ready = self.rx_any
        if limit_us > _MAX_WAIT_US:
            limit_us = _MAX_WAIT_US
        t0 = hook = time.ticks_us()
        n = 0
        while not ready():
            n += 1
            if n & 63 == 0:
                if self.feed is not None:
                    self.feed()
                if not self.present():
                    raise CardAbsent("card removed")
                now = time.ticks_us()
                if self.on_wait is not None and time.ticks_diff(now, hook) >= _HOOK_US:
                    self.on_wait()
                    hook = now
                if time.ticks_diff(time.ticks_us(), t0) > limit_us and not ready():
                    raise CardTimeout("card silent")

    def _turnaround(self):
        # Before we send: `turn` etu since the card's last character was read, counted in
        # the etu it came at (after a PPS the new rate starts with what follows, ISO
        # 7816-3 9: a faster one must not shorten this wait), and never while one
        # arrives: a stray character (an unexpected TCK, noise) is dropped and the wait
        # starts again from it.
        t0 = time.ticks_us()
        seen = None  # when _arriving() last saw activity
        limit = _BUSY_ETU * self.etu_us
        while True:
            now = time.ticks_us()
            if self._arriving():
                seen = now
                if time.ticks_diff(now, t0) > limit:
                    raise ProtocolError("card keeps talking")
                continue
            if time.ticks_diff(now, self.rx_at) >= self.turn * self.rx_etu_us and (
                    seen is None or time.ticks_diff(now, seen) >= self.idle_etu * self.etu_us):
                return

    def _received(self):
        # A character came in (12 etu on the line): the turnaround counts from now.
        self.rx_at = time.ticks_us()
        self.rx_etu_us = self.etu_us
        c = self.counters
        c.rx += 1
        c.etu += 12
