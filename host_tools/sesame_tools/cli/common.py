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
    except (OSError, ValueError) as e:  # unreadable, not JSON, a key wrong (schema)
        raise click.ClickException(f"card profile {card or profiles.DEFAULT_CARD}: {e}")


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


class Seconds(click.ParamType):
    """A time in seconds: a finite number from lo to hi (click's FloatRange lets nan in)."""

    name = "seconds"

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def convert(self, value, param, ctx):
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not (self.lo <= v <= self.hi):  # false for nan too
            self.fail(f"{value!r} is not a number of seconds from {self.lo:g} to {self.hi:g}",
                      param, ctx)
        return v


class Port(click.ParamType):
    """A serial port name: not empty (an empty --port must not mean "no port")."""

    name = "port"

    def convert(self, value, param, ctx):
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            self.fail(f"{value!r} is not a serial port (e.g. /dev/ttyACM0)", param, ctx)
        return value


PORT = Port()


def check_keys(keys: str | None, hint: str = "--keys") -> list[str] | None:
    """The key names of a --keys option, or a usage error naming the first unknown one."""
    from sesame.reader.testlink import KEYS

    if keys is None:
        return None
    names = keys.split()
    for k in names:
        if k not in KEYS:
            raise click.BadParameter(f"unknown key {k[:20]!r} (keys: {' '.join(KEYS)})",
                                     param_hint=hint)
    if not names:
        raise click.BadParameter("no key given", param_hint=hint)
    return names
