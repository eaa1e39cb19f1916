"""A board's micropython-lib dependencies: the "deps" of boards/<board>/package.json (the
file `mpremote mip install` reads to put the firmware on a board as .py), installed by
`sesame flash` with mpremote's own `mip install` command (its public interface; the
Python functions behind it are mpremote's internals), online or from a folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from mpremote.transport import TransportError

from sesame_tools.boardio.repl import BoardError, open_serial
from sesame_tools.firmware import package_deps

MIP_TIMEOUT = 120  # s for one `mpremote mip install` (its downloads wait without a limit)


def board_deps(board: str) -> list[str]:
    """mip packages the board needs ("name", or "name@version" when not the latest)."""
    return [n if v in ("", "latest") else f"{n}@{v}" for n, v in package_deps(board)]


def mip_install(port: str, deps: list[str], deps_from: str | None, mip_index: str | None,
                echo=click.echo) -> list[str]:
    """Installs each dependency into /lib on the board at `port` (which nothing else may
    hold meanwhile); returns the names of those that could not be installed, each told
    in a warning. Offline: `deps_from` is a folder with DIR/<pkg>/package.json, or a
    mirror of the micropython-lib index (DIR/package/...). TransportError when the board
    goes away."""
    missing = []
    for dep in deps:
        name = dep.partition("@")[0]
        spec, index = dep, mip_index
        if deps_from:
            local = Path(deps_from)
            if (local / name / "package.json").exists():
                spec = str(local / name / "package.json")
            elif (local / "package").is_dir():
                index = str(local)
            else:
                raise click.ClickException(f"{name} is not in {local} (expected "
                                           f"{local / name / 'package.json'})")
        echo(f"  dependency {name}: mip install {spec}")
        failure = _mip(port, spec, index)
        if failure:
            # not fatal: the firmware may not need it (ssd1306 with a MAX7219 display);
            # if it does, it will not start and the missing module is reported then
            missing.append(name)
            echo(f"  warning: could not install {name}: {failure}. Offline? Download it on "
                 f"a connected machine and use --deps-from DIR (DIR/{name}/package.json "
                 "and its files).")
    return missing


def _mip(port: str, spec: str, index: str | None) -> str | None:
    """`mpremote connect PORT resume mip install --target /lib SPEC`: None when it worked,
    else mpremote's reason. `resume`: no soft reset, so a watchdog feeder started in the
    raw REPL keeps running."""
    cmd = [sys.executable, "-m", "mpremote", "connect", port, "resume",
           "mip", "install", "--target", "/lib"]
    if index:
        cmd += ["--index", index]
    try:
        r = subprocess.run(cmd + [spec], capture_output=True, text=True, timeout=MIP_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        said = " ".join(str(e.stdout or "").split())[-200:]
        return (f"mpremote mip gave no answer within {MIP_TIMEOUT} s"
                + (f" (it said: {said})" if said else ""))
    if r.returncode == 0:
        return None
    try:
        open_serial(port).close()
    except BoardError as e:
        raise TransportError(e.message)  # the board went away
    err = r.stderr.strip().splitlines()
    if any(line.startswith("Traceback") for line in err):  # not mip's error: the link's
        raise TransportError(err[-1])
    return err[-1].removeprefix("mpremote: ") if err else f"mpremote exit {r.returncode}"
