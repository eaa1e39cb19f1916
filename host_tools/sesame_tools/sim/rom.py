# The simulated board's "ROM", run by the MicroPython unix port under SimBoard (never
# imported by CPython). It does what MicroPython's own main loop does on a real board
# (ports/rp2/main.c, shared/runtime/pyexec.c): mount the board's filesystem at "/",
# run main.py, then serve the friendly REPL and the raw REPL (with raw-paste) that
# mpremote speaks. A soft reset (Ctrl-D) ends this process with an exit code that
# asks SimBoard to start a fresh one: 64 = boot (run main.py), 65 = straight to the
# raw REPL (as a board does when reset from the raw REPL).
#
#   micropython rom.py FLASH_DIR boot|raw [FLASH_BYTES]
#
# SimBoard turns each Ctrl-C from the host into SIGINT (a KeyboardInterrupt here or in
# main.py), and each "\n" written here into "\r\n" on the serial, like a board does.
import gc
import sys
import os

_BOOT = 64
_RAW = 65
_WINDOW = 256  # raw-paste flow-control window; its two bytes hold no "\n"

flash_dir = sys.argv[1]
mode = sys.argv[2]
quota = int(sys.argv[3]) if len(sys.argv) > 3 else 0

# The REPL (and the sized filesystem) live in rom_repl.py, read only once main.py
# has ended: while the firmware runs, their code takes no heap (a 64 KB heap matters).
_repl = open(sys.argv[0].rpartition("/")[0] + "/rom_repl.py")


def _exec_repl():
    _repl.seek(0)
    exec(_repl.read(), globals())


def load_repl():
    global _repl
    if _repl is None:
        return
    gc.collect()
    try:
        _exec_repl()
    except MemoryError:
        # A tiny heap (-X heapsize): drop the firmware's modules and globals, which a
        # board keeps (its REPL is C and needs no heap), and try again.
        for name in list(sys.modules):
            if name not in _boot_modules:
                del sys.modules[name]
        g.clear()
        g["__name__"] = "__main__"
        gc.collect()
        _exec_repl()
    _repl.close()
    _repl = None


def mount():
    # With a size, the Python subclass counts bytes; without, the native VfsPosix.
    # (The unix port's import reads a subclass as if it were the native object: only
    # paths relative to the current folder import right from it, hence "lib" below.)
    os.umount("/")
    os.mount(Flash(flash_dir, quota) if quota else os.VfsPosix(flash_dir), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "lib", "/lib"]  # as on a board (+ "lib", see above)


g = {"__name__": "__main__"}  # the REPL's globals, as on a board: kept until soft reset


def run_file(name):
    try:
        f = open(name)
    except OSError:
        return
    try:
        src = f.read()
        f.close()
        exec(compile(src, name, "exec"), g)
    except SystemExit:
        pass
    except BaseException as e:  # KeyboardInterrupt included: back to the REPL
        sys.print_exception(e)


def main():
    global _boot_modules
    _boot_modules = set(sys.modules)
    if quota:
        load_repl()  # the Flash class
    mount()
    if mode == "raw":
        load_repl()
        raw_repl()
    else:
        gc.collect()
        run_file("boot.py")
        run_file("main.py")
        load_repl()
    while True:
        try:
            friendly_repl()
        except KeyboardInterrupt:
            pass


main()
