"""`sesame flash`: put the firmware on a MicroPython board.

Checks the board, compiles the firmware with mpy-cross for the board's bytecode version
and architecture, copies only the files whose SHA-256 differs on the board (each through
a temporary name, so a lost connection never leaves half a module: re-run to finish),
removes stale ones, installs micropython-lib dependencies with mpremote's `mip`, writes
config.json, soft-resets and waits for the firmware's @ready event.

Board dependencies: the "deps" of boards/<board>/package.json, the file with which
`mpremote mip install` puts the same firmware on a board as .py (see
sesame_tools.firmware); absent = none.
"""

from __future__ import annotations

import ast
import errno
import hashlib
import json
import time
from pathlib import Path

import click
import serial
from mpremote.transport import TransportError, TransportExecError

from sesame_tools.boardio.deps import board_deps, mip_install
from sesame_tools.boardio.repl import INSTALL_HELP, LINK_ERRORS, Board, BoardError, BoardInfo
from sesame_tools.boardio.mpybuild import CompileError, compile_mpy, version
from sesame_tools.firmware import board_files

MIN_VERSION = (1, 23, 0)
# --board: the sys.platform MicroPython reports on it, and the fallback -march
BOARDS = {"pico": ("rp2", "armv6m"), "esp32": ("esp32", "xtensawin"), "sim": ("linux", "x64")}
PLATFORM_BOARD = {p: b for b, (p, _) in BOARDS.items()}
CHUNK = 512  # bytes per raw-REPL write
BLOCK = 4096  # filesystem block: a file takes whole blocks


class LostConnection(BoardError):
    pass


def compile_files(files: dict[str, Path], arch: str | None, out: Path | None = None,
                  skipped: list[str] | None = None) -> dict[str, bytes]:
    """Board path -> the bytes to put there (.mpy compiled, the rest as is). A driver
    that does not compile for this architecture is left out (listed in `skipped`)."""
    result = {}
    skipped = [] if skipped is None else skipped
    for dest, src in files.items():
        if not dest.endswith(".mpy"):
            result[dest] = src.read_bytes()
            continue
        try:  # the name tracebacks show is fixed, so the bytes (and hash) are too
            result[dest] = compile_mpy(src, dest[:-4] + ".py", arch)
        except CompileError as e:
            if dest.startswith("drivers/"):  # another board's driver (inline assembler...)
                skipped.append(dest)
                continue
            raise click.ClickException(str(e))
    return result


_SURVEY = """
import os
try:
    import hashlib, binascii
    hashlib.sha256
except (ImportError, AttributeError):
    hashlib = None
def _h(p):
    try:
        st = os.stat(p)
    except OSError:
        return None
    if hashlib is None or st[0] & 0x4000:
        return (st[6], None)
    h = hashlib.sha256()
    b = bytearray(512)
    m = memoryview(b)
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(m[:n])
    return (st[6], binascii.hexlify(h.digest()).decode())
def _ls(d):
    r = []
    try:
        for e in (os.ilistdir(d) if d else os.ilistdir()):
            p = (d + '/' + e[0]) if d else e[0]
            if e[1] == 0x4000:
                r += _ls(p)
            else:
                r.append(p)
    except OSError:
        pass
    return r
_fs = os.statvfs('/')
print(repr(({p: _h(p) for p in %r}, _ls(''), _fs[0], _fs[4])))
"""


# Runs in the raw REPL's globals until the next soft reset. WDT() again returns the
# running watchdog (8 s, as firmware/sesame/panel/power.py starts it); a 1 s timer feeds it.
WATCHDOG_FEEDER = """
import machine, sys
_sesame_wdt = machine.WDT(timeout=8000)
_sesame_wdt.feed()
_sesame_feeder = machine.Timer(0 if sys.platform == 'esp32' else -1)
_sesame_feeder.init(period=1000, mode=machine.Timer.PERIODIC,
                    callback=lambda t: _sesame_wdt.feed())
"""


class Flasher:
    """One `sesame flash` run; `echo` prints progress, `on_copy(i, n, path)` is called
    before each file is copied and `on_chunk(path, written, size)` after each chunk of
    it reached the board (tests use them to pull the plug)."""

    def __init__(self, port: str, board: str | None = None, test_build: bool = False,
                 wiring: str | None = None, deps_from: str | None = None,
                 mip_index: str | None = None, echo=click.echo, on_copy=None,
                 ready_timeout: float = 20.0, settings: dict | None = None, on_chunk=None):
        self.port, self.board_name, self.test_build = port, board, test_build
        self.wiring, self.deps_from, self.mip_index = wiring, deps_from, mip_index
        self.echo, self.on_copy, self.ready_timeout = echo, on_copy, ready_timeout
        self.on_chunk = on_chunk
        self.settings = settings or {}  # more config.json keys (display, debounce_ms...)
        self.copied: list[str] = []
        self.unchanged: list[str] = []
        self.removed: list[str] = []
        self.ready: str | None = None
        self.missing: list[str] = []  # dependencies that could not be installed
        self._dirs: set[str] = set()  # folders made on the board during this run

    # -- steps -------------------------------------------------------------------

    def check(self, b: Board) -> BoardInfo:
        info = b.info()
        if info.impl != "micropython":
            raise BoardError(f"{self.port} runs {info.impl}, not MicroPython.\n" + INSTALL_HELP)
        if info.version < MIN_VERSION:
            raise BoardError(f"{self.port} runs MicroPython {'.'.join(map(str, info.version))}; "
                             "Sésame needs 1.23 or later.\n" + INSTALL_HELP)
        if info.mpy_version[0] != 6:
            raise BoardError(f"{self.port}: the board loads mpy v{info.mpy_version[0]}, "
                             "mpy-cross emits v6: update MicroPython on the board.\n" + INSTALL_HELP)
        found = PLATFORM_BOARD.get(info.platform)
        if self.board_name is None:
            if found is None:
                raise BoardError(f"unknown board platform {info.platform!r}: "
                                 f"say which with --board ({', '.join(BOARDS)})")
            self.board_name = found
        elif BOARDS[self.board_name][0] != info.platform:
            raise BoardError(f"{self.port} runs MicroPython for {info.platform}, not for "
                             f"{self.board_name}" + (f": use --board {found}" if found else ""))
        return info

    def keep_watchdog_fed(self, b: Board, info: BoardInfo) -> bool:
        """A board flashed with "watchdog": true has a hardware watchdog that nothing
        stops (not Ctrl-C, not a soft reset): it would reset the board mid-copy. Feed
        it from a timer while we work; the firmware feeds it again once it boots."""
        if info.platform not in ("rp2", "esp32"):
            return False
        try:
            cfg = json.loads(b.eval("open('config.json').read()"))
        except (TransportExecError, ValueError):
            return False
        if not (isinstance(cfg, dict) and cfg.get("watchdog")):
            return False
        b.exec(WATCHDOG_FEEDER)
        self.echo("  the board's watchdog is on: fed while flashing")
        return True

    def _survey(self, b: Board, paths: list[str]):
        out, err = b.exec_raw(_SURVEY % (paths,), timeout=30)  # hashing is silent: 30 s
        if err:
            raise TransportExecError(out, err.decode(errors="replace"))
        return ast.literal_eval(out.decode().strip())

    def config(self, b: Board) -> bytes:
        try:
            old = json.loads(b.eval("open('config.json').read()"))
            if not isinstance(old, dict):
                old = {}
        except (TransportExecError, ValueError):
            old = {}
        new = dict(old, **self.settings)
        new.update(board=self.board_name, test_build=self.test_build)
        if self.wiring:
            new["wiring"] = self.wiring
        return json.dumps(new, indent=1, sort_keys=True).encode()

    def write(self, b: Board, path: str, data: bytes) -> None:
        d = path.rpartition("/")[0]
        if d and d not in self._dirs:
            try:
                b.fs_mkdir(d)
            except FileExistsError:
                pass
            self._dirs.add(d)
        tmp = path + ".new"  # replaced in one rename once it arrived whole
        chunk = self.on_chunk
        b.fs_writefile(tmp, data, chunk_size=CHUNK, progress_callback=(
            (lambda written, size: chunk(path, written, size)) if chunk else None))
        b.exec(f"import os\ntry:\n os.rename({tmp!r}, {path!r})\nexcept OSError:\n"
               f" os.remove({path!r})\n os.rename({tmp!r}, {path!r})")

    def remove(self, b: Board, path: str) -> None:
        try:
            b.fs_rmfile(path)
        except FileNotFoundError:
            pass

    def install_deps(self, b: Board, deps: list[str], present: set[str]) -> Board:
        """Installs the missing ones with mpremote's `mip` on the port this transport
        lets go of meanwhile; returns the board reopened."""
        todo = []
        for dep in deps:
            name = dep.partition("@")[0]
            if {f"lib/{name}.mpy", f"lib/{name}.py"} & present or any(
                    p.startswith(f"lib/{name}/") for p in present):
                self.echo(f"  dependency {name}: installed")
            else:
                todo.append(dep)
        if not todo:
            return b
        b.close()
        self.missing += mip_install(self.port, todo, self.deps_from, self.mip_index, self.echo)
        try:
            b = Board(self.port)
        except BoardError as e:  # gone while mip had it: the usual lost connection
            raise TransportError(e.message)
        try:
            b.enter_raw_repl(soft_reset=False)
        except BaseException:
            b.close()
            raise
        return b

    def wait_ready(self, b: Board) -> str:
        out = []
        for line in b.lines(self.ready_timeout):
            if line.startswith("@ready"):
                return line[len("@ready "):]
            if line:
                out.append(line)
            if line.startswith(">>>") or (out and out[-1].startswith("MicroPython v") and
                                          len(out) > 2):
                break
        shown = "\n".join(out[-15:])
        hint = (f"\n(not installed: {', '.join(self.missing)}: see the warning above)"
                if self.missing else "")
        raise BoardError("the firmware did not start (no @ready event)"
                         + (":\n" + shown if shown else f" within {self.ready_timeout:g} s")
                         + hint)

    def prove_build(self, b: Board) -> None:
        b.serial.write(b"!ping\n!key CLEAR\n")
        for line in b.lines(5):
            if line.startswith("@refused"):
                if self.test_build:
                    raise BoardError("the board refuses key injection but should run a test build")
                self.echo(f"production build: key injection refused, as it must be ({line[9:]})")
                return
            if line == "@ok key":
                if not self.test_build:
                    raise BoardError("the production build ACCEPTED key injection")
                self.echo("test build: key injection accepted (never use it for real payments)")
                return
        raise BoardError("the firmware does not answer on the test link")

    # -- the whole job -----------------------------------------------------------

    def run(self) -> None:
        t0 = time.monotonic()
        b = Board(self.port)
        step = "connecting"
        try:
            step = "checking the board"
            b.enter_raw_repl(soft_reset=True)
            info = self.check(b)
            self.echo(f"board: {info}")
            self.keep_watchdog_fed(b, info)
            files = board_files(self.board_name)
            arch = info.arch or BOARDS[self.board_name][1]
            try:
                self.echo(f"compiling {sum(p.endswith('.mpy') for p in files)} modules "
                          f"for {arch} ({version()})")
                skipped: list[str] = []
                content = compile_files(files, arch, None, skipped)
                for p in skipped:
                    self.echo(f"  {p}: not for {arch}, left out")
            except OSError as e:  # a local problem, not the board's
                raise click.ClickException(f"cannot compile the firmware: {e}")
            step = "reading the board's files"
            content["config.json"] = self.config(b)
            paths = list(content)
            hashes, present, bsize, bfree = self._survey(b, paths)
            changed = [p for p in paths if hashes.get(p) is None or
                       hashes[p][1] != hashlib.sha256(content[p]).hexdigest()]
            self.unchanged = [p for p in paths if p not in changed]
            # stale: half-copied files, our packages' old modules, a .py hiding a .mpy
            stale = [p for p in present if p.endswith(".new") or (
                p not in content and (
                    p.startswith(("sesame/", "drivers/")) or p == "main.mpy" or
                    any(p == q[:-4] + ".py" for q in content if q.endswith(".mpy"))))]
            self._check_space(content, changed, stale, hashes, bsize, bfree)
            step = "removing stale files"
            for p in stale:
                self.remove(b, p)
                self.removed.append(p)
                self.echo(f"  removed  {p}")
            for i, p in enumerate(changed, 1):
                step = f"copying {p}"
                if self.on_copy:
                    self.on_copy(i, len(changed), p)
                self.echo(f"  [{i}/{len(changed)}] {p} ({len(content[p]) / 1024:.1f} kB)")
                try:
                    self.write(b, p, content[p])
                except TransportExecError as e:
                    if "ENOSPC" in e.error_output or "28" in e.error_output.splitlines()[-1]:
                        raise BoardError(self._full_msg(bsize, bfree, 0))
                    raise
                except OSError as e:  # mpremote turns a board's OSError into a local one
                    if isinstance(e, serial.SerialException) or not e.errno:
                        raise  # the link itself
                    if e.errno == errno.ENOSPC:
                        raise BoardError(self._full_msg(bsize, bfree, 0))
                    raise BoardError(f"the board could not write {p}: "
                                     f"{errno.errorcode.get(e.errno, e.errno)}")
                self.copied.append(p)
            self.echo(f"{len(self.copied)} copied, {len(self.unchanged)} up to date"
                      + (f", {len(self.removed)} removed" if self.removed else ""))
            deps = board_deps(self.board_name)
            if deps:
                step = "installing dependencies"
                b = self.install_deps(b, deps, set(present))
            step = "restarting the board"
            self.echo("soft reset, waiting for the firmware...")
            b.soft_reset_friendly()
            self.ready = self.wait_ready(b)
            self.echo(f"@ready {self.ready}")
            step = "checking the build"
            self.prove_build(b)
            self.echo(f"done in {time.monotonic() - t0:.1f} s")
        except TransportExecError as e:
            raise BoardError(f"the board failed while {step}:\n{e.error_output.strip()}")
        except BoardError:
            raise
        except LINK_ERRORS as e:
            raise LostConnection(
                f"lost the connection to the board while {step}: {e}\n"
                "Plug it back in and run the same `sesame flash` again: files already copied "
                "are kept, and a file is only replaced once it arrived whole.")
        finally:
            b.close()

    def _check_space(self, content, changed, stale, hashes, bsize, bfree) -> None:
        def blocks(n: int) -> int:
            return max(1, -(-n // bsize))
        bsize = bsize or BLOCK
        need = sum(blocks(len(content[p])) for p in changed)
        need += max((blocks(len(content[p])) for p in changed), default=0)  # temp copy
        freed = sum(blocks(hashes[p][0]) for p in changed if hashes.get(p))
        freed += sum(1 for _ in stale)
        if need - freed > bfree:
            raise BoardError(self._full_msg(bsize, bfree, (need - freed) * bsize))

    def _full_msg(self, bsize: int, bfree: int, need: int) -> str:
        more = f"; the firmware needs {need / 1024:.0f} kB" if need else ""
        return (f"the board's filesystem is full ({bfree * bsize / 1024:.0f} kB free{more}). "
                f"See what is on it with `mpremote connect {self.port} fs ls -r`, remove what "
                "you do not need with `fs rm`, then run `sesame flash` again.")
