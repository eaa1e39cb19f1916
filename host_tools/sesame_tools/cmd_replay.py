"""`sesame replay`: run the firmware's CAP engine against a recorded trace."""

from __future__ import annotations

import json
import sys

import click

from sesame_tools.cli import mode_inputs, mode_options


@click.command()
@click.argument("trace_file", metavar="TRACE.json", type=click.Path(exists=True, dir_okay=False))
@mode_options
@click.option("--pin", default="0000", show_default=True,
              help="PIN digits for VERIFY (a recorded VERIFY matches any PIN block).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def replay(trace_file, mode, challenge, amount, data, pin, as_json) -> None:
    """Replay TRACE.json (from `sesame trace`) through the reader's CAP engine and print
    the code. Give the same inputs as the recorded transaction: commands that differ
    (e.g. another challenge) find no recorded answer (6A82)."""
    from sesame.errors import CardError
    from sesame_tools import replay as rp

    inputs = mode_inputs(mode, challenge, amount, data)
    try:
        with open(trace_file) as f:
            trace = json.load(f)
        res = rp.run(trace, pin=pin, **inputs)
    except (ValueError, KeyError) as e:
        raise click.ClickException(f"bad trace or input: {e}")
    except CardError as e:
        if as_json:
            click.echo(json.dumps({"error": type(e).__name__, "message": str(e)}))
        else:
            click.echo(f"error: {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"code": res.code, "atc": res.atc, "aid": res.aid.hex().upper(),
                               "tries": res.tries, "mode": mode}))
    else:
        click.echo(res.code)
