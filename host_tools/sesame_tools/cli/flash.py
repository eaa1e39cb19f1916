"""`sesame flash`: its options; the work is sesame_tools.boardio.flasher.Flasher."""

from __future__ import annotations

import json

import click

from sesame_tools.boardio.flasher import BOARDS, Flasher
from sesame_tools.cli.common import PORT

@click.command()
@click.option("--port", "-p", type=PORT, required=True,
              help="The board's serial port, e.g. /dev/ttyACM0.")
@click.option("--board", type=click.Choice(list(BOARDS)),
              help="Board type (default: from the platform MicroPython reports).")
@click.option("--wiring", type=click.Choice(["direct", "tda8024"]),
              help="Card wiring (see boards/<board>/README.md); kept from the last flash "
              "when not given (the board's default: direct).")
@click.option("--display", type=click.Choice(["max7219", "ssd1306"]),
              help="Display (default: what the board's config says, else max7219).")
@click.option("--set", "extra", multiple=True, metavar="KEY=VALUE",
              help="Another config.json setting, e.g. --set auto_off_s=60 (JSON values).")
@click.option("--test-build", is_flag=True,
              help="Test build: the host may inject keys and trace APDUs. Default: production.")
@click.option("--deps-from", type=click.Path(exists=True, file_okay=False),
              help="Install dependencies from this folder (offline): DIR/<pkg>/package.json, "
              "or a mirror of the micropython-lib index.")
@click.option("--mip-index", help="micropython-lib index URL (default: mpremote's).")
def flash(port, board, wiring, display, extra, test_build, deps_from, mip_index) -> None:
    """Flash the firmware onto a MicroPython board (only changed files are copied).

    The board's config.json keeps its other settings; --test-build, --wiring, --display
    and --set change it."""
    settings = {"display": display} if display else {}
    for item in extra:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        try:
            settings[key] = json.loads(value)
        except ValueError:
            settings[key] = value
    if {"card", "board", "test_build"} & set(settings):
        raise click.BadParameter("card, board and test_build are not settable", param_hint="--set")
    Flasher(port, board, test_build, wiring, deps_from, mip_index, settings=settings).run()
