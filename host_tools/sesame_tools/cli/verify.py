"""`sesame verify`: check a code as the card's issuer would."""

from __future__ import annotations

import sys

import click

from sesame_tools.cli.common import CARD_HELP, load_card, mode_inputs, mode_options

@click.command()
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
    from sesame_tools.issuer import check as issuer

    inputs = mode_inputs(mode, challenge, amount, data)
    if len(code) > 2:  # e.g. `--data 1234 42 0891 9705`: the fields ran into the code
        raise click.UsageError("CODE is one number, or two groups (\"1234 5678\"); give "
                               "--data fields separated by commas or repeat --data")
    from sesame_tools.cli.card import repair_hint
    from sesame_tools.vcard.state import StateError

    p = load_card(card)
    try:
        result, atc = issuer.verify(p, " ".join(code), window=window, **inputs)
    except StateError as e:
        raise click.ClickException(f"issuer state {e}: no code is accepted until "
                                   f"`{repair_hint(card)}` repairs it")
    except OSError as e:
        raise click.ClickException(f"issuer state: {e.filename}: {e.strerror}")
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="CODE")
    if result == issuer.ACCEPTED:
        click.echo(f"accepted (ATC {atc})")
        return
    click.echo(result + (f" (ATC {atc} was already used)" if atc is not None else ""))
    sys.exit(1)
