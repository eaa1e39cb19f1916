"""The reader as a PC/SC reader, end to end: simulated boards (their firmware's CCID slot on
the second pty), Debian's pcscd and libccid serial driver (`libccidtwin.so`, GemPCPinPad),
and the real clients (pyscard, pcsc_scan, opensc-tool).

The pcscd is private: it runs in its own mount namespace (`unshare -m`), with a tmpfs over
/run/pcscd (pcsc-lite 1.9.9's daemon always listens on /run/pcscd/pcscd.comm and ignores
PCSCLITE_CSOCK_NAME) and a tmpfs over /usr/lib/pcsc/drivers with only serial/ bound back,
so it loads no USB driver and cannot take a USB reader from the system's pcscd. It reads
only our reader.conf.d. Clients stay outside: PCSCLITE_CSOCK_NAME points at a symlink to
/proc/<pid>/root/run/pcscd/pcscd.comm (the client library reads that name once per
process, so the symlink follows each new daemon). The daemon is stopped with SIGTERM.

Needs root (unshare -m), pcscd, libccid, pcsc-tools, opensc and pyscard: `make venv`
installs them (apt-get when root). Missing ones skip these tests, except under CI=true,
where they fail (a missing install step must not pass unseen)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from parts import need


LIBCCIDTWIN = "/usr/lib/pcsc/drivers/serial/libccidtwin.so"
_SOCK_DIR = Path(tempfile.mkdtemp(prefix="sesame-pcsc-"))
SOCKET = _SOCK_DIR / "pcscd.comm"  # a symlink to the running private daemon's socket
os.environ["PCSCLITE_CSOCK_NAME"] = str(SOCKET)  # before any client library starts

# Inside the namespace (sh -c): $1 = the reader.conf.d folder, $2 = a scratch folder.
_NAMESPACE = r'''
set -e
D=/usr/lib/pcsc/drivers
mount --bind "$D/serial" "$2"
mount -t tmpfs -o mode=0755 tmpfs "$D"
mkdir "$D/serial"
mount --bind "$2" "$D/serial"
if [ -d /run/pcscd ]; then mount -t tmpfs -o mode=0755 tmpfs /run/pcscd
else mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/pcscd; fi
exec pcscd --foreground --config "$1" $3
'''


def missing() -> list[str]:
    out = []
    for tool in ("pcscd", "pcsc_scan", "opensc-tool", "unshare"):
        if not shutil.which(tool):
            out.append(tool)
    if not os.path.exists(LIBCCIDTWIN):
        out.append(LIBCCIDTWIN + " (Debian libccid)")
    try:
        import smartcard  # noqa: F401
    except ImportError:
        out.append("pyscard")
    if os.geteuid() != 0:
        out.append("root (unshare -m)")
    return out


def require() -> None:
    need(missing(), "the PC/SC end-to-end tests")


class Pcscd:
    """A private pcscd serving the given readers {name: tty}."""

    def __init__(self, readers: dict[str, str], debug: bool = False):
        self.dir = Path(tempfile.mkdtemp(prefix="sesame-pcscd-"))
        conf = self.dir / "reader.conf.d"
        conf.mkdir()
        (self.dir / "serial").mkdir()
        for name, tty in readers.items():
            (conf / name.lower().replace(" ", "-")).write_text(
                f'FRIENDLYNAME "{name}"\nDEVICENAME {tty}:GemPCPinPad\nLIBPATH {LIBCCIDTWIN}\n')
        self.log = self.dir / "pcscd.log"
        env = dict(os.environ)
        if debug:
            env["LIBCCID_ifdLogLevel"] = "0x0F"
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", _NAMESPACE, "sh",
             str(conf), str(self.dir / "serial"), "--debug" if debug else "--info"],
            stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, env=env)
        # unshare and sh exec: this pid is pcscd's, in its own mount namespace
        target = f"/proc/{self.proc.pid}/root/run/pcscd/pcscd.comm"
        end = time.monotonic() + 15
        while not os.path.exists(target):
            if self.proc.poll() is not None or time.monotonic() > end:
                log = self.text()
                self.stop()
                raise RuntimeError("private pcscd did not start:\n" + log)
            time.sleep(0.05)
        if SOCKET.is_symlink() or SOCKET.exists():
            SOCKET.unlink()
        SOCKET.symlink_to(target)

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def wait_readers(self, names, timeout: float = 20) -> list[str]:
        from smartcard.System import readers

        end = time.monotonic() + timeout
        while True:
            try:
                got = [str(r) for r in readers()]
            except Exception:
                got = []
            if all(any(g.startswith(n) for g in got) for n in names):
                return got
            if time.monotonic() > end:
                raise RuntimeError(f"readers {names} not seen (got {got}):\n" + self.text())
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if SOCKET.is_symlink():
            SOCKET.unlink()
        shutil.rmtree(self.dir, ignore_errors=True)
