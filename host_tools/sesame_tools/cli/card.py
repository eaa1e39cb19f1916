"""`sesame card`: a virtual card's profile and state; --reset restores its PIN tries and
repairs damaged state files."""

from __future__ import annotations

import click

from sesame_tools.cli.common import CARD_HELP, load_card


def repair_hint(card: str | None) -> str:
    return "sesame card " + (f"--card {card} " if card else "") + "--reset"


@click.command()
@click.option("--card", help=CARD_HELP)
@click.option("--reset", is_flag=True, help="Restore the PIN try counter to its limit; a "
              "damaged card or issuer state file is written anew (the issuer then accepts "
              "only codes after the card's transaction counter).")
def card(card, reset) -> None:
    """Show a virtual card's profile and state (transaction counter, PIN tries)."""
    from sesame_tools.vcard import state as states
    from sesame_tools.vcard.server import state_path

    p = load_card(card)
    path = state_path(p)
    try:
        st = states.CardState(path, p.atc, p.pin_try_limit)
    except states.StateError as e:
        if not reset:
            raise click.ClickException(f"card state {e}: `{repair_hint(card)}` writes a new one")
        st = _new_card_state(p, path, e)
    except OSError as e:
        raise click.ClickException(f"card state {path}: {e.strerror}")
    if reset:
        _repair_issuer(p, st.atc)
        st.pin_tries = p.pin_try_limit
        _save(st)
    click.echo(f"card:      {p.name} ({p.path})")
    click.echo(f"AID:       {p.aid.hex().upper()}  PAN {p.pan}  PSN {p.psn}")
    click.echo(f"ATC:       {st.atc}")
    click.echo(f"PIN tries: {st.pin_tries} of {p.pin_try_limit}")
    click.echo(f"state:     {st.path}")


def _save(st) -> None:
    try:
        st.save()
    except OSError as e:
        raise click.ClickException(f"cannot write {st.path}: {e.strerror}")


def _new_card_state(p, path, err):
    """A damaged card state file replaced: the counter goes on after the issuer's last
    accepted one (so the next code is accepted), or starts at the profile's."""
    from sesame_tools.issuer import check as issuer
    from sesame_tools.vcard import state as states

    try:
        atc = max(p.atc, issuer.read_record(issuer.issuer_state_path(p), p)["last_atc"])
    except (states.StateError, OSError):
        atc = p.atc
    _clear(path)
    st = states.CardState(path, atc, p.pin_try_limit)
    click.echo(f"card state {err}: written anew, ATC {atc}", err=True)
    return st


def _repair_issuer(p, atc: int) -> None:
    """A damaged issuer record rewritten to accept only codes after the card's ATC."""
    from sesame_tools.issuer import check as issuer
    from sesame_tools.vcard import state as states

    path = issuer.issuer_state_path(p)
    try:
        issuer.read_record(path, p)
        return
    except states.StateError as e:
        _clear(path)
        try:
            states.write(path, {"last_atc": atc, "accepted": [], "used": []})
        except OSError as x:
            raise click.ClickException(f"cannot write {path}: {x.strerror}")
        click.echo(f"issuer state {e}: written anew, accepting codes after ATC {atc} only",
                   err=True)
    except OSError as e:
        raise click.ClickException(f"issuer state {path}: {e.strerror}")


def _clear(path) -> None:
    """The damaged file (or whatever sits there: a directory, a FIFO) is kept beside it
    as NAME.damaged."""
    import os
    import shutil

    if os.path.lexists(path):
        aside = f"{path}.damaged"
        if os.path.isdir(aside) and not os.path.islink(aside):
            shutil.rmtree(aside, ignore_errors=True)
        elif os.path.lexists(aside):
            os.unlink(aside)
        os.replace(path, aside)
