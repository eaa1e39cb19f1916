"""`sesame sim`: the reader on the simulated board (interactive, --keys, --serve, --blank)."""

from __future__ import annotations

import sys
import time

import click

from sesame_tools.cli.common import CARD_HELP


@click.command()
@click.option("--card", help=CARD_HELP)
@click.option("--keys", help='Press these keys, e.g. "CODE 1 2 3 4 OK", print each display '
              "change and exit once a code (exit 0) or an error (exit 1) is shown.")
@click.option("--serve", is_flag=True, help="Print the board's serial port (and its PC/SC "
              "channel, `pcsc: PTY`) and run until interrupted (for HIL tests, mpremote, "
              "pcscd).")
@click.option("--auto-off", type=float, default=35, show_default=True,
              help="Seconds before the reader switches itself off.")
@click.option("--production", is_flag=True, help="Production build: refuses key injection.")
@click.option("--heap", help="Cap the MicroPython heap, e.g. 64K.")
@click.option("--timeout", type=float, default=30, show_default=True,
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

    try:
        board = SimBoard(card, auto_off_s=auto_off, test_build=not production, heap=heap,
                         firmware="blank" if blank else "source", flash_dir=flash_dir)
    except FileNotFoundError as e:
        raise click.ClickException(str(e))
    with board:
        if keys is not None:
            sys.exit(_run_keys(board, keys.split(), timeout))
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
        for k in keys:
            client.key(k)  # returns once handled, transaction included
        state = [ev.arg for ev in client.history if ev.name == "state"][-1]
        end = time.monotonic() + timeout
        while state not in ("code", "message", "off"):
            state = client.wait("state", timeout=max(0.1, end - time.monotonic())).arg
            if state != "off":
                client.wait("disp")  # the new state's text follows it
        return 0 if state == "code" else 1
    except (LinkTimeout, RuntimeError) as e:
        click.echo(f"error: {e}", err=True)
        for text in (board.errors(), "\n".join(client.other)):
            if text.strip():
                click.echo(text.rstrip(), err=True)
        return 2
    finally:
        client.close()
