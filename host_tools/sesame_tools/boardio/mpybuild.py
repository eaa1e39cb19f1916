"""mpy-cross, with a cache: a module is compiled once per content, architecture and
mpy-cross version (the simulated board boots from .mpy files too, like a flashed one)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path


class CompileError(Exception):
    pass


@lru_cache(maxsize=1)
def mpy_cross() -> tuple[str, ...]:
    exe = Path(sys.executable).parent / "mpy-cross"
    if exe.exists():
        return (str(exe),)
    if shutil.which("mpy-cross"):
        return ("mpy-cross",)
    return (sys.executable, "-m", "mpy_cross")


@lru_cache(maxsize=1)
def version() -> str:
    r = subprocess.run([*mpy_cross(), "--version"], capture_output=True, text=True)
    return r.stdout.strip()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(tempfile.gettempdir(),
                                                            f"sesame-{os.getuid()}")
    d = Path(base) / "sesame-mpy"
    d.mkdir(parents=True, exist_ok=True)
    return d


def compile_mpy(src: Path, name: str, arch: str | None) -> bytes:
    """`src` compiled to .mpy; `name` is the file name tracebacks show."""
    data = src.read_bytes()
    key = hashlib.sha256(b"\0".join([data, name.encode(), (arch or "").encode(),
                                     version().encode()])).hexdigest()
    cached = cache_dir() / f"{key}.mpy"
    if cached.exists():
        return cached.read_bytes()
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    cmd = [*mpy_cross(), "-o", str(tmp), "-s", name]
    if arch:
        cmd.append(f"-march={arch}")
    r = subprocess.run(cmd + [str(src)], capture_output=True, text=True)
    if r.returncode:
        tmp.unlink(missing_ok=True)
        raise CompileError(f"mpy-cross failed on {src}:\n{r.stderr or r.stdout}")
    os.replace(tmp, cached)
    return cached.read_bytes()
