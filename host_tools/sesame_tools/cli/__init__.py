"""The `sesame` command: one module per subcommand, its options next to its code."""

from __future__ import annotations

import click

from sesame_tools.cli.atr import atr
from sesame_tools.cli.card import card
from sesame_tools.cli.emu import emu
from sesame_tools.cli.flash import flash
from sesame_tools.cli.hil import hil
from sesame_tools.cli.monitor import monitor
from sesame_tools.cli.pcsc import pcsc
from sesame_tools.cli.replay import replay
from sesame_tools.cli.sim import sim
from sesame_tools.cli.trace import trace
from sesame_tools.cli.verify import verify


class Sesame(click.Group):
    """The command group; a damaged file or state folder met anywhere is one clean line."""

    def invoke(self, ctx):
        from sesame_tools.safefile import FileError
        from sesame_tools.vcard.profile import StateDirError
        from sesame_tools.vcard.state import StateError

        try:
            return super().invoke(ctx)
        except (FileError, StateError, StateDirError) as e:
            raise click.ClickException(str(e)) from None


@click.group(cls=Sesame, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sesame-reader")
def main() -> None:
    """Sésame: an open EMV-CAP reader. Host tools for the simulated and real boards."""


for _cmd in (sim, emu, verify, card, atr, flash, monitor, trace, hil, replay, pcsc):
    main.add_command(_cmd)

if __name__ == "__main__":
    main()
