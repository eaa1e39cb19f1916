"""A MicroPython board behind a serial port, for `sesame flash` (and anything else that
needs the REPL): mpremote's SerialTransport (raw REPL, exec, eval, fs_* methods), with
what it does not do itself: one clear error for each way opening or entering the raw
REPL fails, a second Ctrl-C for a firmware slow to stop, the board's identity, the
friendly soft reset that runs main.py, and the lines the firmware prints."""

from __future__ import annotations

import ast
import contextlib
import errno
import io
import time

import click
import serial
from mpremote.transport import TransportError
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


def _what_it_said(printed: str) -> str:
    """The device's words in what mpremote printed before raising (it prints the bytes
    it read, as a bytes literal, when the raw REPL does not come)."""
    said = b""
    for line in printed.splitlines():
        try:
            value = ast.literal_eval(line.strip())
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, bytes):
            said += value
    return said.decode(errors="replace").strip()[-300:]


_QUIET_S = 0.5  # silence that ends a device's answer to the raw-REPL request
# what a MicroPython board may print before its raw-REPL banner (a traceback, a prompt,
# our firmware's events)
_MICROPYTHON = (b">>>", b"Traceback", b"MicroPython", b"raw REPL", b"\n@", b"Error")


class Board(SerialTransport):
    """The REPL of a MicroPython board on `port`: mpremote's transport (exec, eval,
    exec_raw, fs_writefile...), opened with clear errors."""

    def __init__(self, port: str):
        open_serial(port).close()  # no such port, no permission, busy: said plainly
        try:
            super().__init__(port, baudrate=115200, timeout=1.0)
        except TransportError as e:
            raise BoardError(f"{port} is busy or gone: {e}")
        self.port = port

    def close(self) -> None:
        try:
            super().close()
        except LINK_ERRORS:
            pass

    def enter_raw_repl(self, soft_reset: bool = True, timeout_overall: float = 5.0) -> None:
        """Interrupts whatever runs (the firmware), enters the raw REPL, and by default
        soft-resets so the copy starts with a clean heap; BoardError if the device
        does not answer like MicroPython, with what it said."""
        said = self._probe(timeout_overall)
        if said is not None:  # it answered, and not as MicroPython: known at once
            raise BoardError(
                f"{self.port} does not answer as a MicroPython board (no raw REPL; it said: "
                f"{said!r}).\n" + INSTALL_HELP.replace("PORT", self.port))
        printed = io.StringIO()
        for attempt in range(2):  # a firmware busy with the card may miss the first Ctrl-C
            try:
                with contextlib.redirect_stdout(printed):  # mpremote prints what it read
                    super().enter_raw_repl(soft_reset=False, timeout_overall=timeout_overall)
                break
            except TransportError:
                time.sleep(0.1)
        else:
            shown = _what_it_said(printed.getvalue())
            raise BoardError(
                f"{self.port} does not answer as a MicroPython board (no raw REPL within "
                f"{timeout_overall:g} s"
                f"{'; it said: ' + repr(shown) if shown else ', it said nothing'}).\n"
                + INSTALL_HELP.replace("PORT", self.port))
        if soft_reset:
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    super().enter_raw_repl(soft_reset=True, timeout_overall=timeout_overall)
            except TransportError:
                raise BoardError(f"{self.port}: the board did not come back after a soft reset")

    def _probe(self, timeout: float) -> str | None:
        """Asks for the raw REPL once: None if the banner came or the device said nothing
        (a busy or slow board: mpremote's attempts follow); else what it said, once it fell
        silent for _QUIET_S (a modem's "ERROR": no need to wait out two timeouts)."""
        ser = self.serial
        ser.write(b"\r\x03")
        time.sleep(0.1)
        ser.reset_input_buffer()
        ser.write(b"\r\x01")
        data = b""
        last = time.monotonic()
        end = last + timeout
        while b"raw REPL; CTRL-B to exit" not in data and time.monotonic() < end:
            b = ser.read(ser.in_waiting or 1)
            if b:
                data += b
                last = time.monotonic()
            elif data and time.monotonic() - last >= _QUIET_S:
                if any(m in data for m in _MICROPYTHON):  # slow, but one: the attempts tell
                    return None
                return data.decode(errors="replace").strip()[-300:]
        return None

    def info(self) -> BoardInfo:
        self.exec("import sys")
        impl, version, mpy, platform, machine = self.eval(
            "(sys.implementation.name, tuple(sys.implementation.version), "
            "getattr(sys.implementation, '_mpy', 0), sys.platform, "
            "getattr(sys.implementation, '_machine', ''))")
        return BoardInfo(impl, version, mpy, platform, machine)

    def soft_reset_friendly(self) -> None:
        """Leaves the raw REPL and soft-resets from the friendly REPL: main.py runs."""
        self.exit_raw_repl()
        self.read_until(1, b">>> ", timeout=3, timeout_overall=3)
        self.serial.write(b"\x04")

    def lines(self, timeout: float):
        """Yields lines the board prints (str, stripped) until `timeout` s pass."""
        buf = b""
        end = time.monotonic() + timeout
        ser = self.serial
        while time.monotonic() < end:
            buf += ser.read(max(1, min(ser.in_waiting, 4096)))
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                yield raw.decode(errors="replace").strip()
        if buf.strip():
            yield buf.decode(errors="replace").strip()
