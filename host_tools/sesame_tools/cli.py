"""The `sesame` command."""

from __future__ import annotations

import sys
import time

import click

from sesame_tools.vcard import profile as profiles

CARD_HELP = ("Card profile: a JSON file or a bundled card: visa_dpa (default), mc_cap, no_ipb, "
             "psn, t1_card.")


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
    from sesame_tools.simboard import SimBoard

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


def load_card(card: str | None) -> profiles.Profile:
    """A card profile, or a clean error saying what is wrong with it."""
    try:
        return profiles.load(card)
    except FileNotFoundError as e:
        raise click.ClickException(str(e))
    except (OSError, ValueError, KeyError) as e:
        raise click.ClickException(f"card profile {card or profiles.DEFAULT_CARD}: "
                                   + (f"no {e} field" if isinstance(e, KeyError) else str(e)))


def mode_options(f):
    """--mode, --challenge, --amount, --data: the inputs a reader takes for a code."""
    f = click.option("--data", "data", multiple=True, metavar="FIELDS",
                     help="Sign mode 2 (TDS): data fields of up to 10 digits, up to 10; "
                     "repeat the option or separate fields with commas or spaces.")(f)
    f = click.option("--amount", default="", metavar="A",
                     help="Sign: the amount in cents as typed (1234 = 12.34), or 12.34.")(f)
    f = click.option("--challenge", "--ref", "challenge", default="", metavar="N",
                     help="Respond: the challenge; Sign: the reference (up to 8 digits).")(f)
    f = click.option("--mode", type=click.Choice(["identify", "respond", "sign"]),
                     default="identify", show_default=True, help="The CAP mode.")(f)
    return f


def mode_inputs(mode: str, challenge: str, amount: str, data: tuple) -> dict:
    """Checked keyword arguments for the engine and the issuer (click errors otherwise)."""
    from sesame_tools.issuer import check_inputs

    amount = amount.strip()
    if "." in amount or "," in amount:
        units, _, cents = amount.replace(",", ".").partition(".")
        if not (units or "0").isdigit() or not cents.isdigit() or len(cents) > 2:
            raise click.BadParameter(f"{amount!r} is not an amount", param_hint="--amount")
        amount = str(int((units or "0") + cents.ljust(2, "0")))
    fields = tuple(x for d in data for x in d.replace(",", " ").split())
    try:
        check_inputs(mode, challenge, amount, fields)
    except ValueError as e:
        raise click.UsageError(str(e))
    if mode == "respond" and not challenge:
        raise click.UsageError("respond needs --challenge")
    if mode == "sign" and not fields and not amount:
        raise click.UsageError("sign needs --amount and --ref, or --data")
    return {"mode": mode, "challenge": challenge, "amount": amount, "data": fields}


@main.command()
@click.argument("code", nargs=-1, required=True)
@click.option("--card", help=CARD_HELP)
@mode_options
@click.option("--window", type=click.IntRange(1, 0xFFFF), default=32, show_default=True,
              help="How many transaction counters after the last accepted one to try.")
def verify(code, card, mode, challenge, amount, data, window) -> None:
    """Check CODE as the card's issuer would: accepted once, then refused.

    The code may be typed "1234 5678" or 12345678. Give the inputs the reader took:
    --mode respond --challenge N; --mode sign --amount A --ref N; --mode sign --data F1,F2.
    Exit code 0 only when accepted; "replayed" for a code already accepted, "rejected"
    for a wrong code, other inputs, or a code from more than --window transactions on.
    The issuer's state (the last accepted counter) is kept per card in
    $SESAME_STATE_DIR (default ~/.local/state/sesame).
    """
    from sesame_tools import issuer

    inputs = mode_inputs(mode, challenge, amount, data)
    if len(code) > 2:  # e.g. `--data 1234 42 0891 9705`: the fields ran into the code
        raise click.UsageError("CODE is one number, or two groups (\"1234 5678\"); give "
                               "--data fields separated by commas or repeat --data")
    p = load_card(card)
    try:
        result, atc = issuer.verify(p, " ".join(code), window=window, **inputs)
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

    p = load_card(card)
    st = CardState(state_path(p), p.atc, p.pin_try_limit)
    if reset:
        st.pin_tries = p.pin_try_limit
        st.save()
    click.echo(f"card:      {p.name} ({p.path})")
    click.echo(f"AID:       {p.aid.hex().upper()}  PAN {p.pan}  PSN {p.psn}")
    click.echo(f"ATC:       {st.atc}")
    click.echo(f"PIN tries: {st.pin_tries} of {p.pin_try_limit}")
    click.echo(f"state:     {st.path}")


from sesame_tools.cmd_atr import atr  # noqa: E402
from sesame_tools.cmd_flash import flash  # noqa: E402
from sesame_tools.cmd_hil import hil  # noqa: E402
from sesame_tools.cmd_monitor import monitor  # noqa: E402
from sesame_tools.cmd_replay import replay  # noqa: E402
from sesame_tools.cmd_trace import trace  # noqa: E402
from sesame_tools.emu.command import emu  # noqa: E402

for _cmd in (atr, flash, monitor, trace, hil, replay, emu):
    main.add_command(_cmd)

if __name__ == "__main__":
    main()
