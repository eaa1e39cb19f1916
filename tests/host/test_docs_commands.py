"""The commands the READMEs quote are true: every `$ .venv/bin/sesame ...` example in a
fenced block is run, in order, and its output compared with the lines quoted under it
(a line `...` stands for any lines, `...` or `…` inside a line for any text; a note
`# exit code N` after an output line is the exit status expected, else 0). Each chain of
READMEs starts on a fresh $SESAME_STATE_DIR (a new card, an issuer that has seen no
code), so codes and transaction counters come out as quoted. A command running in the
background (`&`) is started and stopped with its chain; the port it prints replaces the
one the README shows. Commands that need what is not here (a real board, MicroPython's
source tree) are skipped, each with its reason."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCS = sorted(p for p in subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True,
                                        text=True, check=True).stdout.split())
# Each chain: the READMEs whose commands follow on from each other (host_tools checks the
# codes the firmware README's transactions gave).
CHAINS = {
    "README": ["README.md"],
    "firmware-then-host_tools": ["firmware/README.md", "host_tools/README.md"],
    "boards": ["boards/README.md"],
    "tests": ["tests/README.md"],
    "emu": ["host_tools/sesame_tools/emu/README.md"],
}
NOT_HERE = [  # (pattern in the command, why it cannot run here)
    (r"(--port|connect) /dev/tty", "needs a real board on its serial port"),
    (r"^make -C ports/", "needs MicroPython's source tree and a cross compiler"),
    (r"sesame emu\b|/dev/pts/N", "needs the emulated Pico running (tests/emu runs these "
     "commands against it)"),
    (r"^pcsc_scan", "needs the system's pcscd with the board's reader (tests/pcsc runs it "
     "against a private one)"),
]
FENCE = re.compile(r"^( *)```")
NOTE = re.compile(r"\s{2,}#.*$")  # "replayed (...)          # exit code 1"


class Example:
    def __init__(self, doc: str, line: int, command: str, expected: list[str]):
        self.doc, self.line, self.command = doc, line, command
        self.rc = 0
        self.expected = []
        for out in expected:
            m = re.search(r"#\s*exit code (\d+)", out)
            if m:
                self.rc = int(m.group(1))
            self.expected.append(NOTE.sub("", out).rstrip())
        self.why_not = next((why for pat, why in NOT_HERE if re.search(pat, command)), None)

    def __repr__(self) -> str:
        return f"{self.doc}:{self.line}"


def examples(doc: str) -> list[Example]:
    """The `$ ` commands of the fenced blocks of a README, with the lines under each."""
    out: list[Example] = []
    block: list[tuple[int, str]] | None = None
    indent = 0
    for n, line in enumerate((ROOT / doc).read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if fence and block is None:
            block, indent = [], len(fence.group(1))
        elif fence:
            out += _block_examples(doc, block)
            block = None
        elif block is not None:
            block.append((n, line[indent:]))
    return out


def _block_examples(doc: str, block: list[tuple[int, str]]) -> list[Example]:
    found: list[tuple[int, str, list[str]]] = []
    for n, line in block:
        if line.startswith("$ "):
            found.append((n, line[2:], []))
        elif found:
            found[-1][2].append(line)
    return [Example(doc, n, cmd, lines) for n, cmd, lines in found]


def matches(expected: list[str], actual: str) -> bool:
    pattern = ""
    for line in expected:
        if line.strip() in ("...", "…"):
            pattern += r"(?:[^\n]*\n)*?"
        else:
            parts = re.split(r"\.\.\.|…", line)
            pattern += r"[^\n]*?".join(re.escape(p) for p in parts) + r"[ \t]*\n"
    text = "".join(line.rstrip() + "\n" for line in actual.splitlines())
    return re.fullmatch(pattern, text) is not None


def test_every_readme_with_commands_is_in_a_chain():
    quoting = {doc for doc in DOCS if examples(doc)}
    chained = {doc for docs in CHAINS.values() for doc in docs}
    assert quoting <= chained, f"add to CHAINS: {sorted(quoting - chained)}"
    assert len([e for doc in chained for e in examples(doc)]) > 15  # the extraction works


def shell(command: str, env: dict, cwd: Path, **kw):
    command = command.replace(".venv/bin/", f"{BIN}/")
    return subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


@pytest.mark.parametrize("chain", CHAINS)
def test_quoted_commands_print_what_the_docs_say(chain, tmp_path):
    env = {**os.environ, "SESAME_STATE_DIR": str(tmp_path / "state")}
    env.pop("SESAME_PIN", None)
    background: list[subprocess.Popen] = []
    renames: dict[str, str] = {}
    wrong = []
    try:
        for ex in [e for doc in CHAINS[chain] for e in examples(doc)]:
            if ex.why_not:
                continue  # test_commands_that_cannot_run_here lists it
            command = ex.command
            for shown, real in renames.items():
                command = command.replace(shown, real)
            bare = NOTE.sub("", command).rstrip()
            if bare.endswith("&"):  # started for what follows: "port: X" replaces the shown X
                proc = shell(bare[:-1], env, tmp_path, start_new_session=True)
                background.append(proc)
                printed = proc.stdout.readline().strip()
                shown = re.search(r'prints "([^"]+)"', command)
                assert shown and printed.startswith("port: "), (ex, printed)
                renames[shown.group(1).split(": ", 1)[1]] = printed.split(": ", 1)[1]
                continue
            proc = shell(command, env, tmp_path)
            out, _ = proc.communicate(timeout=60)
            if proc.returncode != ex.rc or not matches(ex.expected, out):
                wrong.append(f"{ex}: $ {ex.command}\n  exit {proc.returncode} (expected "
                             f"{ex.rc}), printed:\n{out}  the docs say:\n"
                             + "\n".join(ex.expected))
    finally:
        for proc in background:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
    assert not wrong, "\n\n".join(wrong)


NOT_RUN = [e for docs in CHAINS.values() for doc in docs for e in examples(doc) if e.why_not]


@pytest.mark.parametrize("ex", NOT_RUN, ids=repr)
def test_commands_that_cannot_run_here(ex):
    pytest.skip(f"{ex.why_not}: $ {ex.command}")


def test_a_wrong_quote_is_found():
    assert matches(["rEAdY", "...", "0377 7341"], "rEAdY\nPIn\n-\n0377 7341\n")
    assert matches(['{"a": 1, ... "z": []}'], '{"a": 1, "b": 2, "z": []}\n')
    assert not matches(["rEAdY", "...", "0377 7342"], "rEAdY\nPIn\n-\n0377 7341\n")
    assert not matches(["accepted (ATC 1)"], "accepted (ATC 2)\n")
    assert not matches(["accepted (ATC 1)"], "accepted (ATC 1)\nand more\n")
