# ESP32 card line: the card-line contract of sesame.iso7816.session with a UART at 8E2 (start,
# 8 data, even parity, 2 stop bits = the 2 etu guard time; 8O2 for an inverse card) on a
# TX/RX pin pair tied to the card's I/O, and an LEDC PWM as the card clock.
#
# Wiring: RX straight to I/O (10k pull-up to card VCC); TX through a Schottky diode
# (cathode at TX) so TX can only pull I/O low: open drain, which the UART pin itself
# cannot be. Everything sent comes back on RX (the echo) and is read and discarded.
#
# What this hardware cannot do (stated in boards/esp32/README.md):
# - no error signal is generated on a bad received character and the card's error signal
#   is not seen reliably (it falls in the echo's second stop bit: a framing error the
#   MicroPython UART does not report), so no character is ever repeated: a rejected
#   character ends the exchange with a timeout, and the reader deactivates the card;
# - received parity is not checked (ESP-IDF keeps a character with a parity error and only
#   posts an event, which MicroPython does not report);
# - inverse-convention cards (TS = 3F, read here as 03) work through the session's byte
#   table (sesame.iso7816.inverse: bit order and levels), with the UART at odd parity for what we
#   send (see set_convention);
# - the etu is the UART's baud rate, f*D/F rounded to a whole baud (within 0.01 %); PPS
#   goes to any ISO rate up to _MAX_BAUD.
# T=0 and T=1 differ here only in the turnaround (16 etu, or T=1's 22 etu block guard
# time): there is no error signal either way.
# Before we send, the line must be quiet: a character buffered is dropped (a stray TCK
# after a T=0-only ATR is never taken for an echo), and RX is watched for a start bit; as
# the pin is only polled, a character may be under way unseen, so 12 etu of quiet follow
# the last low level seen (idle_etu). The extra guard time N is counted from the start of
# each character we send (ISO 7816-3 7.2: 12 + N etu between leading edges).
# GPIO16/17 (the UART pins of boards/esp32/pins.py) carry the PSRAM on ESP32-WROVER
# modules: that board needs another pair (see boards/esp32/README.md).
import time
from micropython import const
from machine import UART, Pin
from drivers.cardline import CLK_HZ, CardLine
from sesame.errors import ProtocolError

_MAX_BAUD = const(700_000)  # TA1 up to 1x (F 372, D 64): 688 kbaud


class UartCardLine(CardLine):
    # Fields (besides drivers/cardline.py's): uart_id, rx_n (the UART's RX pin; its TX is
    # io_n, port the UART at the current rate), echo/out (one-character buffers).
    turn_t0 = 6  # after a character is read (10.5 etu after its start and the interrupt):
    # 16 etu from the card's last start bit to ours (ISO 7816-3 7.2)
    turn_t1 = 12  # T=1: 22 etu (block guard time, ISO 7816-3 11.2)
    idle_etu = 12  # after a low level seen on RX: a whole character may still be arriving

    def __init__(self, uart_id, tx, rx, clk, rst, vcc, detect, detect_level=0, vcc_on=0,
                 tda8024=False):
        self.uart_id = uart_id
        self.rx_n = rx
        super().__init__(tx, clk, rst, vcc, detect, detect_level, vcc_on, tda8024)
        self.echo = bytearray(1)
        self.out = bytearray(1)
        self.rx = Pin(rx, Pin.IN)
        self.parity = 0  # what we send needs: 0 even (direct), 1 odd (inverse convention)
        self.uart_parity = 0  # what the open UART does

    def _defaults(self):
        super()._defaults()
        self.parity = 0

    def _open_uart(self):
        baud = (CLK_HZ * self.d + self.f // 2) // self.f
        self.etu_us = 1_000_000 // baud + 1
        # timeout_char=0: MicroPython's ESP32 UART then sets the RX FIFO threshold and the
        # RX timeout to one character (ports/esp32/machine_uart.c), so any() sees each
        # character as soon as it is in, not after ESP-IDF's default 10 character times
        # of silence (which would miss every echo)
        u = UART(self.uart_id, baudrate=baud, bits=8, parity=self.parity, stop=2,
                 tx=self.io_n, rx=self.rx_n, timeout=0, timeout_char=0, rxbuf=512)
        self.port = u
        self.uart_parity = self.parity
        self.rx_any = u.any

    def _start_port(self):
        self._open_uart()  # TX idle high: I/O released

    def _restart_port(self):
        self._open_uart()

    def _stop_port(self):
        if self.port is not None:
            self.port.deinit()
            self.port = None
        self.rx = Pin(self.rx_n, Pin.IN)  # no pull-up: it would feed an unpowered card

    def _flush_rx(self):
        self._flush()

    def _arriving(self):
        if self._port().any():
            self._flush()
            self._received()
            return True
        return not self.rx.value()

    def _io_in(self):
        Pin(self.io_n, Pin.OUT, value=1)  # TX high: its diode no longer pulls I/O low
        return self.rx

    def set_convention(self, inverse):
        # The session asks when TS came as 03 (an inverse card). The UART sends LSB first
        # with high = 1, and inverting the pin would invert start and stop bits too, so the
        # session's table turns each character around (returning False asks for it). What
        # the table cannot fix is the parity bit the UART adds: an inverse character has
        # an even number of low levels among its 8 data bits and parity, i.e. an odd
        # number of high ones: the UART's odd parity. It is switched before our next write
        # (the card is quiet then; reopening the UART mid-ATR would lose characters).
        self.parity = 1 if inverse else 0
        return not inverse

    def supports_rate(self, f, d):
        return f > 0 and d > 0 and (CLK_HZ * d + f // 2) // f <= _MAX_BAUD

    def set_rate(self, f, d):
        self.f, self.d = f, d
        if self.port is not None:
            self.port.deinit()
            self._open_uart()

    def _flush(self):
        u = self._port()
        while u.any():
            u.read()

    def _byte(self, timeout_us):
        u = self._port()
        self._wait(timeout_us)
        u.readinto(self.echo)
        return self.echo[0]

    def write(self, data):
        u = self._ready()
        if self.parity != self.uart_parity:  # after an inverse TS (set_convention)
            u.deinit()
            self._open_uart()
            u = self.port
        self._turnaround()
        out = self.out
        c = self.counters
        gap = (12 + self.guard) * self.etu_us
        t0 = time.ticks_us()
        for i in range(len(data)):
            if i and self.guard:  # N etu more between our start bits (the UART gives 12)
                while time.ticks_diff(time.ticks_us(), t0) < gap:
                    pass
            out[0] = data[i]
            t0 = time.ticks_us()
            u.write(out)
            # the echo (12 etu on the line, then the UART's interrupt and ring buffer: up to
            # 2 ms more, which only a missing echo ever waits); another value: collision
            if self._byte(30 * self.etu_us + 2000) != out[0]:
                out[0] = 0
                raise ProtocolError("I/O line echo mismatch")
            c.tx += 1
            c.etu += 12 + self.guard
        out[0] = 0  # a VERIFY carries the PIN

    def read_byte(self, timeout_etu):
        self._ready()
        b = self._byte(timeout_etu * self.etu_us)
        self._received()
        return b
