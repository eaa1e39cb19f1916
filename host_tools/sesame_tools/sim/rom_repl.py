# The simulated board's REPLs (friendly, raw, raw-paste) and its sized filesystem:
# the rest of rom.py, run in its globals (flash_dir, quota, g, run_file...) once
# needed. See rom.py.
import sys
import os

out = sys.stdout
bout = sys.stdout.buffer
inp = sys.stdin.buffer


class Flash(os.VfsPosix):
    # The board's filesystem: a host folder, optionally with a size like a real flash
    # (writes beyond it fail with ENOSPC, statvfs reports it).
    def __init__(self, root, size):
        super().__init__(root)
        self.size = size
        self.used = 0
        if size:
            self.used = self._du("")

    def _du(self, path):
        n = 0
        for e in self.ilistdir(path or "/"):
            p = path + "/" + e[0]
            if e[1] == 0x4000:
                n += self._du(p)
            else:
                n += self.stat(p)[6]
        return n

    def _size(self, path):
        try:
            return self.stat(path)[6]
        except OSError:
            return 0

    def ilistdir(self, path):
        # (name, type, inode, size) as LittleFS gives it (VfsPosix leaves size out)
        base = path.rstrip("/")
        for e in super().ilistdir(path):
            size = 0
            if e[1] != 0x4000:
                try:
                    size = super().stat(base + "/" + e[0])[6]
                except OSError:
                    pass
            yield (e[0], e[1], e[2], size)

    def statvfs(self, path):
        if not self.size:
            return super().statvfs(path)
        free = max(0, self.size - self.used) // 4096
        return (4096, 4096, self.size // 4096, free, free, 0, 0, 0, 0, 255)

    def open(self, path, mode):
        if self.size and ("w" in mode or "a" in mode or "+" in mode):
            if "w" in mode:
                self.used -= self._size(path)
            return _Counted(self, super().open(path, mode))
        return super().open(path, mode)

    def remove(self, path):
        n = self._size(path)
        super().remove(path)
        self.used -= n

    def rename(self, old, new):
        n = self._size(new)
        super().rename(old, new)
        self.used -= n


class _Counted:
    # A file open for writing on a Flash with a size: counts the bytes it takes.
    def __init__(self, fs, f):
        self.fs = fs
        self.f = f

    def write(self, b):
        fs = self.fs
        if fs.used + len(b) > fs.size:
            raise OSError(28)  # ENOSPC, as LittleFS says on a full board
        fs.used += len(b)
        return self.f.write(b)

    def read(self, *a):
        return self.f.read(*a)

    def readinto(self, *a):
        return self.f.readinto(*a)

    def flush(self):
        return self.f.flush()

    def seek(self, *a):
        return self.f.seek(*a)

    def tell(self):
        return self.f.tell()

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()


def banner():
    v = sys.implementation.version
    out.write("MicroPython v%d.%d.%d on sesame-sim; simulated board (unix port)\n"
              'Type "help()" for more information.\n' % (v[0], v[1], v[2]))


def soft_reset(to_raw):
    out.write("MPY: soft reboot\n")
    sys.exit(_RAW if to_raw else _BOOT)


def getc():
    # One byte from the host. A Ctrl-C is one too (3), or a KeyboardInterrupt when it
    # came as SIGINT as code ended (see rom.py).
    b = inp.read(1)
    if not b:  # the host side went away: nothing more to do
        sys.exit(0)
    return b[0]


def execute(src, name):
    # Raw REPL: "OK" was sent; output, \x04, error output, \x04.
    try:
        code = compile(src, name, "exec")
        running(True)
        try:
            exec(code, g)
        finally:
            running(False)
        bout.write(b"\x04")
    except SystemExit:
        bout.write(b"\x04\x04")
        soft_reset(True)
    except BaseException as e:
        bout.write(b"\x04")
        sys.print_exception(e)
    bout.write(b"\x04")


def raw_paste():
    # The host sent \x05 A \x01: answer R \x01, the window size, then one \x01 per
    # window of data consumed; \x04 from the host ends the data (MicroPython docs,
    # "raw mode and raw-paste mode").
    bout.write(b"R\x01" + bytes((_WINDOW & 0xFF, _WINDOW >> 8)) + b"\x01")
    buf = bytearray()
    n = 0
    while True:
        c = getc()
        if c == 4:
            break
        if c == 3:  # ends the data and interrupts (pyexec.c, mp_reader_stdin_readbyte)
            bout.write(b"\x04\x04")
            out.write("KeyboardInterrupt: \n")
            bout.write(b"\x04")
            return
        buf.append(c)
        n += 1
        if n == _WINDOW:
            n = 0
            bout.write(b"\x01")
    bout.write(b"\x04")
    execute(bytes(buf), "<stdin>")


def raw_repl():
    out.write("raw REPL; CTRL-B to exit\n>")
    line = bytearray()
    while True:
        try:
            c = getc()
        except KeyboardInterrupt:
            line = bytearray()  # Ctrl-C clears the line
            continue
        if c == 1:  # Ctrl-A: restart the raw REPL
            out.write("raw REPL; CTRL-B to exit\n>")
            line = bytearray()
        elif c == 2:  # Ctrl-B: friendly REPL
            out.write("\n")
            return
        elif c == 3:
            line = bytearray()
        elif c == 4:
            if not line:
                out.write("\n")
                soft_reset(True)
            bout.write(b"OK")
            try:
                execute(bytes(line), "<stdin>")
            except KeyboardInterrupt:
                bout.write(b"\x04")
            line = bytearray()
            out.write(">")
        elif c == 5 and not line:
            try:
                a = getc()
                b = getc()
                if a == 65 and b == 1:
                    raw_paste()
                else:
                    line.extend(bytes((5, a, b)))
                    continue
            except KeyboardInterrupt:
                bout.write(b"\x04")
            line = bytearray()
            out.write(">")
        else:
            line.append(c)


def friendly_line(src):
    try:
        code = compile(src, "<stdin>", "single")
        running(True)
        try:
            exec(code, g)
        finally:
            running(False)
    except SystemExit:
        soft_reset(False)
    except BaseException as e:
        sys.print_exception(e)


def friendly_repl():
    banner()
    out.write(">>> ")
    line = bytearray()
    while True:
        try:
            c = getc()
        except KeyboardInterrupt:
            c = 3
        if c == 1:
            out.write("\n")
            raw_repl()
            banner()
            out.write(">>> ")
            line = bytearray()
        elif c == 2:
            out.write("\n")
            banner()
            out.write(">>> ")
            line = bytearray()
        elif c == 3:
            out.write("\n>>> ")
            line = bytearray()
        elif c == 4:
            if not line:
                out.write("\n")
                soft_reset(False)
        elif c in (13, 10):
            out.write("\n")
            if line:
                try:
                    friendly_line(bytes(line).decode())
                except KeyboardInterrupt:
                    out.write("KeyboardInterrupt:\n")
            line = bytearray()
            out.write(">>> ")
        elif c in (8, 127):
            if line:
                line = line[:-1]
                out.write("\b \b")
        elif c >= 32:
            line.append(c)
            bout.write(bytes((c,)))  # echo, as a board's REPL does
