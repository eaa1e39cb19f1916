"""Files named on a command line (card profiles, traces) and our own state files, read as
untrusted input: only a regular file (a FIFO would block the open, /dev/zero never ends),
at most `limit` bytes, UTF-8 JSON without NaN or Infinity, nested at most MAX_DEPTH deep.
Every refusal is a FileError (a ValueError) saying what is wrong with the file."""

from __future__ import annotations

import json
import os
import stat

MAX_DEPTH = 12  # our files nest 4 deep at most (a profile's link object, a trace's exchanges)


class FileError(ValueError):
    pass


def read_bytes(path, limit: int) -> bytes:
    """The file's bytes; FileNotFoundError when there is none, FileError when it is not a
    regular file, is over `limit` bytes or cannot be read."""
    path = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer; the fstat then refuses it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise FileError("a directory, not a file") from None
    except OSError as e:
        raise FileError(f"cannot read it: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileError("not a regular file" + (" (a directory)" if stat.S_ISDIR(st.st_mode) else ""))
        if st.st_size > limit:
            raise FileError(f"{st.st_size} bytes, more than such a file can be ({limit})")
        os.set_blocking(fd, True)
        chunks, n = [], 0
        while n <= limit:
            b = os.read(fd, limit + 1 - n)
            if not b:
                break
            chunks.append(b)
            n += len(b)
        if n > limit:  # it grew while we read
            raise FileError(f"more than {limit} bytes")
        return b"".join(chunks)
    except OSError as e:
        raise FileError(f"cannot read it: {e.strerror}") from None
    finally:
        os.close(fd)


def _no_constant(name: str):
    raise FileError(f"{name} is not a JSON number")


def parse_json(data: bytes):
    """JSON text -> object, or FileError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileError(f"not a text file (not UTF-8 at byte {e.start})") from None
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise FileError(f"nested more than {MAX_DEPTH} deep") from None
    except ValueError as e:
        if isinstance(e, FileError):
            raise
        raise FileError(f"not JSON ({e})") from None
    _check_depth(obj)
    return obj


def _check_depth(obj) -> None:
    todo = [(obj, 1)]
    while todo:
        o, d = todo.pop()
        if isinstance(o, (dict, list)):
            if d > MAX_DEPTH:
                raise FileError(f"nested more than {MAX_DEPTH} deep")
            todo.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))


def read_json(path, limit: int):
    return parse_json(read_bytes(path, limit))
