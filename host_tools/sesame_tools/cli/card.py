"""`sesame card`: a virtual card's profile and state; --reset restores its PIN tries."""

from __future__ import annotations

import click

from sesame_tools.cli.common import CARD_HELP, load_card

@click.command()
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
