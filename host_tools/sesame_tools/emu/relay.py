"""The emulated Pico's USB serial relay: bytes between the pty a host opens and the node
process, unchanged (the USB serial carries Ctrl-C to MicroPython itself), except the host
lines "!card in" / "!card out", which work the card-detect switch (the firmware never sees
them; a Pico has no such line) and are answered "@ok card" at a line boundary."""

from __future__ import annotations

import os
import select
import time

_MAX_PENDING = 1 << 20  # output nobody reads is dropped beyond this, like a USB CDC



def card_line(emu, line: bytes) -> bool:
    """A host line the bench answers itself (card control); True if it was one."""
    if not emu.card_control:
        return False
    text = line.strip()
    if text not in (b"!card in", b"!card out"):
        return False
    try:
        emu.set_card(text == b"!card in")
        emu._inject += b"@ok card\r\n"
    except (RuntimeError, OSError) as e:  # EmuError: the node process is gone
        emu._inject += f"@error card {e}\r\n".encode()
    return True

def relay(emu) -> None:
    master = emu._master
    proc = emu.proc
    assert proc is not None
    to_host = bytearray()
    to_board = bytearray()
    held = bytearray()  # a host line that may be "!card ..."
    at_line_start = True  # host side
    host_bol = True  # board -> host: the last byte out ended a line
    inject_since = 0.0
    while emu._running:
        rl = [master, proc.stdout]
        wl = []
        if to_board:
            wl.append(proc.stdin)
        if emu._inject and not host_bol and not to_host:
            if not inject_since:
                inject_since = time.monotonic()
            elif time.monotonic() - inject_since > 0.2:  # a prompt with no newline
                emu._inject[0:0] = b"\r\n"
                host_bol = True
        if to_host or (emu._inject and host_bol):
            wl.append(master)
        try:
            r, w, _ = select.select(rl, wl, [], 0.05)
        except (OSError, ValueError):
            break
        if master in r:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""
            for b in data:
                if held or (at_line_start and b == 0x21):  # "!" opens a line we look at
                    held.append(b)
                    p = bytes(held)
                    if b in (10, 13):
                        if not card_line(emu, p):
                            to_board += held
                        held.clear()
                        at_line_start = True
                    elif not (b"!card ".startswith(p) if len(p) <= 6 else
                              p.startswith(b"!card ")) or len(p) > 12:
                        to_board += held
                        held.clear()
                        at_line_start = False
                    continue
                to_board.append(b)
                at_line_start = b in (10, 13)
        if proc.stdout in r:
            try:
                data = os.read(proc.stdout.fileno(), 65536)
            except BlockingIOError:
                data = None
            except (OSError, ValueError):
                data = b""
            if data:
                to_host += data
                if len(to_host) > _MAX_PENDING:
                    del to_host[:len(to_host) - _MAX_PENDING]
            elif data is not None:
                break  # the node process ended
        if proc.stdin in w and to_board:
            try:
                n = os.write(proc.stdin.fileno(), to_board)
                del to_board[:n]
            except BlockingIOError:
                pass
            except OSError:
                to_board.clear()
        if master in w:
            if emu._inject and host_bol:
                to_host[0:0] = emu._inject
                emu._inject.clear()
                inject_since = 0.0
            if to_host:
                # inject only at line boundaries: send up to and including the last "\n"
                try:
                    n = os.write(master, to_host)
                    host_bol = to_host[n - 1] == 10 if n else host_bol
                    del to_host[:n]
                except BlockingIOError:
                    pass
                except OSError:
                    to_host.clear()
    emu._running = False
