"""`sesame hil`: the hardware-in-the-loop suite (tests/hil) against a board, with a short
summary. Without --port it runs against the simulated board."""

from __future__ import annotations

import os
import sys
import time

import click

from sesame_tools.cli.common import PORT, Seconds
from sesame_tools.firmware import ROOT

HIL = ROOT / "tests" / "hil"


class Summary:
    """A pytest plugin that keeps each test's outcome (and a skip's reason)."""

    def __init__(self):
        self.results: list[tuple[str, str, str]] = []
        self.stopped = ""  # why the run was stopped (pytest.exit, Ctrl-C)

    def pytest_keyboard_interrupt(self, excinfo):
        self.stopped = str(getattr(excinfo.value, "msg", "") or "interrupted")

    def pytest_runtest_logreport(self, report):
        name = report.nodeid.split("::", 1)[-1]
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = report.outcome
            why = ""
            if report.skipped and isinstance(report.longrepr, tuple):
                why = str(report.longrepr[2]).removeprefix("Skipped: ")
            elif report.failed:
                why = (report.longreprtext or "").strip().splitlines()[-1:] or [""]
                why = why[0][:160]
                if report.when == "setup":
                    outcome = "error"
            self.results.append((name, outcome, why))
        elif report.when == "teardown" and report.failed:
            self.results.append((name, "error", "teardown failed"))


@click.command()
@click.option("--port", "-p", type=PORT,
              help="The board's serial port (default: the simulated board).")
@click.option("--pin", metavar="PIN",
              help="The inserted card's PIN (or $SESAME_PIN). With --port and no PIN given, "
              "it is asked without echo: a PIN typed here stays in the shell's history. "
              "Only with --port: the simulated board's card has 1234.")
@click.option("--spend-pin-tries", is_flag=True, help="Allow tests that present a wrong PIN "
              "(never below 2 tries left).")
@click.option("--prompt-timeout", type=Seconds(0, 3600), default=60, show_default=True,
              help="Seconds to wait for a physical action (insert the card...).")
@click.option("-k", "keyword", help="Only tests matching this pytest -k expression.")
@click.option("-v", "--verbose", is_flag=True, help="pytest's full output.")
def hil(port, pin, spend_pin_tries, prompt_timeout, keyword, verbose) -> None:
    """Run the HIL test suite against a board (test build) and summarise."""
    try:
        import pytest
    except ImportError:
        raise click.ClickException("the HIL suite needs pytest: pip install 'sesame-reader[test]'")
    if not HIL.is_dir():
        raise click.ClickException(f"the HIL suite is not here ({HIL}): run from a checkout")
    if port:  # a missing, busy or forbidden port: one clear message, not one per test
        from sesame_tools.boardio.repl import open_serial

        open_serial(port).close()
    if pin is not None and not port:
        raise click.UsageError("--pin is for a real board (--port); the simulated board's "
                               "card has the PIN 1234")
    if pin is None and port:
        pin = os.environ.get("SESAME_PIN") or click.prompt("PIN of the inserted card",
                                                           hide_input=True)
    elif pin is None:
        pin = "1234"  # the simulated board's card
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
        raise click.BadParameter("a PIN is 4 to 12 digits", param_hint="--pin")
    # the PIN goes to the suite in this process (pytest's --pin, tests/conftest.py): not on
    # a command line, and not in the environment, where the suite's own `sesame` runs
    # (tests/hil/test_flash.py) would inherit it
    args = [str(HIL), "-p", "no:cacheprovider", f"--rootdir={ROOT}", "--pin", pin,
            "--prompt-timeout", str(prompt_timeout), "--tb=short"]
    args += ["-v"] if verbose else ["-q", "--no-header", "-rN"]
    if port:
        args += ["--port", port]
    if spend_pin_tries:
        args.append("--spend-pin-tries")
    if keyword:
        args += ["-k", keyword]
    summary = Summary()
    t0 = time.monotonic()
    code = pytest.main(args, plugins=[summary])
    took = time.monotonic() - t0
    counts: dict[str, int] = {}
    # skips for one common reason (simulator powers, settings) become one line
    reasons: dict[str, list[str]] = {}
    for name, outcome, why in summary.results:
        if outcome == "skipped":
            reasons.setdefault(why.split(" {")[0], []).append(name)
    grouped = {r for r, names in reasons.items() if len(names) >= 3 and not verbose}
    click.echo(f"\nHIL against {port or 'the simulated board'}:")
    for name, outcome, why in summary.results:
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "skipped" and why.split(" {")[0] in grouped:
            continue
        mark = {"passed": "PASS", "failed": "FAIL", "skipped": "skip", "error": "ERR "}[outcome]
        click.echo(f"  {mark}  {name}" + (f"  ({why})" if why else ""))
    for r in sorted(grouped):
        click.echo(f"  skip  {len(reasons[r])} tests: {r}")
    parts = [f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped") if counts.get(k)]
    if summary.stopped:
        click.echo(f"  STOP  {summary.stopped}")
    click.echo(f"hil: {', '.join(parts) or 'no tests'} in {took:.1f} s"
               + (" (stopped early)" if summary.stopped else ""))
    if code == 0 and not counts.get("passed"):
        code = 1  # nothing was proven
    # pytest's own statuses as a command's: 4 (bad -k expression...) is a usage error, 5
    # (no test matched) nothing proven; 3 stays "stopped" (the card refused the PIN)
    code = {4: 2, 5: 1}.get(int(code), int(code))
    if code == 1 and not summary.results:
        click.echo("hil: no test matched" + (f" -k {keyword!r}" if keyword else ""), err=True)
    sys.exit(code)
