"""`sesame pcsc`: the board as a PIN-pad PC/SC reader, with nothing of ours on the PC.

pcscd's serial driver for GemPC readers (libccid's libccidtwin.so) speaks to the reader's
PC/SC channel (on a Pico the second USB serial, /dev/ttyACM1; on the simulated board the
`pcsc:` pty of `sesame sim --serve`) once a reader.conf entry names it:

  sesame pcsc --port /dev/ttyACM1             prints the entry
  sudo sesame pcsc --port /dev/ttyACM1 --install   writes /etc/reader.conf.d/sesame
  sesame pcsc --check                         asks pcscd whether it sees the reader, its
                                              card, and the PIN pad (pyscard)
  sesame pcsc --port /dev/ttyUSB0 --enter     one-UART boards (ESP32): PC/SC mode on the
  sesame pcsc --port /dev/ttyUSB0 --leave     REPL's serial, and back (or CLEAR x3 on the
                                              keypad, or a reset)
"""

from __future__ import annotations

import glob
import os
import re
import sys
from pathlib import Path

import click

DRIVER_PATHS = ("/usr/lib/pcsc/drivers/serial/libccidtwin.so",
                "/usr/lib/*/pcsc/drivers/serial/libccidtwin.so",
                "/usr/local/lib/pcsc/drivers/serial/libccidtwin.so")
CONF_DIR = "/etc/reader.conf.d"
READER_TYPE = "GemPCPinPad"  # the GemPC type libccid gives a PIN pad (bPINSupport 3)


def driver_path() -> str | None:
    for pattern in DRIVER_PATHS:
        for p in sorted(glob.glob(pattern)):
            return p
    return None


def stable_port(port: str) -> str:
    """/dev/serial/by-id/... for a /dev/ttyACMn (ACM numbers change when boards are
    plugged in another order); the port itself when it has no such name."""
    real = os.path.realpath(port)
    for link in sorted(glob.glob("/dev/serial/by-id/*")):
        if os.path.realpath(link) == real:
            return link
    return port


def entry(port: str, name: str, lib: str) -> str:
    return (f"# Sesame PIN-pad reader (sesame pcsc): pcscd's serial CCID driver on the\n"
            f"# board's PC/SC channel\n"
            f'FRIENDLYNAME "{name}"\n'
            f"DEVICENAME   {port}:{READER_TYPE}\n"
            f"LIBPATH      {lib}\n")


@click.command()
@click.option("--port", help="The board's PC/SC channel: /dev/ttyACM1 on a Pico (the second "
              "USB serial), the `pcsc:` line of `sesame sim --serve`.")
@click.option("--name", default="Sesame", show_default=True,
              help="FRIENDLYNAME: PC/SC names the reader '<name> 00 00'.")
@click.option("--install", is_flag=True, help=f"Write the entry to {CONF_DIR}/ (root), then "
              "say how to restart pcscd.")
@click.option("--conf-dir", default=CONF_DIR, show_default=True, type=click.Path(),
              help="Where --install writes.")
@click.option("--check", is_flag=True, help="Ask pcscd (pyscard) whether it sees the reader, "
              "its card and the PIN pad.")
@click.option("--enter", is_flag=True, help="One-UART boards (ESP32): switch the board's "
              "serial --port to PC/SC mode (Ctrl-C off, CCID frames only).")
@click.option("--leave", is_flag=True, help="Give a board in PC/SC mode its serial back "
              "(stop pcscd first; CLEAR three times on the keypad or a reset do it too).")
def pcsc(port, name, install, conf_dir, check, enter, leave) -> None:
    """Use the board as a PIN-pad smart-card reader for PC/SC applications.

    Prints the reader.conf entry for pcscd's serial CCID driver (libccid), --install writes
    it, --check asks pcscd what it sees. PINs asked by PC applications through the PIN pad
    (FEATURE_VERIFY_PIN_DIRECT) are typed on the board's keypad.
    """
    # both go into reader.conf, which pcscd reads as root: a quote, a newline or a "/"
    # would write other directives or another file (an escape)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}", name):
        raise click.BadParameter(f"{name[:40]!r}: 1-32 letters, digits, spaces, '.', '-' or "
                                 "'_', starting with a letter or digit", param_hint="--name")
    if port is not None and not re.fullmatch(r"[^\s\"]{1,1000}", port):
        raise click.BadParameter(f"{port[:40]!r} is not a serial port", param_hint="--port")
    if check:
        sys.exit(run_check(name))
    if not port:
        raise click.UsageError("--port is needed (the board's PC/SC channel, e.g. /dev/ttyACM1)")
    if enter or leave:
        sys.exit(switch_mode(port, enter))
    lib = driver_path()
    if lib is None:
        click.echo("warning: libccid's serial driver is not installed "
                   "(Debian/Ubuntu: sudo apt-get install pcscd libccid)", err=True)
        lib = DRIVER_PATHS[0]
    text = entry(stable_port(port), name, lib)
    if not install:
        click.echo(text, nl=False)
        return
    target = Path(conf_dir) / name.lower().replace(" ", "-")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    except PermissionError:
        raise click.ClickException(f"cannot write {target}: run it as root "
                                   f"(sudo {Path(sys.argv[0]).name} pcsc --port {port} --install)")
    except OSError as e:
        raise click.ClickException(f"cannot write {target}: {e.strerror}")
    click.echo(f"wrote {target}")
    click.echo("restart pcscd so that it reads it: sudo systemctl restart pcscd "
               "(without systemd: sudo service pcscd restart)")
    click.echo("then: sesame pcsc --check   (or pcsc_scan)")


def run_check(name: str) -> int:
    try:
        from smartcard import scard
    except ImportError:
        click.echo("pyscard is not installed: pip install pyscard "
                   "(it builds with swig and libpcsclite-dev)", err=True)
        return 2
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        click.echo(f"pcscd does not answer: {scard.SCardGetErrorMessage(hr)} "
                   "(is it running? sudo systemctl start pcscd)", err=True)
        return 1
    try:
        hr, readers = scard.SCardListReaders(ctx, [])
        mine = [r for r in (readers if hr == scard.SCARD_S_SUCCESS else [])
                if r.startswith(name + " ")]
        if not mine:
            click.echo(f"pcscd sees no reader named {name!r} "
                       f"(readers: {', '.join(readers) if hr == 0 and readers else 'none'}).\n"
                       f"Is the entry in {CONF_DIR}/ (sesame pcsc --port ... --install), was "
                       "pcscd restarted after the board was plugged in, and is the board "
                       "running the reader?", err=True)
            return 1
        ok = True
        for r in mine:
            ok = check_reader(scard, ctx, r) and ok
        return 0 if ok else 1
    finally:
        scard.SCardReleaseContext(ctx)


def check_reader(scard, ctx, reader: str) -> bool:
    click.echo(f"reader:  {reader}")
    hr, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
    atr = states[0][2] if hr == scard.SCARD_S_SUCCESS else []
    present = hr == scard.SCARD_S_SUCCESS and states[0][1] & scard.SCARD_STATE_PRESENT
    if present:
        click.echo("card:    present, ATR " + " ".join(f"{b:02X}" for b in atr))
    else:
        click.echo("card:    none")
    hr, card, _ = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_DIRECT, 0)
    if hr != scard.SCARD_S_SUCCESS:
        click.echo(f"PIN pad: unknown ({scard.SCardGetErrorMessage(hr)})")
        return False
    try:
        hr, raw = scard.SCardControl(card, scard.SCARD_CTL_CODE(3400), [])
    finally:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
    tags = set()
    i = 0
    while hr == scard.SCARD_S_SUCCESS and i + 2 <= len(raw):
        tags.add(raw[i])
        i += 2 + raw[i + 1]
    names = [n for t, n in ((0x06, "FEATURE_VERIFY_PIN_DIRECT"),
                            (0x07, "FEATURE_MODIFY_PIN_DIRECT")) if t in tags]
    if names:
        click.echo("PIN pad: yes (" + ", ".join(names) + ")")
        return True
    click.echo("PIN pad: no (is the entry's reader type :GemPCPinPad?)")
    return False


LEAVE = b"sesame:off"  # the escape (PC_to_RDR_Escape) that ends the PC/SC mode


def leave_frame() -> bytes:
    msg = bytes([0x6B, len(LEAVE), 0, 0, 0, 0, 0, 0, 0, 0]) + LEAVE
    f = b"\x03\x06" + msg
    x = 0
    for b in f:
        x ^= b
    return f + bytes([x])


def switch_mode(port: str, enter: bool) -> int:
    import time

    from sesame_tools.boardio.repl import open_serial

    ser = open_serial(port, timeout=0.1)  # BoardError (a ClickException) when busy/absent
    try:
        ser.reset_input_buffer()
        ser.write(b"\r\n!pcsc on\r\n" if enter else leave_frame())
        want = b"@ok pcsc\n" if enter else b"@ok pcsc off\n"
        got = b""
        end = time.monotonic() + 5
        while time.monotonic() < end:
            got += ser.read(256)
            if want in got.replace(b"\r\n", b"\n"):
                break
            if b"@refused" in got:
                line = got[got.index(b"@refused"):].split(b"\n")[0].decode(errors="replace")
                click.echo(f"the board says: {line.strip()}", err=True)
                return 1
        else:
            click.echo("no answer from the reader (is it running the firmware? in PC/SC "
                       "mode already?)" if enter else
                       "no answer: is the board in PC/SC mode, and pcscd stopped?", err=True)
            return 1
    finally:
        ser.close()
    if enter:
        click.echo(f"{port} is now the PC/SC reader: `sesame pcsc --port {port}` gives pcscd's "
                   "entry. Leave with `sesame pcsc --port ... --leave` (pcscd stopped), CLEAR "
                   "three times on the keypad, or a reset.")
    else:
        click.echo(f"{port} is the REPL and test link again.")
    return 0
