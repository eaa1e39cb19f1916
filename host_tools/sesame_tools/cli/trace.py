"""`sesame trace`: record the APDUs of one transaction on a test build, in the replay
format {"atr", "protocol", "exchanges": [{"c", "r"}]}. The reader masks the PIN block
of VERIFY itself ("2?FFFFFFFFFFFFFF"): the PIN never crosses the link. The cardholder's
data in the card's answers (PAN, track data, name, dates, IBAN/BIC, certificates) is zeroed
unless --keep-card-data: a trace can be shared, and replay needs none of it."""

from __future__ import annotations

import json
import sys
import time

import click

from sesame.emv import tlv
from sesame.errors import ProtocolError
from sesame_tools.boardio.testlink import Event, LinkClient, LinkTimeout
from sesame_tools.cli.common import PORT, Seconds, check_keys

# PAN, track 1, track 2 equivalent, cardholder name, expiry and effective dates, name
# extended, track 1/2 discretionary data, MasterCard track 2, IBAN, BIC, and the card's
# own public keys (ICC and ICC PIN encipherment certificates, which carry the PAN, and
# their remainders: unique to the card)
PERSONAL = {0x5A, 0x56, 0x57, 0x5F20, 0x5F24, 0x5F25, 0x9F0B, 0x9F1F, 0x9F20, 0x9F6B,
            0x5F53, 0x5F54, 0x9F46, 0x9F48, 0x9F2D, 0x9F2F}


class TraceError(click.ClickException):
    pass


class Recorder:
    """Collects @trace events into one trace (the first transaction that ends)."""

    def __init__(self):
        self.atr: str | None = None
        self.protocol = 0
        self.exchanges: list[dict] = []
        self.done = False
        self.states: list[str] = []
        self.shown: list[str] = []
        self._c: str | None = None

    def __call__(self, ev: Event) -> None:
        if ev.name == "state":
            self.states.append(ev.arg)
        elif ev.name == "disp":
            self.shown.append(ev.arg)
        if ev.name != "trace" or self.done:
            return
        kind, _, data = ev.arg.partition(" ")
        if kind == "atr":
            self.atr, self.exchanges, self._c = data, [], None
        elif kind == "proto":
            self.protocol = int(data)
        elif kind == "c":
            self._c = data
        elif kind == "r" and self._c is not None:
            self.exchanges.append({"c": self._c, "r": data})
            self._c = None
        elif kind == "end" and self.atr is not None:
            self.done = True

    def trace(self) -> dict:
        return {"atr": self.atr, "protocol": self.protocol, "exchanges": self.exchanges}


def _zero(buf: bytearray, start: int, end: int) -> None:
    for t, s, e in tlv.items(buf, start, end):
        if t in PERSONAL:
            buf[s:e] = bytes(e - s)
        elif tlv.constructed(t):
            _zero(buf, s, e)


def redact(trace: dict) -> dict:
    """The trace with the cardholder's data in the answers zeroed (lengths kept, so the
    templates still parse); an answer that is not TLV is kept as it is."""
    out = []
    for x in trace["exchanges"]:
        r = bytearray.fromhex(x["r"])
        try:
            _zero(r, 0, len(r) - 2)
        except ProtocolError:
            r = bytearray.fromhex(x["r"])
        out.append({"c": x["c"], "r": r.hex().upper()})
    return {**trace, "exchanges": out}


def record(client: LinkClient, keys: list[str] | None, timeout: float, echo=click.echo) -> dict:
    """Turns tracing on, runs (or waits for) one transaction, returns the trace."""
    rec = Recorder()
    client.listener = rec
    client.send("!info")
    info = client.wait("info", timeout=5).arg
    if "build=test" not in info:
        raise TraceError(f"the reader runs a production build ({info}); APDU traces need a "
                         "test build: sesame flash --port PORT --test-build")
    client.send("!trace on")
    ev = client.wait_any(("ok", "refused", "error"), timeout=5)
    if ev.name != "ok":
        raise TraceError(f"the reader refused tracing: {ev.arg}")
    try:
        if keys:
            for k in keys:
                client.key(k)
        else:
            echo("On the reader: insert the card, press CODE, type the PIN, press OK "
                 f"(waiting {timeout:g} s)...", err=True)
        end = time.monotonic() + timeout
        while not rec.done:
            if rec.states and rec.states[-1] == "message" and rec.atr is None:
                raise TraceError("the transaction failed before the card answered "
                                 f"(display: {rec.shown[-1] if rec.shown else '?'})")
            if time.monotonic() > end:
                raise TraceError(f"no transaction within {timeout:g} s")
            client.next_event(0.2)
    finally:
        client.send("!trace off")
    return rec.trace()


def _can_write(output: str) -> None:
    """-o: checked before the transaction is spent (the file is written after it)."""
    import os

    folder = os.path.dirname(os.path.abspath(output))
    if os.path.isdir(output) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise click.BadParameter(f"cannot write {output!r}", param_hint="-o")


@click.command()
@click.option("--port", "-p", type=PORT, required=True, help="The board's serial port.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the trace here (default: standard output).")
@click.option("--keys", help='Press these keys over the link instead of waiting for the user, '
              'e.g. "CODE 1 2 3 4 OK" (test builds).')
@click.option("--timeout", type=Seconds(1, 86400), default=120, show_default=True,
              help="Seconds to wait for the transaction.")
@click.option("--keep-card-data", is_flag=True,
              help="Keep the PAN, track data, name, dates, IBAN/BIC and the card's certificates "
              "in the saved answers (zeroed by default; replay does not need them).")
def trace(port, output, keys, timeout, keep_card_data) -> None:
    """Record the APDUs of one transaction, PIN masked, in the replay format.

    The reader (a board flashed with `sesame flash --test-build`, or the simulated
    board: `sesame sim --serve` prints its port) reports every command and answer of
    the next transaction; the PIN block of VERIFY is masked by the reader itself, and
    the cardholder's data (PAN, tracks, name, dates, IBAN/BIC, certificates) is zeroed in the file. Run it, then do the transaction on the reader (or give --keys). Replay the trace
    with `sesame replay TRACE.json` and the same mode and inputs.

    \b
    Examples:
      sesame trace -p /dev/ttyACM0 -o id.json
      sesame trace -p /dev/pts/5 -o resp.json --keys "RESPOND 1 2 3 4 OK 1 2 3 4 5 6 7 8 OK"
      sesame replay resp.json --mode respond --challenge 12345678
    """
    names = check_keys(keys) if keys else None
    if output:
        _can_write(output)
    client = LinkClient(port)
    try:
        client.sync()
        t = record(client, names, timeout)
    except LinkTimeout as e:
        raise TraceError(f"the reader does not answer: {e}")
    finally:
        client.close()
    if not keep_card_data:
        t = redact(t)
    text = json.dumps(t, indent=1) + "\n"
    if output:
        try:
            with open(output, "w") as f:
                f.write(text)
        except OSError as e:
            sys.stdout.write(text)  # the transaction is spent: keep its trace
            raise TraceError(f"cannot write {output}: {e.strerror} (the trace went to "
                             "standard output)")
        click.echo(f"{len(t['exchanges'])} exchanges (ATR {t['atr']}) written to {output}",
                   err=True)
    else:
        sys.stdout.write(text)
