"""The `sesame` command."""

from __future__ import annotations

import sys
import time

import click

from sesame_tools.vcard import profile as profiles

CARD_HELP = "Card profile: a JSON file or a bundled card name (default: visa_dpa)."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sesame-reader")
def main() -> None:
    """Sésame: an open EMV-CAP reader. Host tools for the simulated and real boards."""


@main.command()
@click.option("--card", help=CARD_HELP)
@click.option("--keys", help='Press these keys, e.g. "CODE 1 2 3 4 OK", print each display '
              "change and exit once a code (exit 0) or an error (exit 1) is shown.")
@click.option("--serve", is_flag=True, help="Print the board's serial port and run until "
              "interrupted (for HIL tests and mpremote).")
@click.option("--auto-off", type=float, default=35, show_default=True,
              help="Seconds before the reader switches itself off.")
@click.option("--production", is_flag=True, help="Production build: refuses key injection.")
@click.option("--heap", help="Cap the MicroPython heap, e.g. 64K.")
@click.option("--timeout", type=float, default=30, show_default=True,
              help="With --keys: give up after this many seconds.")
def sim(card, keys, serve, auto_off, production, heap, timeout) -> None:
    """Run the reader on the simulated board with a virtual card.

    With no option it is interactive: the display is drawn in the terminal, digits type
    a PIN, c = CODE, Enter = OK, Backspace = CLEAR, i = insert/remove the card, q = quit.
    """
    from sesame_tools.simboard import SimBoard

    try:
        board = SimBoard(card, auto_off_s=auto_off, test_build=not production, heap=heap)
    except FileNotFoundError as e:
        raise click.ClickException(str(e))
    with board:
        if keys is not None:
            sys.exit(_run_keys(board, keys.split(), timeout))
        if serve:
            click.echo(f"port: {board.port}", err=False)
            sys.stdout.flush()
            try:
                while board.alive():
                    time.sleep(0.2)
            except KeyboardInterrupt:
                return
            raise click.ClickException("the simulated board stopped:\n" + board.errors())
        from sesame_tools.demo import run_demo

        run_demo(board)


def _run_keys(board, keys: list[str], timeout: float) -> int:
    from sesame_tools.client import LinkClient, LinkTimeout

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


@main.command()
@click.argument("code", nargs=-1, required=True)
@click.option("--card", help=CARD_HELP)
@click.option("--window", type=int, default=20, show_default=True,
              help="How many transaction counters after the last accepted one to try.")
def verify(code, card, window) -> None:
    """Check CODE as the card's issuer would: accepted once, then refused.

    The code may be typed "1234 5678" or 12345678. Exit code 0 only when accepted.
    """
    from sesame_tools import issuer

    p = profiles.load(card)
    try:
        result, atc = issuer.verify(p, " ".join(code), window=window)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="CODE")
    if result == issuer.ACCEPTED:
        click.echo(f"accepted (ATC {atc})")
        return
    click.echo(result + (f" (ATC {atc} was already used)" if atc is not None else ""))
    sys.exit(1)


@main.command()
@click.option("--card", help=CARD_HELP)
@click.option("--reset", is_flag=True, help="Restore the PIN try counter to its limit.")
def card(card, reset) -> None:
    """Show a virtual card's profile and state (transaction counter, PIN tries)."""
    from sesame_tools.vcard.server import state_path
    from sesame_tools.vcard.state import CardState

    p = profiles.load(card)
    st = CardState(state_path(p), p.atc, p.pin_try_limit)
    if reset:
        st.pin_tries = p.pin_try_limit
        st.save()
    click.echo(f"card:      {p.name} ({p.path})")
    click.echo(f"AID:       {p.aid.hex().upper()}  PAN {p.pan}  PSN {p.psn}")
    click.echo(f"ATC:       {st.atc}")
    click.echo(f"PIN tries: {st.pin_tries} of {p.pin_try_limit}")
    click.echo(f"state:     {st.path}")


if __name__ == "__main__":
    main()
