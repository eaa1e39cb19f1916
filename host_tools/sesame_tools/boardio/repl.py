"""A MicroPython board behind a serial port, for `sesame flash` (and anything else that
needs the REPL): opens the port with clear errors, enters the raw REPL, identifies
the board, and runs code with mpremote's SerialTransport."""

from __future__ import annotations

import ast
import errno
import time

import click
import serial
from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

INSTALL_HELP = """\
To install MicroPython (1.23 or later):
  Raspberry Pi Pico: hold BOOTSEL while plugging it in, then copy the .uf2 file from
    https://micropython.org/download/RPI_PICO/ to the RPI-RP2 drive that appears.
  ESP32: pip install esptool, then (see https://micropython.org/download/ESP32_GENERIC/)
    esptool.py --port PORT erase_flash
    esptool.py --port PORT --baud 460800 write_flash 0x1000 ESP32_GENERIC-<version>.bin"""

# sys.implementation._mpy >> 10: the native architecture, as mpy-cross -march names it
ARCHS = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
         "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc"]
LINK_ERRORS = (serial.SerialException, OSError, TransportError)


class BoardError(click.ClickException):
    """A problem with the board, explained for its user."""


class BoardInfo:
    def __init__(self, impl: str, version: tuple, mpy: int, platform: str, machine: str):
        self.impl, self.version, self.mpy = impl, tuple(version[:3]), mpy
        self.platform, self.machine = platform, machine

    @property
    def mpy_version(self) -> tuple[int, int]:
        return self.mpy & 0xFF, (self.mpy >> 8) & 3

    @property
    def arch(self) -> str | None:
        i = self.mpy >> 10
        return ARCHS[i] if i < len(ARCHS) else None

    def __str__(self) -> str:
        v = ".".join(map(str, self.version))
        major, minor = self.mpy_version
        return (f"MicroPython {v} on {self.platform} ({self.machine or '?'}), "
                f"mpy v{major}.{minor}, arch {self.arch or 'none'}")


def open_serial(port: str, timeout: float = 0.05, baud: int = 115200) -> serial.Serial:
    """The port opened exclusively (so two tools never talk to a board at once), or a
    BoardError that says what is wrong."""
    try:
        return serial.Serial(port, baud, timeout=timeout, exclusive=True)
    except serial.SerialException as e:
        msg = str(e)
        code = getattr(e, "errno", None)
        if code == errno.ENOENT or "No such file" in msg:
            raise BoardError(f"no serial port {port}: is the board plugged in? "
                             "(`mpremote connect list` shows the ports)")
        if code == errno.EACCES or "Permission denied" in msg:
            raise BoardError(f"no permission to open {port}: add yourself to the "
                             "`dialout` group (sudo usermod -aG dialout $USER), log in again")
        if "exclusively lock" in msg or code in (errno.EBUSY, errno.EAGAIN):
            raise BoardError(f"{port} is busy: another program has it open (sesame monitor, "
                             "mpremote, a serial terminal, Thonny?). Close it and try again.")
        raise BoardError(f"cannot open {port}: {msg}")


def open_port(port: str, timeout: float = 1.0) -> SerialTransport:
    """mpremote's transport on the port, or a BoardError that says what is wrong."""
    open_serial(port).close()
    try:
        return SerialTransport(port, baudrate=115200, timeout=timeout)
    except TransportError as e:
        raise BoardError(f"{port} is busy or gone: {e}")


class Board:
    """The REPL of a MicroPython board on `port`."""

    def __init__(self, port: str):
        self.port = port
        self.t = open_port(port)
        self.ser = self.t.serial

    def close(self) -> None:
        try:
            self.t.close()
        except LINK_ERRORS:
            pass

    def _read_until(self, ending: bytes, timeout: float) -> bytes:
        data = b""
        end = time.monotonic() + timeout
        while not data.endswith(ending) and time.monotonic() < end:
            data += self.ser.read(1)  # one at a time: what follows `ending` stays unread
        return data

    def enter_raw_repl(self, soft_reset: bool = True, timeout: float = 5.0) -> None:
        """Interrupts whatever runs (the firmware), enters the raw REPL, and by default
        soft-resets so the copy starts with a clean heap; BoardError if the device
        does not answer like MicroPython."""
        banner = b"raw REPL; CTRL-B to exit\r\n"
        seen = b""
        for attempt in range(2):
            self.ser.write(b"\r\x03")
            time.sleep(0.1)
            self.ser.write(b"\x03")
            time.sleep(0.1)
            self.ser.reset_input_buffer()
            self.ser.write(b"\r\x01")
            want = banner + b">" if soft_reset else banner  # exec reads the ">" itself
            seen = self._read_until(want, timeout)
            if seen.endswith(want):
                break
        else:
            shown = seen.decode(errors="replace").strip()[-300:]
            raise BoardError(
                f"{self.port} does not answer as a MicroPython board (no raw REPL within "
                f"{timeout:g} s{'; it said: ' + repr(shown) if shown else ', it said nothing'}).\n"
                + INSTALL_HELP.replace("PORT", self.port))
        if soft_reset:
            self.ser.write(b"\x04")
            data = self._read_until(b"soft reboot\r\n", timeout)
            data += self._read_until(banner, timeout)
            if not data.endswith(banner):
                raise BoardError(f"{self.port}: the board did not come back after a soft reset")
        self.t.in_raw_repl = True

    def exec(self, code: str, timeout: float = 10) -> bytes:
        out, err = self.t.exec_raw(code, timeout=timeout)
        if err:
            raise TransportExecError(out, err.decode(errors="replace"))
        return out

    def eval(self, expr: str):
        return ast.literal_eval(self.exec(f"print(repr({expr}))").decode().strip())

    def info(self) -> BoardInfo:
        self.exec("import sys")
        impl, version, mpy, platform, machine = self.eval(
            "(sys.implementation.name, tuple(sys.implementation.version), "
            "getattr(sys.implementation, '_mpy', 0), sys.platform, "
            "getattr(sys.implementation, '_machine', ''))")
        return BoardInfo(impl, version, mpy, platform, machine)

    def soft_reset_friendly(self) -> None:
        """Leaves the raw REPL and soft-resets from the friendly REPL: main.py runs."""
        self.ser.write(b"\r\x02")
        self.t.in_raw_repl = False
        self._read_until(b">>> ", 3)
        self.ser.write(b"\x04")

    def lines(self, timeout: float):
        """Yields lines the board prints (str, stripped) until `timeout` s pass."""
        buf = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            buf += self.ser.read(max(1, min(self.ser.in_waiting, 4096)))
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                yield raw.decode(errors="replace").strip()
        if buf.strip():
            yield buf.decode(errors="replace").strip()
