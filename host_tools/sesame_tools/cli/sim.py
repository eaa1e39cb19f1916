"""`sesame sim`: the reader on the simulated board (interactive, --keys, --serve, --blank)."""

from __future__ import annotations

import sys
import time

import click

from sesame_tools.cli.common import CARD_HELP, Seconds, check_keys, load_card


@click.command()
@click.option("--card", help=CARD_HELP)
@click.option("--keys", help='Press these keys, e.g. "CODE 1 2 3 4 OK", print each display '
              "change and exit once a code (exit 0) or an error (exit 1) is shown.")
@click.option("--serve", is_flag=True, help="Print the board's serial port (and its PC/SC "
              "channel, `pcsc: PTY`) and run until interrupted (for HIL tests, mpremote, "
              "pcscd).")
@click.option("--auto-off", type=Seconds(1, 86400), default=35, show_default=True,
              help="Seconds before the reader switches itself off.")
@click.option("--production", is_flag=True, help="Production build: refuses key injection.")
@click.option("--heap", help="Cap the MicroPython heap, e.g. 64K (bytes, K or M).")
@click.option("--timeout", type=Seconds(0.1, 86400), default=30, show_default=True,
              help="With --keys: give up after this many seconds.")
@click.option("--blank", is_flag=True, help="A board with MicroPython only (no firmware): "
              "flash it with `sesame flash --port <its port>`. Implies --serve.")
@click.option("--flash", "flash_dir", type=click.Path(file_okay=False),
              help="Keep the board's filesystem in this folder (kept between runs; "
              "with --blank, what was flashed there boots).")
def sim(card, keys, serve, auto_off, production, heap, timeout, blank, flash_dir) -> None:
    """Run the reader on the simulated board with a virtual card.

    With no option it is interactive: the display is drawn in the terminal; keys: digits,
    c = CODE, r = RESPOND, s = SIGN, Enter = OK, Backspace = CLEAR, i = insert/remove the
    card, q = quit.
    """
    from sesame_tools.sim.board import SimBoard

    names = check_keys(keys)
    if blank and keys is not None:
        raise click.UsageError("--blank is a board without the reader: no --keys")
    heap = _heap(heap)
    if flash_dir is not None:
        _writable(flash_dir)
    load_card(card)  # checked before anything starts: a clean error naming the key
    board = SimBoard(card, auto_off_s=auto_off, test_build=not production, heap=heap,
                     firmware="blank" if blank else "source", flash_dir=flash_dir)
    try:
        try:
            board.start()
        except FileNotFoundError as e:  # no MicroPython unix port
            raise click.ClickException(str(e))
        if names is not None:
            sys.exit(_run_keys(board, names, timeout))
        if serve or blank:
            import signal

            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # clean up on `kill`
            click.echo(f"port: {board.port}", err=False)
            if board.pcsc_port:  # the reader's PC/SC channel: `sesame pcsc --port` it
                click.echo(f"pcsc: {board.pcsc_port}", err=False)
            sys.stdout.flush()
            try:
                while board.alive():
                    time.sleep(0.2)
            except KeyboardInterrupt:
                return
            raise click.ClickException("the simulated board stopped:\n" + board.errors())
        from sesame_tools.sim.demo import run_demo

        run_demo(board)
    finally:
        board.stop()


def _heap(text: str | None) -> str | None:
    """--heap: bytes, K or M, from 8K (MicroPython boots in less, the reader does not) to 1G."""
    import re

    if text is None:
        return None
    m = re.fullmatch(r"(\d{1,10})([KkMm]?)", text.strip())
    n = int(m.group(1)) * {"": 1, "k": 1024, "m": 1 << 20}[m.group(2).lower()] if m else 0
    if not 8 * 1024 <= n <= 1 << 30:
        raise click.BadParameter(f"{text!r} is not a heap size from 8K to 1024M (e.g. 64K)",
                                 param_hint="--heap")
    return f"{n // 1024}K" if n % 1024 == 0 else str(n)


def _writable(folder: str) -> None:
    """--flash: a folder we can create and write, or a clear error before the board starts."""
    import os
    import tempfile

    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        raise click.BadParameter(f"cannot write to {folder!r}: {e.strerror}", param_hint="--flash")


def _run_keys(board, keys: list[str], timeout: float) -> int:
    from sesame_tools.boardio.testlink import LinkClient, LinkTimeout

    client = LinkClient(board.port)
    shown = [None]

    def show(ev) -> None:  # print each display change once
        if ev.name == "disp" and ev.arg != shown[0]:
            shown[0] = ev.arg
            click.echo(ev.arg)

    client.listener = show
    try:
        client.sync()
        client.send("!status")
        client.wait("disp")
        end = time.monotonic() + timeout
        for k in keys:  # each returns once handled, transaction included
            client.key(k, timeout=max(0.1, end - time.monotonic()))
        state = [ev.arg for ev in client.history if ev.name == "state"][-1]
        while state not in ("code", "message", "off"):
            state = client.wait("state", timeout=max(0.1, end - time.monotonic())).arg
            if state != "off":
                client.wait("disp")  # the new state's text follows it
        return 0 if state == "code" else 1
    except (LinkTimeout, RuntimeError) as e:
        click.echo(f"error: {e}", err=True)
        other = client.other  # from the board's last traceback on, if it printed one
        tb = [i for i, x in enumerate(other) if x.startswith("Traceback (most recent")]
        for text in (board.errors(), "\n".join(other[tb[-1] if tb else 0:])):
            if text.strip():
                click.echo(text.rstrip(), err=True)
        return 2
    finally:
        client.close()
