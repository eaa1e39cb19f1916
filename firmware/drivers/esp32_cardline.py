# ESP32 card line: the card-line contract of sesame.session with a UART at 8E2 (start,
# 8 data, even parity, 2 stop bits = the 2 etu guard time) on a TX/RX pin pair tied to
# the card's I/O, and an LEDC PWM as the card clock.
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
# - inverse-convention cards (TS = 3F, read here as 03) are refused: set_convention()
#   raises ProtocolError, the session deactivates the card and the display shows Err CArd
#   (the UART has no MSB-first mode and inverting RX would also invert its start and stop
#   bits; see boards/esp32/README.md);
# - the etu is the UART's baud rate, f*D/F rounded to a whole baud (within 0.01 %); PPS
#   goes to any ISO rate up to _MAX_BAUD.
# T=0 and T=1 differ here only in the turnaround (16 etu, or T=1's 22 etu block guard
# time): there is no error signal either way.
import time
from micropython import const
from machine import Pin, PWM, UART
from sesame.errors import CardAbsent, CardTimeout, ProtocolError
from sesame.session import Counters

_CLK_HZ = const(4_000_000)
_ACTIVATION_US = const(10_500)  # RST low 42 000 clocks (EMV: 40 000-45 000)
_TURN_ETU = const(6)  # 16 etu from the card's last start bit to ours (ISO 7816-3 7.2)
_TURN_ETU_T1 = const(11)  # T=1: 22 etu (block guard time, ISO 7816-3 11.2)
_MAX_BAUD = const(700_000)  # TA1 up to 1x (F 372, D 64): 688 kbaud


class UartCardLine:
    # Fields: uart, clk (PWM or None), pins, f/d (rate), etu_us, extra (guard, etu),
    # turn (turnaround, etu), feed (watchdog), counters.
    def __init__(self, uart_id, tx, rx, clk, rst, vcc, detect, detect_level=0, vcc_on=0,
                 tda8024=False):
        self.uart_id = uart_id
        self.tx_n = tx
        self.rx_n = rx
        self.uart = None
        self.clk_pin = Pin(clk, Pin.OUT, value=0)
        self.clk = None
        self.rst = Pin(rst, Pin.OUT, value=0)
        self.vcc_on = vcc_on
        self.vcc = Pin(vcc, Pin.OUT, value=1 - vcc_on)
        self.detect = Pin(detect, Pin.IN, Pin.PULL_UP)
        self.detect_level = detect_level
        self.tda8024 = tda8024
        self.f = 372
        self.d = 1
        self.etu_us = 93
        self.extra = 0
        self.turn = _TURN_ETU
        self.feed = None
        self.counters = Counters()
        self.echo = bytearray(1)
        self.out = bytearray(1)
        self.rx_at = time.ticks_us()  # when the last character was received

    def _open_uart(self):
        baud = (_CLK_HZ * self.d + self.f // 2) // self.f
        self.etu_us = 1_000_000 // baud + 1
        self.uart = UART(self.uart_id, baudrate=baud, bits=8, parity=0, stop=2,
                         tx=self.tx_n, rx=self.rx_n, timeout=0, rxbuf=512)

    def present(self):
        return self.detect.value() == self.detect_level

    def cold_reset(self):
        if not self.present():
            raise CardAbsent("no card")
        self.deactivate()
        time.sleep_ms(10)
        self.f, self.d, self.extra, self.turn = 372, 1, 0, _TURN_ETU
        self.vcc.value(self.vcc_on)
        time.sleep_us(500)
        self._open_uart()  # TX idle high: I/O released
        self.clk = PWM(self.clk_pin, freq=_CLK_HZ, duty_u16=32768)
        self._flush()
        time.sleep_us(_ACTIVATION_US)
        self.rst.value(1)

    def warm_reset(self):
        if self.uart is None:
            raise CardAbsent("no card")
        self.rst.value(0)
        self.f, self.d, self.extra, self.turn = 372, 1, 0, _TURN_ETU
        self._open_uart()
        self._flush()
        time.sleep_us(_ACTIVATION_US)
        self.rst.value(1)

    def deactivate(self):
        self.rst.value(0)
        if self.clk is not None:
            self.clk.deinit()
            self.clk = None
        self.clk_pin.init(Pin.OUT, value=0)
        if self.uart is not None:
            self.uart.deinit()
            self.uart = None
        if not self.tda8024:
            Pin(self.tx_n, Pin.OUT, value=0)
        self.vcc.value(1 - self.vcc_on)

    def set_convention(self, inverse):
        # The session asks when TS came as 03 (an inverse card): this board cannot.
        if inverse:
            raise ProtocolError("inverse convention (TS 3F): not on the ESP32 board")
        return True

    def set_guard(self, n):
        self.extra = 0 if n == 255 else n

    def set_protocol(self, t):
        self.turn = _TURN_ETU_T1 if t == 1 else _TURN_ETU

    def supports_rate(self, f, d):
        return f > 0 and d > 0 and (_CLK_HZ * d + f // 2) // f <= _MAX_BAUD

    def set_rate(self, f, d):
        self.f, self.d = f, d
        if self.uart is not None:
            self.uart.deinit()
            self._open_uart()

    def _uart(self):
        u = self.uart
        if u is None:
            raise CardAbsent("card removed")
        return u

    def _flush(self):
        u = self._uart()
        while u.any():
            u.read()

    def _byte(self, timeout_us):
        u = self._uart()
        t0 = time.ticks_us()
        n = 0
        while not u.any():
            n += 1
            if n & 63 == 0:
                if self.feed is not None:
                    self.feed()
                if not self.present():
                    raise CardAbsent("card removed")
                if time.ticks_diff(time.ticks_us(), t0) > timeout_us:
                    raise CardTimeout("card silent")
        u.readinto(self.echo)
        return self.echo[0]

    def write(self, data):
        if self.uart is None or not self.present():
            raise CardAbsent("card removed")
        u = self._uart()
        while time.ticks_diff(time.ticks_us(), self.rx_at) < self.turn * self.etu_us:
            pass
        out = self.out
        c = self.counters
        for i in range(len(data)):
            out[0] = data[i]
            u.write(out)
            if self._byte(30 * self.etu_us) != out[0]:  # the echo: another value = collision
                out[0] = 0
                raise ProtocolError("I/O line echo mismatch")
            c.tx += 1
            c.etu += 12 + self.extra
            if self.extra:
                time.sleep_us(self.extra * self.etu_us)
        out[0] = 0  # a VERIFY carries the PIN

    def read_byte(self, timeout_etu):
        if self.uart is None or not self.present():
            raise CardAbsent("card removed")
        b = self._byte(timeout_etu * self.etu_us)
        self.rx_at = time.ticks_us()
        c = self.counters
        c.rx += 1
        c.etu += 12
        return b
