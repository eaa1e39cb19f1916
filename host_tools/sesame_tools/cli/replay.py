"""`sesame replay`: run the firmware's CAP engine against a recorded trace."""

from __future__ import annotations

import json
import sys

import click

from sesame_tools.cli.common import mode_inputs, mode_options


def _split_args(args: tuple, data: tuple) -> tuple[str, tuple]:
    """TRACE.json and the data fields typed after `--data F1` (`--data F1 F2 F3`): the
    positional arguments made of digits (and commas) are fields, the other is the file."""
    fields = [a for a in args if a.replace(",", "").isdigit()]
    files = [a for a in args if a not in fields]
    if fields and not data:
        raise click.UsageError(f"unexpected argument {fields[0]!r} (data fields go after --data)")
    if len(files) != 1:
        raise click.UsageError("give one TRACE.json" if not files else
                               f"one TRACE.json only, got {', '.join(files)}")
    try:
        click.Path(exists=True, dir_okay=False).convert(files[0], None, None)
    except click.BadParameter as e:
        e.param_hint = "'TRACE.json'"
        raise
    return files[0], tuple(data) + tuple(fields)


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="TRACE.json")
@mode_options
@click.option("--json", "as_json", is_flag=True,
              help='Print the result as JSON: {"code", "atc", "aid", "label", "tries", "mode"}, or '
              '{"error", "message", "unmatched"}.')
def replay(args, mode, challenge, amount, data, as_json) -> None:
    """Replay TRACE.json (from `sesame trace`) through the reader's CAP engine and print
    the code.

    Give the same inputs as the recorded transaction (the mode key pressed and what was
    typed after the PIN); commands that differ (e.g. another challenge) find no recorded
    answer (6A82) and the replay fails. Exit code 0 with a code, 1 when the card's
    answers give none.

    \b
    Examples:
      sesame trace -p /dev/ttyACM0 -o id.json   (then CODE, PIN, OK on the reader)
      sesame replay id.json
      sesame replay resp.json --mode respond --challenge 12345678
      sesame replay sign.json --mode sign --amount 19.99 --ref 42
      sesame replay tds.json --mode sign --data 1234567890 42
    """
    from sesame.errors import CardError
    from sesame_tools.issuer import replay as rp

    trace_file, data = _split_args(args, data)
    inputs = mode_inputs(mode, challenge, amount, data)
    try:
        card = rp.ReplayCard(rp.load(trace_file))
    except rp.TraceError as e:
        raise click.ClickException(f"{trace_file}: {e}")
    try:
        res = rp.run(card, **inputs)
    except CardError as e:
        unmatched = list(card.unmatched)
        if as_json:
            click.echo(json.dumps({"error": type(e).__name__, "message": str(e),
                                   "unmatched": unmatched}))
        else:
            click.echo(f"error: {type(e).__name__}: {e}", err=True)
            if unmatched and not any(card.used):
                click.echo(f"the trace answers none of the reader's commands (first: "
                           f"{unmatched[0]}): is it a trace of a CAP transaction?", err=True)
            elif unmatched:
                click.echo(f"the trace has no answer to {unmatched[0]}: was it recorded "
                           "with other inputs? Give the same --mode, --challenge/--ref, "
                           "--amount or --data as the recorded transaction.", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"code": res.code, "atc": res.atc, "aid": res.aid.hex().upper(),
                               "label": res.label.decode("latin-1"), "tries": res.tries,
                               "mode": mode}))
    else:
        click.echo(res.code)
