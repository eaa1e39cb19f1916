# The simulated board's "ROM", run by the MicroPython unix port under SimBoard (never
# imported by CPython). It does what MicroPython's own main loop does on a real board
# (ports/rp2/main.c, shared/runtime/pyexec.c): mount the board's filesystem at "/",
# run main.py, then serve the friendly REPL and the raw REPL (with raw-paste) that
# mpremote speaks. A soft reset (Ctrl-D) ends this process with an exit code that
# asks SimBoard to start a fresh one: 64 = boot (run main.py), 65 = straight to the
# raw REPL (as a board does when reset from the raw REPL).
#
#   micropython rom.py FLASH_DIR boot|raw FLASH_BYTES MODE_FD
#
# Ctrl-C, as on a board: while Python code runs (main.py, a REPL command) it raises
# KeyboardInterrupt in that code; while the REPL waits for input it is a character like
# any other, read in order with the rest (pyexec.c sets the interrupt character only
# around the code it runs). This process writes "x" to MODE_FD when code starts and "r"
# when it ends; SimBoard turns a Ctrl-C into SIGINT during "x", else passes the byte on.
# SimBoard also turns each "\n" written here into "\r\n" on the serial, like a board.
import gc
import micropython
import sys
import os

_BOOT = 64
_RAW = 65
_WINDOW = 256  # raw-paste flow-control window; its two bytes hold no "\n"

flash_dir = sys.argv[1]
mode = sys.argv[2]
quota = int(sys.argv[3]) if len(sys.argv) > 3 else 0
# opened before "/" becomes the board's flash
_running = open("/dev/fd/" + sys.argv[4], "wb") if len(sys.argv) > 4 else None


def running(yes):
    # Tells SimBoard whether Python code runs now (a Ctrl-C interrupts it) or not. After
    # the code, the heap is unlocked: code that left it locked (an interrupted one, say)
    # must not stop this REPL, which needs the heap, unlike a board's (whose friendly
    # REPL unlocks it before each prompt too: shared/runtime/pyexec.c).
    if not yes:
        while micropython.heap_unlock():
            pass
    if _running:
        _running.write(b"x" if yes else b"r")

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
        # compiled, then the source dropped before the code runs: a board's pyexec reads
        # main.py through its lexer and keeps no copy (1 KB of a 64 KB heap, here)
        code = compile(f.read(), name, "exec")
        f.close()
        running(True)
        try:
            exec(code, g)
        finally:
            running(False)
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
