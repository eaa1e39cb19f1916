# RP2040 card line: the card-line contract of sesame.iso7816.session on a Pico, with the PIO
# program of drivers/card_pio.py driving the I/O contact and a PWM slice the card clock.
#
# Clocks: the system clock runs at 120 MHz; CLK = sysclk / 30 = 4 MHz (PWM, top 29); the
# state machine's divider makes one etu = F/D card clocks = exactly 16 PIO cycles (its
# 16.8 fixed-point divider is written directly), so the etu and the card clock share one
# source and never drift apart. MicroPython's lightsleep brings the build's default clock
# back on wake (ports/rp2/modmachine.c); the board sets 120 MHz again after each sleep and
# an activation at any other frequency is refused.
#
# Two wirings (see boards/pico/README.md): "direct" (3.3 V class B cards; VCC through a
# P-MOSFET switch, active low) and "tda8024" (CMDVCC active low, the chip sequences VCC,
# I/O and CLK itself; its OFF output is the card-detect, low = no card or fault). The I/O
# pin never has its internal pull-up: it would feed an unpowered card (the pull-up is the
# wiring's, to the card's VCC, or the TDA8024's own).
#
# Garbage collection: a collection stops the CPU for milliseconds (3-4 ms for this
# firmware's heap, measured on the emulated Pico) while the state machine's RX FIFO holds
# 4 characters: 4.5 ms at the default rate, 1.1 ms after PPS to D = 4. None may run while
# the card can be sending, so while the line is active main.py's allocation threshold
# (gc.threshold) is off, and write() collects when the free heap runs low: the card is
# silent then, waiting for our command. gc.mem_free() is no cheap question either: it walks
# the whole allocation table (gc_info), about 3.5 ms on the Pico's 190 KB heap, and asked
# before every command it was a quarter of an Identify's CPU time (make bench's real-port
# profile). So it is asked again only after as many commands as could have used the room
# left, at _ALLOC_PER_WRITE each: about once a transaction.
import gc
import time
from micropython import const
from machine import Pin, freq, mem32
import rp2
from drivers import card_pio
from drivers.cardline import CardLine
from sesame.iso7816 import cardchar
from sesame.errors import ProtocolError

SYS_HZ = const(120_000_000)  # the sysclk this line needs (boards/pico/board.py sets it)
_SYS_PER_CLK = const(30)  # card clock 4 MHz (CLK_HZ)
_PIO0_BASE = const(0x50200000)
_SM0_CLKDIV = const(0x0C8)  # RP2040 datasheet 3.7: SM0_CLKDIV, SM0_ADDR (the program counter)
_SM0_ADDR = const(0x0D4)
# Character repetitions before giving up: ISO/IEC 7816-3 7.3 leaves the number open; EMV
# 4.3 Book 1 9.2.2 (T=0 error detection and correction) repeats a character at most 3 times
# (4 transmissions), then the terminal deactivates.
_REPEATS = const(3)
_GC_ROOM = const(16_384)  # free heap below which write() collects (one exchange needs far less)
# What the reader may allocate between two commands, at most: an Identify allocates about
# 25 KB over some 40 commands (make bench, real port), the largest step a record's TLV.
_ALLOC_PER_WRITE = const(4096)
_MIN_ETU_CLOCKS = const(31)  # fastest rate PPS goes to: F/D >= 31 clocks (7.75 us per etu,
# 93 us per character: time for the CPU to empty the 4-word RX FIFO in a block of 254)


class PioCardLine(CardLine):
    # Fields (besides drivers/cardline.py's): io (the I/O pin; port: state machine 0 of
    # PIO0), inverse (convention from TS), fresh (True until the first write after a
    # reset: the ATR is read with no error signal), ts (the next character is TS), t
    # (protocol: 0 = T=0 character rules, 1 = T=1: no error signal, no repetition).
    turn_t0 = 6  # after a received character is pushed (~10.5 etu after its start):
    # 16 etu between the card's last character and the reader's next (ISO 7816-3 7.2)
    turn_t1 = 12  # T=1: block guard time, 22 etu between those starts (11.2)

    def __init__(self, io, clk, rst, vcc, detect, detect_level=0, vcc_on=0, tda8024=False):
        self.io = Pin(io, Pin.IN) if tda8024 else Pin(io, Pin.OUT, value=0)
        super().__init__(io, clk, rst, vcc, detect, detect_level, vcc_on, tda8024)
        self.inverse = False
        self.fresh = True
        self.ts = True
        self.t = 0
        self.gc_threshold = None  # main.py's gc.threshold while the line is active
        self.gc_skip = 0  # commands before write() asks gc.mem_free() again

    def _defaults(self):
        super()._defaults()
        self.t = 0
        self.inverse, self.fresh, self.ts = False, True, True

    # ---- state machine ----
    def _start_port(self):
        if freq() != SYS_HZ:  # CLK and the etu would no longer agree
            raise ProtocolError("system clock %d Hz, not %d" % (freq(), SYS_HZ))
        if self.gc_threshold is None:  # no collection while the card may send (see top)
            self.gc_threshold = gc.threshold()
            gc.threshold(-1)
        gc.collect()
        self.gc_skip = 0
        sm = rp2.StateMachine(0, card_pio.card_io, freq=2000, in_base=self.io, out_base=self.io,
                              set_base=self.io, jmp_pin=self.io)
        sm.exec(card_pio.SET_PINS_0)
        self.port = sm
        self.rx_any = sm.rx_fifo
        self._divider()
        self._rearm()

    def _restart_port(self):
        self._stop_port()
        self._start_port()

    def _divider(self):
        i, frac = cardchar.clkdiv(self.f, self.d, _SYS_PER_CLK, card_pio.CYCLES_PER_ETU)
        mem32[_PIO0_BASE + _SM0_CLKDIV] = (i << 16) | (frac << 8)
        den = self.d * (SYS_HZ // 1_000_000)
        self.etu_us = (self.f * _SYS_PER_CLK + den - 1) // den  # rounded up (timeouts)

    def _loop(self):
        # Receive mode word: the ATR in direct parity sense with no error signal (TS
        # decides the convention); then the convention, with the error signal in T=0.
        if self.fresh:
            return card_pio.rx_mode(False, False)
        return card_pio.rx_mode(self.inverse, self.t == 0)

    def _mode(self, y):
        sm = self._port()
        sm.put(y)
        sm.exec(card_pio.PULL_NOBLOCK)
        sm.exec(card_pio.MOV_Y_OSR)

    def _rearm(self):
        # Stop, drop what the state machine holds (a character half received, the RX
        # FIFO), release the line and listen again in the current mode.
        sm = self._port()
        sm.active(0)
        while sm.rx_fifo():
            sm.get(None, 23)
        sm.restart()
        self._mode(self._loop())
        sm.exec(card_pio.SET_PINDIRS_0)
        sm.exec(card_pio.RX)
        sm.active(1)

    def _flush_rx(self):
        self._rearm()

    def _addr(self):
        return mem32[_PIO0_BASE + _SM0_ADDR]

    def _arriving(self):
        sm = self._port()
        if sm.rx_fifo():
            sm.get(None, 23)
            self._received()
            return True
        return self._addr() != card_pio.RX  # in a character

    def _io_in(self):
        return Pin(self.io_n, Pin.IN)

    def _stop_port(self):
        sm = self.port
        if sm is not None:
            sm.active(0)
            while sm.rx_fifo():
                sm.get(None, 23)
            self.port = None
        Pin(self.io_n, Pin.IN)
        if self.gc_threshold is not None:
            gc.threshold(self.gc_threshold)
            self.gc_threshold = None

    # ---- contract (the rest in drivers/cardline.py) ----
    def set_convention(self, inverse):
        # The line reads TS itself (cardchar.convention), so the session only asks if TS
        # came as 03: from now on this line decodes and encodes it.
        self.inverse = bool(inverse)
        if self.port is not None and not self.fresh:
            self._mode(self._loop())
        return True

    def set_protocol(self, t):
        # 0: T=0 (error signal on a bad character, rejected characters repeated);
        # 1: T=1 (neither: a parity error is reported at once, T=1 asks for the block
        # again), and the 22 etu block guard time before we answer.
        self.t = 1 if t == 1 else 0
        super().set_protocol(self.t)
        if self.port is not None and not self.fresh:
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

    def set_rate(self, f, d):
        # After a successful PPS: one etu = F/D clocks.
        self.f, self.d = f, d
        if self.port is not None:
            self.port.active(0)
            self._divider()
            self._rearm()

    def _wait_word(self, timeout_etu):
        # The pushed word's top 9 bits (drivers/card_pio.py): a received character's 9
        # levels, or after a sent one bit 8 = accepted. get() shifts them down itself: a
        # full 32-bit word would be a long int, allocated on every character.
        sm = self._port()
        self._wait(timeout_etu * self.etu_us)
        return sm.get(None, 23)

    def write(self, data):
        if not data:
            return
        sm = self._ready()
        if self.gc_skip:
            self.gc_skip -= 1
        else:
            free = gc.mem_free()
            if free < _GC_ROOM:  # the card waits for us: a collection is harmless now
                gc.collect()
                free = gc.mem_free()
            self.gc_skip = max(0, free - _GC_ROOM) // _ALLOC_PER_WRITE
        if self.fresh:  # the ATR is over: signal errors from now on (T=0), in its convention
            self.fresh = False
            self._mode(self._loop())
        self._turnaround()
        sm.exec(card_pio.MOV_ISR_NULL)
        sm.exec(card_pio.TX)
        # The state machine pulls the next word once a character's verdict is in (11 etu)
        # and sends its start bit 1 + N etu after the pull: every microsecond the CPU takes
        # from the verdict to the put spaces the characters more than 12 + N etu. So the
        # next word is made while a character goes out and put as soon as the verdict
        # comes: 12.6 etu apart on the emulated Pico at 120 MHz (13.2 when it was made
        # after the verdict; make bench, the wire at the pins). 12 would need the next
        # word in the FIFO before the verdict, and the program to repeat a rejected
        # character by itself: it has no instruction slot left.
        last = len(data) - 1
        c = self.counters
        tx_word = card_pio.tx_word  # (one by one: a tuple assignment allocates)
        levels = cardchar.levels
        inverse = self.inverse
        to_tx = card_pio.TX
        i = 0
        nxt = to_tx if last else card_pio.RX
        lv = levels(data[0], inverse)
        w = tx_word(lv, 0, nxt)
        tries = 0
        while True:
            sm.put(w)
            c.tx += 1
            c.etu += 12 + self.guard
            if i < last:  # the next character's word, while this one is on the line
                nlv = levels(data[i + 1], inverse)
                nnxt = to_tx if i + 1 < last else card_pio.RX
                nw = tx_word(nlv, self.guard, nnxt)
            if self._wait_word(40 + self.guard) & 0x100 or self.t:
                # accepted (T=1 has no error signal: a low level is noise)
                if i == last:
                    return
                i += 1  # (one by one: a 5-tuple assignment would allocate a tuple)
                lv = nlv
                nxt = nnxt
                w = nw
                tries = 0
                continue
            tries += 1
            c.repeats += 1
            if tries > _REPEATS:
                self._rearm()
                raise ProtocolError("card rejects a character")
            # again 2 etu after the error signal (ISO 7816-3 7.3): one more idle etu
            w = tx_word(lv, self.guard + 1, nxt)
            if nxt == card_pio.RX:  # the SM listens once the signal is over: back
                self._wait_rx()
                sm.exec(to_tx)

    def _wait_rx(self):
        # Until the state machine is back at RX (the card's error signal is over).
        t0 = time.ticks_us()
        while self._addr() != card_pio.RX:
            if time.ticks_diff(time.ticks_us(), t0) > 8 * self.etu_us:
                raise ProtocolError("I/O line held low")

    def read_byte(self, timeout_etu):
        self._ready()
        tries = 0
        while True:
            lv = self._wait_word(timeout_etu)
            self._received()
            if self.ts:  # first character after a reset: TS sets the convention
                self.ts = False
                self.inverse = cardchar.convention(lv) is True
            b = cardchar.decode(lv, self.inverse)
            if b >= 0:
                return b
            if self.fresh or self.t:  # no error signal: T=1 rejects the block
                raise ProtocolError("parity error in the ATR" if self.fresh else "parity error")
            tries += 1  # the PIO signalled it: the card sends it again
            self.counters.repeats += 1
            if tries > _REPEATS:
                raise ProtocolError("parity errors")
