"""`sesame emu`: the emulated Pico, served on a pty like `sesame sim --serve --blank`."""

from __future__ import annotations

import signal
import sys
import time

import click

from sesame_tools.cli.common import CARD_HELP, load_card
from sesame_tools.emu.emulator import EmuError, Emulator
from sesame_tools.emu.firmware import MissingPart
from sesame_tools.emu.options import MAX_ATR_EXTRA, FlashFileError


@click.command()
@click.option("--serve", is_flag=True, help="Print the board's serial port and run until "
              "interrupted (the default; the flag is accepted as for `sesame sim`).")
@click.option("--card", help=CARD_HELP)
@click.option("--no-card", is_flag=True, help="Start with the slot empty (insert it with a "
              "\"!card in\" line on the serial port).")
@click.option("--flash", "flash_file", type=click.Path(dir_okay=False),
              help="Keep the Pico's 2 MB flash image in this file between runs (the "
              "MicroPython .uf2 is written over it at each start; the filesystem stays).")
@click.option("--fast", is_flag=True, help="Let emulated time run ahead of the wall clock "
              "when the CPU sleeps (host programs' timeouts may then be too short).")
@click.option("--atr-clocks", type=int, help="Card: RST rising to its ATR, in clock cycles "
              "(400..40000; default 5000).")
@click.option("--char-etu", type=float, help="Card: start-to-start spacing of its characters "
              "(>= 12 etu, 11 for a T=1 card with TC1 = 255; default 12).")
@click.option("--answer-etu", type=float, help="Card: the reader's last start bit to the "
              "card's first answer (>= 16 etu; default 16).")
@click.option("--bit-error-etu", type=float, help="Card: where its 10th bit boundary lands "
              "against its clock, in etu (-0.2..0.2; default 0).")
@click.option("--error-len-etu", type=float, help="Card: length of its error signal "
              "(1..2 etu; default 1.5).")
@click.option("--tck", is_flag=True, help="Card: send a TCK after an ATR that offers T=0 only.")
@click.option("--atr-extra", metavar="HEX", help="Card: bytes it sends after its ATR (hex, "
              f"at most {MAX_ATR_EXTRA}).")
@click.option("--log-card", is_flag=True, help="Print what the card sees on its contacts "
              "(resets, characters, error signals) on stderr.")
def emu(serve, card, no_card, flash_file, fast, atr_clocks, char_etu, answer_etu,
        bit_error_etu, error_len_etu, tck, atr_extra, log_card) -> None:
    """An emulated Raspberry Pi Pico (RP2040 in rp2040js, MicroPython v1.28.0) with a card
    at its pins: prints its USB serial port and runs until interrupted.

    Flash it like a Pico: `sesame flash --port <port> --board pico --test-build`; mpremote,
    `sesame monitor`, `sesame trace` and `sesame hil --port` work on it. The firmware comes
    from $SESAME_PICO_UF2, else ../shared/rp2/ next to the checkout.
    """
    timing = {k: v for k, v in (("atr_clocks", atr_clocks), ("char_etu", char_etu),
                                ("answer_etu", answer_etu), ("bit_error_etu", bit_error_etu),
                                ("error_len_etu", error_len_etu), ("atr_extra", atr_extra))
              if v is not None}
    if tck:
        timing["tck"] = True
    profile = load_card(card)
    try:
        board = Emulator(profile, inserted=not no_card, flash_file=flash_file, timing=timing,
                         fast=fast, events=log_card)
    except FlashFileError as e:
        raise click.BadParameter(str(e), param_hint="--flash")
    except ValueError as e:
        raise click.UsageError(str(e))
    except OSError as e:  # the card's state folder
        raise click.ClickException(str(e))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # clean up (and save) on `kill`
    try:
        board.start()
    except (MissingPart, EmuError) as e:
        raise click.ClickException(str(e))
    try:
        click.echo(f"port: {board.port}")
        sys.stdout.flush()
        shown = 0
        while board.alive():
            time.sleep(0.2)
            if log_card:
                events = board.card_events
                for e in events[shown:]:
                    extra = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("ev", "t", "what"))
                    click.echo(f"card {e['t'] / 1e6:10.3f} ms  {e['what']} {extra}".rstrip(), err=True)
                shown = len(events)
    except KeyboardInterrupt:
        return
    finally:
        errors = board.errors()
        alive = board.alive()
        board.stop()
    if not alive:
        raise click.ClickException("the emulated Pico stopped:\n" + errors)
