"""A pseudo-terminal standing for a board's USB serial port (the simulated board, its
PC/SC channel, the emulated Pico)."""

from __future__ import annotations

import fcntl
import os
import termios
import tty


def open_raw_pty() -> tuple[int, int, str]:
    """(master fd, slave fd, slave path): raw (no echo, no line editing, no CR/LF
    translation), the master non-blocking. Keeping the slave fd open keeps the pty alive
    while clients come and go."""
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    fl = fcntl.fcntl(master, fcntl.F_GETFL)
    fcntl.fcntl(master, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    return master, slave, os.ttyname(slave)
