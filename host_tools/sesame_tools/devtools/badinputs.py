"""Bad inputs to every `sesame` command: damaged profiles, traces and state files, FIFOs,
/dev/zero, huge and deeply nested files, unwritable paths, empty and odd ports, options
out of range, keys that are not ASCII. Each case runs the real command line (click's
`main`, in a forked child so a run starts in milliseconds) with a timeout and is counted:

  clean      exit 0, 1 or 2 (click's usage errors are 2) and no Python traceback
  traceback  a "Traceback (most recent call last)" on stderr, or another exit status
  hang       still running after the timeout (killed)

A case with `until` (a command that serves, as `sesame emu`) is stopped with SIGTERM once
that text is on its standard output, and is then clean if it ends by itself (and without a
traceback) within its timeout.

`python -m sesame_tools.devtools.badinputs` runs every case and prints the counts per
command; `--quick N` runs a seeded sample of N (what `make test` does), `--seed S` picks
it. Exit status 1 when any case gave a traceback or hung (each one is listed).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sesame_tools.devtools.badcases import Case, all_cases

TRACEBACK = "Traceback (most recent call last)"
# exit statuses a command documents beyond 0/1/2: hil's 3 = stopped (the card refused the PIN)
EXTRA_OK = {"hil": {3}}


@dataclass
class Outcome:
    case: Case
    kind: str  # clean, traceback, hang
    status: int | None
    seconds: float
    stderr: str


# -- running them --------------------------------------------------------------------


def _child(case: Case, state_dir: Path, out: Path, err: Path) -> None:
    # In the forked child: the command line as a shell would run it.
    fd = os.open(case.stdin, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    os.dup2(fd, 0)
    for path, target in ((out, 1), (err, 2)):
        f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, target)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    os.environ["SESAME_STATE_DIR"] = str(state_dir)
    os.environ.pop("SESAME_PIN", None)
    os.environ.update(case.env)
    os.setsid()  # a group of its own: a timeout kills the board it started too
    code = 0
    try:
        from sesame_tools.cli import main

        main.main(case.args, prog_name="sesame", standalone_mode=True)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 70
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)


def _prepare_state(case: Case, d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, content in case.state.items():
        if name.endswith("/"):
            (d / name.rstrip("/")).mkdir()
        else:
            (d / name).write_bytes(content)


def run_cases(cases: list[Case], work: Path, jobs: int = 2, echo=print) -> list[Outcome]:
    """Runs the cases, `jobs` at a time; returns their outcomes in order."""
    import shutil

    results: list[Outcome | None] = [None] * len(cases)
    running: dict[int, tuple[int, float, Path]] = {}  # pid -> (index, start, run dir)
    stopped: set[int] = set()  # pids sent SIGTERM on their `until` text
    todo = list(range(len(cases)))
    while todo or running:
        while todo and len(running) < jobs:
            i = todo.pop(0)
            d = work / f"run-{i}"
            shutil.rmtree(d, ignore_errors=True)
            _prepare_state(cases[i], d / "state")
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                try:
                    os.chdir(d)
                    _child(cases[i], d / "state", d / "out", d / "err")
                finally:
                    os._exit(71)
            running[pid] = (i, time.monotonic(), d)
        time.sleep(0.005)
        for pid, (i, t0, d) in list(running.items()):
            took = time.monotonic() - t0
            done, status = os.waitpid(pid, os.WNOHANG)
            until = cases[i].until
            if not done and until and pid not in stopped and (d / "out").exists() and \
                    until in (d / "out").read_text(errors="replace"):
                os.kill(pid, signal.SIGTERM)  # the command's own clean stop
                stopped.add(pid)
            if not done and took < cases[i].timeout:
                continue
            if not done:
                _kill_group(pid)
                os.waitpid(pid, 0)
                kind, code = "hang", None
            else:
                code = os.waitstatus_to_exitcode(status)
                kind = "clean"
            err = (d / "err").read_text(errors="replace") if (d / "err").exists() else ""
            if kind == "clean" and (TRACEBACK in err or code not in
                                    {0, 1, 2} | EXTRA_OK.get(cases[i].command, set())):
                kind = "traceback"
            _kill_group(pid)  # whatever the command left running (a simulated board)
            results[i] = Outcome(cases[i], kind, code, took, err)
            del running[pid]
            stopped.discard(pid)
            shutil.rmtree(d, ignore_errors=True)
    return [r for r in results if r is not None]


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def report(outcomes: list[Outcome], echo=print) -> bool:
    """Prints the counts per command and every failure; True when all were clean."""
    by: dict[str, dict[str, int]] = {}
    for o in outcomes:
        c = by.setdefault(o.case.command, {"clean": 0, "traceback": 0, "hang": 0})
        c[o.kind] += 1
    total = {k: sum(c[k] for c in by.values()) for k in ("clean", "traceback", "hang")}
    echo(f"bad inputs: {len(outcomes)} runs, {total['clean']} clean, "
         f"{total['traceback']} tracebacks, {total['hang']} hangs")
    for cmd in sorted(by):
        c = by[cmd]
        echo(f"  {cmd:8} {sum(c.values()):4} runs: {c['clean']} clean, "
             f"{c['traceback']} tracebacks, {c['hang']} hangs")
    bad = [o for o in outcomes if o.kind != "clean"]
    for o in bad:
        last = [ln for ln in o.stderr.strip().splitlines() if ln.strip()][-1:] or [""]
        echo(f"  {o.kind.upper():9} {o.case.what}: sesame {' '.join(a[:30] for a in o.case.args)}"
             f" (exit {o.status}, {o.seconds:.1f} s) {last[0][:200]}")
    return not bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", type=int, metavar="N", help="run a seeded sample of N cases")
    ap.add_argument("--seed", type=int, help="the sample's seed (default: random, printed)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--only", help="only the cases of this command")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sesame-badinputs-") as tmp:
        work = Path(tmp)
        cases = all_cases(work)
        if a.only:
            cases = [c for c in cases if c.command == a.only]
        if a.quick:
            seed = a.seed if a.seed is not None else random.randrange(1 << 30)
            print(f"bad inputs: seed {seed}, {a.quick} of {len(cases)} cases")
            cases = random.Random(seed).sample(cases, min(a.quick, len(cases)))
        t0 = time.monotonic()
        ok = report(run_cases(cases, work, a.jobs))
        print(f"bad inputs: {time.monotonic() - t0:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
