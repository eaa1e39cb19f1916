# RP2040 card line: the card-line contract of sesame.session on a Pico, with the PIO
# program of drivers/card_pio.py driving the I/O contact and a PWM slice the card clock.
#
# Clocks: the system clock runs at 120 MHz; CLK = sysclk / 30 = 4 MHz (PWM, top 29); the
# state machine's divider makes one etu = F/D card clocks = exactly 8 PIO cycles (its
# 16.8 fixed-point divider is written directly), so the etu and the card clock share one
# source and never drift apart.
#
# Two wirings (see boards/pico/README.md): "direct" (3.3 V class B cards; VCC through a
# P-MOSFET switch, active low) and "tda8024" (CMDVCC active low, the chip sequences VCC,
# I/O and CLK itself; its OFF output is the card-detect, low = no card or fault).
import time
from micropython import const
from machine import Pin, PWM, mem32
import rp2
from drivers import card_pio
from sesame import cardchar
from sesame.errors import CardAbsent, CardTimeout, ProtocolError
from sesame.session import Counters

_SYS_HZ = const(120_000_000)
_SYS_PER_CLK = const(30)  # card clock 4 MHz
_PIO0_BASE = const(0x50200000)
_SM0_CLKDIV = const(0x0C8)
_SM_STRIDE = const(0x18)
_REPEATS = const(4)  # character repetitions before giving up (EMV: 3 to 5 tries)
_TURN_ETU = const(6)  # after a received character is pushed (~10.5 etu after its start):
# 16 etu between the card's last character and the reader's next (ISO 7816-3 7.2)
_TURN_ETU_T1 = const(12)  # T=1: block guard time, 22 etu between those starts (11.2)
_MIN_ETU_CLOCKS = const(31)  # fastest rate PPS goes to: F/D >= 31 clocks (7.75 us per etu,
# 93 us per character: time for the CPU to empty the 4-word RX FIFO in a block of 254)
_ACTIVATION_CLOCKS = const(42_000)  # RST low 40 000-45 000 clocks (EMV Book 1 8.1.2)


class PioCardLine:
    # Fields: pins, sm (state machine 0 of PIO0), inverse (convention from TS), fresh
    # (True until the first write after a reset: the ATR is read with no error signal),
    # guard (extra guard time N, TC1), f, d (current rate), etu_us, t (protocol: 0 = T=0
    # character rules, 1 = T=1: no error signal, no repetition), counters.
    tda8024 = False

    def __init__(self, io, clk, rst, vcc, detect, detect_level=0, vcc_on=0, tda8024=False):
        self.io = Pin(io, Pin.IN, Pin.PULL_UP)
        self.io_n = io
        self.clk_pin = Pin(clk, Pin.OUT, value=0)
        self.clk = None
        self.rst = Pin(rst, Pin.OUT, value=0)
        self.vcc_on = vcc_on
        self.vcc = Pin(vcc, Pin.OUT, value=1 - vcc_on)
        self.detect = Pin(detect, Pin.IN, Pin.PULL_UP)
        self.detect_level = detect_level  # level of the detect pin with a card inserted
        self.tda8024 = tda8024
        self.sm = None
        self.inverse = False
        self.fresh = True
        self.ts = True  # the next character is TS
        self.guard = 0
        self.f = 372
        self.d = 1
        self.etu_us = 93
        self.t = 0
        self.turn = _TURN_ETU
        self.counters = Counters()
        self.feed = None  # watchdog feed, called while waiting for the card
        self.rx_at = time.ticks_us()  # when the last character was received

    @property
    def repeats(self):
        return self.counters.repeats

    # ---- state machine ----
    def _start_sm(self):
        sm = rp2.StateMachine(0, card_pio.card_io, freq=2000, in_base=self.io, out_base=self.io,
                              set_base=self.io, jmp_pin=self.io)
        sm.exec(card_pio.SET_PINS_0)
        self.sm = sm
        self._divider()
        self._mode(card_pio.E_LOOP)  # ATR: direct parity sense, no error signal
        sm.exec(card_pio.RX)
        sm.active(1)

    def _divider(self):
        i, frac = cardchar.clkdiv(self.f, self.d, _SYS_PER_CLK, card_pio.CYCLES_PER_ETU)
        mem32[_PIO0_BASE + _SM0_CLKDIV] = (i << 16) | (frac << 8)
        den = self.d * (_SYS_HZ // 1_000_000)
        self.etu_us = (self.f * _SYS_PER_CLK + den - 1) // den  # rounded up (timeouts)

    def _sm(self):
        sm = self.sm
        if sm is None:
            raise CardAbsent("card removed")
        return sm

    def _loop(self):
        # Receive mode word for the current convention and protocol (after the ATR).
        return (card_pio.O_LOOP if self.inverse else card_pio.E_LOOP) \
            | (card_pio.SIGNAL if self.t == 0 else 0)

    def _mode(self, y):
        sm = self._sm()
        sm.put(y)
        sm.exec(card_pio.PULL_NOBLOCK)
        sm.exec(card_pio.MOV_Y_OSR)

    def _stop_sm(self):
        if self.sm is not None:
            self.sm.active(0)
            while self.sm.rx_fifo():
                self.sm.get()
            self.sm = None
        Pin(self.io_n, Pin.IN, Pin.PULL_UP)

    # ---- contract ----
    def present(self):
        return self.detect.value() == self.detect_level

    def cold_reset(self):
        if not self.present():
            raise CardAbsent("no card")
        self.deactivate()
        time.sleep_ms(10)  # VCC fully down before power-up
        self.f, self.d, self.guard, self.t, self.turn = 372, 1, 0, 0, _TURN_ETU
        self.inverse, self.fresh, self.ts = False, True, True
        self.vcc.value(self.vcc_on)
        time.sleep_us(500)
        self._start_sm()  # I/O released: high (reception mode)
        self.clk = PWM(self.clk_pin, freq=_SYS_HZ // _SYS_PER_CLK, duty_u16=32768)
        self._hold_rst()

    def warm_reset(self):
        if self.sm is None:
            raise CardAbsent("no card")
        self.rst.value(0)
        self._stop_sm()
        self.f, self.d, self.guard, self.t, self.turn = 372, 1, 0, 0, _TURN_ETU
        self.inverse, self.fresh, self.ts = False, True, True
        self._start_sm()
        self._hold_rst()

    def _hold_rst(self):
        time.sleep_us(_ACTIVATION_CLOCKS * _SYS_PER_CLK // (_SYS_HZ // 1_000_000))
        self.rst.value(1)

    def deactivate(self):
        # ISO 7816-3 6.4: RST low, CLK low, I/O low, VCC off.
        self.rst.value(0)
        if self.clk is not None:
            self.clk.deinit()
            self.clk = None
        self.clk_pin.init(Pin.OUT, value=0)
        self._stop_sm()
        if not self.tda8024:
            Pin(self.io_n, Pin.OUT, value=0)
        self.vcc.value(1 - self.vcc_on)

    def set_convention(self, inverse):
        # The line reads TS itself (cardchar.convention), so the session only asks if TS
        # came as 03: from now on this line decodes and encodes it.
        self.inverse = bool(inverse)
        if self.sm is not None and not self.fresh:
            self._mode(self._loop())
        return True

    def set_protocol(self, t):
        # 0: T=0 (error signal on a bad character, rejected characters repeated);
        # 1: T=1 (neither: a parity error is reported at once, T=1 asks for the block
        # again), and the 22 etu block guard time before we answer.
        self.t = 1 if t == 1 else 0
        self.turn = _TURN_ETU_T1 if self.t else _TURN_ETU
        if self.sm is not None and not self.fresh:
            self._mode(self._loop())

    def supports_rate(self, f, d):
        # Any F/D whose etu the divider makes exact (all of ISO 7816-3's) and that leaves
        # the CPU time to read every character (_MIN_ETU_CLOCKS).
        if f <= 0 or d <= 0 or f < _MIN_ETU_CLOCKS * d:
            return False
        try:
            cardchar.clkdiv(f, d, _SYS_PER_CLK, card_pio.CYCLES_PER_ETU)
        except ValueError:
            return False
        return True

    def set_guard(self, n):
        # Extra guard time N from TC1 (255 = none for T=0).
        self.guard = 0 if n == 255 else n

    def set_rate(self, f, d):
        # After a successful PPS: one etu = F/D clocks.
        self.f, self.d = f, d
        if self.sm is not None:
            self.sm.active(0)
            self._divider()
            self.sm.restart()
            self._mode((card_pio.O_LOOP if self.inverse else card_pio.E_LOOP)
                       if self.fresh else self._loop())
            self.sm.exec(card_pio.RX)
            self.sm.active(1)

    def _ready(self):
        if self.sm is None or not self.present():
            raise CardAbsent("card removed")

    def _wait_word(self, timeout_etu):
        sm = self._sm()
        t0 = time.ticks_us()
        limit = timeout_etu * self.etu_us
        n = 0
        while not sm.rx_fifo():
            n += 1
            if n & 63 == 0:
                if self.feed is not None:
                    self.feed()
                if not self.present():
                    raise CardAbsent("card removed")
                if time.ticks_diff(time.ticks_us(), t0) > limit:
                    raise CardTimeout("card silent")
        return sm.get()

    def write(self, data):
        self._ready()
        sm = self._sm()
        if self.fresh:  # the ATR is over: signal errors from now on (T=0), in its convention
            self.fresh = False
            self._mode(self._loop())
        while time.ticks_diff(time.ticks_us(), self.rx_at) < self.turn * self.etu_us:
            pass
        sm.exec(card_pio.MOV_ISR_NULL)
        sm.exec(card_pio.TX)
        last = len(data) - 1
        c = self.counters
        for i in range(len(data)):
            nxt = card_pio.TX if i < last else card_pio.RX
            w = card_pio.tx_word(cardchar.levels(data[i], self.inverse), self.guard, nxt)
            tries = 0
            while True:
                sm.put(w)
                c.tx += 1
                c.etu += 13 + self.guard
                if self._wait_word(40 + self.guard) >> 31 or self.t:
                    break  # accepted (T=1 has no error signal: a low level is noise)
                tries += 1
                c.repeats += 1
                if tries > _REPEATS:
                    sm.exec(card_pio.RX)
                    raise ProtocolError("card rejects a character")
                if nxt == card_pio.RX:  # the SM went on to receive: back to transmit
                    time.sleep_us((self.guard + 4) * self.etu_us)
                    sm.exec(card_pio.TX)

    def read_byte(self, timeout_etu):
        self._ready()
        tries = 0
        while True:
            lv = self._wait_word(timeout_etu) >> 23
            self.rx_at = time.ticks_us()
            c = self.counters
            c.rx += 1
            c.etu += 12
            if self.ts:  # first character after a reset: TS sets the convention
                self.ts = False
                self.inverse = cardchar.convention(lv) is True
            b = cardchar.decode(lv, self.inverse)
            if b >= 0:
                return b
            if self.fresh or self.t:  # no error signal: T=1 rejects the block
                raise ProtocolError("parity error in the ATR" if self.fresh else "parity error")
            tries += 1  # the PIO signalled it: the card sends it again
            c.repeats += 1
            if tries > _REPEATS:
                raise ProtocolError("parity errors")
