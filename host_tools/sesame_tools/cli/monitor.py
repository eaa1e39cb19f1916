"""`sesame monitor`: the reader's test-link events, readable."""

from __future__ import annotations

import time

import click

from sesame_tools.boardio.testlink import Event, LinkClient
from sesame_tools.cli.common import PORT, Seconds

CARD = {"in": "card inserted", "out": "card removed"}


def describe(ev: Event) -> str:
    """One event as a person reads it."""
    n, a = ev.name, ev.arg
    if n == "ready":
        return f"reader started: {a}"
    if n == "info":
        return f"reader: {a}"
    if n == "disp":
        return f"display  [{a:^9}]"
    if n == "state":
        return f"state    {a}"
    if n == "card":
        return CARD.get(a, f"card {a}")
    if n == "off":
        return "switched off"
    if n == "trace":
        kind, _, data = a.partition(" ")
        return {"c": f"  card <- {data}", "r": f"  card -> {data}", "atr": f"  ATR {data}",
                "proto": f"  protocol T={data}", "end": "  card deactivated"}.get(kind, a)
    if n in ("ok", "refused", "error"):
        return f"{n}: {a}"
    return ev.line


@click.command()
@click.option("--port", "-p", type=PORT, required=True, help="The board's serial port.")
@click.option("--timeout", type=Seconds(0, 10 ** 7),
              help="Stop after this many seconds (default: Ctrl-C).")
@click.option("--trace", "with_trace", is_flag=True,
              help="Also show each APDU of a transaction (test builds).")
@click.option("--raw", is_flag=True, help="Print the lines as they come.")
def monitor(port, timeout, with_trace, raw) -> None:
    """Show what the reader does: display, state, card events (and APDUs with --trace)."""
    client = LinkClient(port)
    t0 = time.monotonic()
    end = t0 + timeout if timeout else None

    def show(ev: Event) -> None:
        stamp = f"{time.monotonic() - t0:8.3f}"
        click.echo(ev.line if raw else f"{stamp}  {describe(ev)}")

    client.listener = show
    client.on_other = lambda line: click.echo(line if raw else f"{'':8}  | {line}")
    try:
        client.send("!info")
        client.send("!status")
        if with_trace:
            client.send("!trace on")
        while end is None or time.monotonic() < end:
            left = 0.2 if end is None else max(0.0, min(0.2, end - time.monotonic()))
            client.next_event(left)
    except KeyboardInterrupt:
        pass
    finally:
        if with_trace:
            try:
                client.send("!trace off")
            except Exception:
                pass
        client.close()
