"""What several commands share: the card option, loading a profile with clean errors, and
the CAP mode inputs (--mode, --challenge/--ref, --amount, --data)."""

from __future__ import annotations

import click

from sesame_tools.vcard import profile as profiles

CARD_HELP = ("Card profile: a JSON file or a bundled card: " + ", ".join(
    [f"{profiles.DEFAULT_CARD} (default)"] + sorted(
        p.stem for p in profiles.cards_dir().glob("*.json") if p.stem != profiles.DEFAULT_CARD))
    + ".")


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
    from sesame_tools.issuer.check import check_inputs

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
