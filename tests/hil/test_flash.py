"""`sesame flash`, `sesame hil`, `monitor` and `trace` against the simulated board's
pty, which answers mpremote like a board: flashed from blank, the board boots the
flashed files, the production build refuses injection, and the HIL suite passes
against it as against a real port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sesame_tools.boardio.repl import BoardError
from sesame_tools.boardio.testlink import LinkClient
from sesame_tools.boardio.flasher import Flasher, LostConnection, compile_files
from sesame_tools.firmware import BOARDS, board_files
from sesame_tools.sim.board import SimBoard

pytestmark = pytest.mark.sim_only
SESAME = str(Path(sys.executable).parent / "sesame")


def sesame(*args: str, timeout: float = 120, input: str | None = None,
           env: dict | None = None) -> subprocess.CompletedProcess:
    # the nested runs see only the PIN the test gives them (the outer run's must not leak)
    base = {k: v for k, v in os.environ.items() if k != "SESAME_PIN"}
    return subprocess.run([SESAME, *args], capture_output=True, text=True, timeout=timeout,
                          input=input, env={**base, **(env or {})})


@pytest.fixture
def blank(state_dir):
    b = SimBoard(firmware="blank")
    b.start()
    yield b
    b.stop()


def files_on(board: SimBoard) -> set[str]:
    return {p.relative_to(board.flash).as_posix() for p in board.flash.rglob("*") if p.is_file()}


def test_flash_blank_board_production_then_test_build_then_hil(blank):
    port = blank.port
    r = sesame("flash", "--port", port, "--board", "sim")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MicroPython 1.29" in r.stdout or "MicroPython" in r.stdout
    assert "@ready sesame" in r.stdout and "build=production" in r.stdout, r.stdout
    n = len(files_on(blank))  # progress: one line per file, counted
    assert f"  [1/{n}] main.py" in r.stdout and f"  [{n}/{n}] " in r.stdout, r.stdout
    assert "production build: key injection refused" in r.stdout, r.stdout
    on_board = files_on(blank)
    assert {"main.py", "board.mpy", "sesame/reader/loop.mpy", "sesame/emv/cap.mpy"} <= on_board
    assert not [p for p in on_board if p.startswith("sesame/") and p.endswith(".py")]
    assert json.loads((blank.flash / "config.json").read_text())["test_build"] is False

    # the production build, as flashed, refuses injection on its link
    c = LinkClient(port)
    c.sync()
    c.send("!key CODE")
    ev = c.wait_any(("ok", "refused", "error"))
    assert ev.name == "refused" and "test build" in ev.arg, ev
    c.close()

    # again as a test build: only the configuration changes
    r = sesame("flash", "--port", port, "--test-build")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 copied" in r.stdout and "config.json" in r.stdout, r.stdout
    assert "build=test" in r.stdout

    # the HIL suite against the flashed board, as against a real one; the PIN is asked
    # (without echo where there is a terminal), never put on a command line
    r = sesame("hil", "--port", port, "--prompt-timeout", "1", timeout=300, input="1234\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PIN of the inserted card" in r.stdout + r.stderr
    assert "hil: " in r.stdout and " passed" in r.stdout and "failed" not in r.stdout, r.stdout
    for t in ("test_code_is_shown_as_two_groups", "test_pin_never_on_the_link",
              "test_trace_masks_the_pin", "test_injection_policy_matches_build"):
        assert f"PASS  {t}" in r.stdout, r.stdout
    assert "tests: needs the simulated board" in r.stdout, r.stdout  # simulator powers
    assert "skip  test_wrong_pin_then_right_pin  (presents a wrong PIN to a real card" in r.stdout
    # nobody is at this "real" board to pull the card out: the test gives up politely
    assert "skip  test_card_pulled_out_and_back  (nobody did it within 1 s" in r.stdout, r.stdout
    # with the flag, a wrong PIN is presented once the card is known to keep >= 2 tries
    r = sesame("hil", "--port", port, "--spend-pin-tries", "-k", "wrong_pin_then", timeout=120,
               env={"SESAME_PIN": "1234"})
    assert r.returncode == 0 and "PASS  test_wrong_pin_then_right_pin" in r.stdout, r.stdout


def test_lost_connection_mid_copy_then_rerun_completes(blank):
    def pull_plug(i, n, path):
        if i == 4:
            blank.unplug()

    with pytest.raises(LostConnection) as e:
        Flasher(blank.port, "sim", test_build=True, echo=lambda *a, **k: None,
                on_copy=pull_plug).run()
    assert "run the same `sesame flash` again" in str(e.value.message)
    first = files_on(blank)
    assert not [p for p in first if p.endswith(".mpy") and (blank.flash / p).stat().st_size == 0]
    port = blank.plug()  # plugged back in: a new boot, maybe on another port
    f = Flasher(port, "sim", test_build=True, echo=lambda *a, **k: None)
    f.run()
    assert f.unchanged, "the files copied before the plug was pulled were copied again"
    assert "build=test" in f.ready
    assert not [p for p in files_on(blank) if p.endswith(".new")]


def test_lost_connection_in_the_middle_of_a_file(blank):
    """The cable goes while a module is half-way to the board: the module is not in
    place (only its temporary copy), and a re-run replaces the temporary copy."""
    cut = []

    def pull_plug(path, written, size):
        if not cut and written < size and path.endswith(".mpy"):
            cut.append(path)
            blank.unplug()

    with pytest.raises(LostConnection):
        Flasher(blank.port, "sim", echo=lambda *a, **k: None, on_chunk=pull_plug).run()
    path, = cut
    assert not (blank.flash / path).exists(), "a half-copied module is in place"
    whole = compile_files({path: board_files("sim")[path]}, "x64")[path]
    partial = blank.flash / (path + ".new")
    assert partial.exists() and 0 < partial.stat().st_size < len(whole)
    said: list[str] = []
    f = Flasher(blank.plug(), "sim", echo=lambda s="", **k: said.append(s))
    f.run()
    assert f"  removed  {path}.new" in said and path in f.copied, said
    assert (blank.flash / path).exists() and not list(blank.flash.rglob("*.new"))
    assert "build=production" in f.ready


def test_full_filesystem(state_dir):
    with SimBoard(firmware="blank", flash_size=12 * 1024) as b:
        r = sesame("flash", "--port", b.port)
    assert r.returncode == 1
    assert "filesystem is full" in r.stderr and "fs rm" in r.stderr, r.stderr


def test_busy_port(blank):
    holder = LinkClient(blank.port)
    try:
        r = sesame("flash", "--port", blank.port)
        h = sesame("hil", "--port", blank.port)
        m = sesame("monitor", "--port", blank.port, "--timeout", "1")
    finally:
        holder.close()
    assert r.returncode == 1 and "is busy" in r.stderr, r.stderr
    assert h.returncode == 1 and "is busy" in h.stderr and "PASS" not in h.stdout, h.stderr
    assert m.returncode == 1 and "is busy" in m.stderr, m.stderr


def test_missing_port(tmp_path):
    r = sesame("flash", "--port", str(tmp_path / "ttyACM9"))
    assert r.returncode == 1 and "no serial port" in r.stderr, r.stderr


def test_not_a_micropython_device():
    """A serial device that answers, but not like MicroPython (a modem, say)."""
    master, slave = os.openpty()
    port = os.ttyname(slave)
    stop = threading.Event()

    def modem():
        while not stop.is_set():
            try:
                data = os.read(master, 100)
            except OSError:
                return
            if data:
                os.write(master, b"\r\nERROR\r\n")

    t = threading.Thread(target=modem, daemon=True)
    t.start()
    try:
        r = sesame("flash", "--port", port, timeout=60)
    finally:
        stop.set()
        os.close(slave)
        os.close(master)
    assert r.returncode == 1
    assert "does not answer as a MicroPython board" in r.stderr, r.stderr
    assert "micropython.org/download" in r.stderr, r.stderr


def test_wrong_board_type(blank):
    with pytest.raises(BoardError) as e:
        Flasher(blank.port, "pico", echo=lambda *a, **k: None).run()
    assert "not for pico" in e.value.message and "--board sim" in e.value.message


def test_mpremote_on_the_simulated_board(blank):
    mp = [sys.executable, "-m", "mpremote", "connect", blank.port]
    r = subprocess.run(mp + ["exec", "f=open('hello.txt','w'); f.write('hi'); f.close()",
                             "+", "fs", "ls", "+", "eval", "1+2"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "hello.txt" in r.stdout and r.stdout.strip().endswith("3"), r.stdout
    assert (blank.flash / "hello.txt").read_text() == "hi"
    r = subprocess.run(mp + ["fs", "sha256sum", ":hello.txt"], capture_output=True, text=True,
                       timeout=60)
    assert "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4" in r.stdout, r.stdout
    # the board's filesystem is its own folder: "/" is not the host's root
    r = subprocess.run(mp + ["eval", "sorted(__import__('os').listdir('/'))"],
                       capture_output=True, text=True, timeout=60)
    assert "hello.txt" in r.stdout and "etc" not in r.stdout, r.stdout


def test_mip_installs_the_firmware_from_the_checkout(blank):
    """MicroPython's own way, offline: `mpremote mip install` with the board's
    package.json puts the firmware on as .py and the board boots the reader; `sesame
    flash` over it then puts its .mpy in place of the sources."""
    r = subprocess.run([sys.executable, "-m", "mpremote", "connect", blank.port, "mip",
                        "install", "--target", "/", str(BOARDS / "sim" / "package.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    on_board = files_on(blank)
    assert {"main.py", "board.py", "sesame/reader/loop.py", "sesame/emv/cap.py"} <= on_board
    assert not [p for p in on_board if p.endswith(".mpy")], on_board
    c = LinkClient(blank.port)
    c.ser.write(b"\x04")  # Ctrl-D at the REPL: a soft reset, main.py runs
    assert "board=sim" in c.wait("ready", timeout=30).arg
    c.close()
    f = Flasher(blank.port, "sim", echo=lambda *a, **k: None)
    f.run()
    assert "sesame/reader/loop.py" in f.removed and "board.py" in f.removed
    assert [p for p in files_on(blank) if p.endswith(".py")] == ["main.py"]


def test_the_friendly_repl_survives_a_locked_heap(blank):
    """As on a board (pyexec.c resets the heap lock before each prompt): code that leaves
    the heap locked, an interrupted one for instance, does not end the REPL."""
    from sesame_tools.boardio.repl import open_serial

    ser = open_serial(blank.port, timeout=0.2)
    try:
        ser.write(b"\x02import micropython; micropython.heap_lock()\r")
        ser.write(b"6*7\r")
        seen = b""
        for _ in range(50):
            seen += ser.read(256)
            if b"42" in seen:
                break
        assert b"\r\n42\r\n" in seen, seen
    finally:
        ser.close()


def test_monitor_shows_readable_events(reader):
    port = reader.client.ser.port
    reader.idle()
    reader.client.close()
    r = sesame("monitor", "--port", port, "--timeout", "1.5")
    assert r.returncode == 0, r.stderr
    assert "display  [  rEAdY  ]" in r.stdout, r.stdout
    assert "state    idle" in r.stdout and "build=test" in r.stdout, r.stdout


def test_trace_command_writes_replay_format(reader, tmp_path):
    port = reader.client.ser.port
    reader.client.close()
    out = tmp_path / "trace.json"
    r = sesame("trace", "--port", port, "-o", str(out), "--keys", "CODE 1 2 3 4 OK")
    assert r.returncode == 0, r.stderr
    t = json.loads(out.read_text())
    assert set(t) == {"atr", "protocol", "exchanges"}
    assert t["protocol"] == 0 and bytes.fromhex(t["atr"])
    verify = [x for x in t["exchanges"] if x["c"].startswith("0020")]
    assert verify == [{"c": "00200080082?FFFFFFFFFFFFFF", "r": "9000"}], verify
    for x in t["exchanges"]:
        if x is not verify[0]:
            bytes.fromhex(x["c"])
        bytes.fromhex(x["r"])
    assert t["exchanges"][0]["c"].startswith("00A4")


def test_trace_refused_by_production_build(make_reader):
    r = make_reader(test_build=False)
    port = r.client.ser.port
    r.client.close()
    out = sesame("trace", "--port", port, "--keys", "CODE")
    assert out.returncode == 1 and "production build" in out.stderr, out.stderr


def test_dependencies_from_a_local_folder(blank, tmp_path, monkeypatch):
    """Offline: micropython-lib packages from a folder (DIR/<pkg>/package.json), once."""
    import sesame_tools.boardio.flasher as flasher

    pkg = tmp_path / "deps" / "sesame_hello"
    pkg.mkdir(parents=True)
    (pkg / "sesame_hello.py").write_text("GREETING = 'bonjour'\n")
    (pkg / "package.json").write_text(json.dumps(
        {"urls": [["sesame_hello.py", "sesame_hello.py"]], "version": "0.1"}))
    monkeypatch.setattr(flasher, "board_deps", lambda board: ["sesame_hello"])
    said: list[str] = []
    f = Flasher(blank.port, "sim", test_build=True, deps_from=str(tmp_path / "deps"),
                echo=lambda s="", **k: said.append(s))
    f.run()
    assert (blank.flash / "lib" / "sesame_hello.py").read_text() == "GREETING = 'bonjour'\n"
    assert any("mip install" in s for s in said), said
    said.clear()
    Flasher(blank.port, "sim", test_build=True, deps_from=str(tmp_path / "deps"),
            echo=lambda s="", **k: said.append(s)).run()
    assert "  dependency sesame_hello: installed" in said, said
    # the board imports it from /lib, as a real board does
    mp = [sys.executable, "-m", "mpremote", "connect", blank.port]
    r = subprocess.run(mp + ["eval", "__import__('sesame_hello').GREETING"],
                       capture_output=True, text=True, timeout=60)
    assert "bonjour" in r.stdout, r.stdout + r.stderr


def test_ctrl_c_interrupts_code_running_on_the_simulated_board(blank):
    mp = [sys.executable, "-m", "mpremote", "connect", blank.port]
    stuck = subprocess.Popen(mp + ["exec", "while True: pass"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            stuck.wait(2)
    finally:
        stuck.kill()
        stuck.wait()
    r = subprocess.run(mp + ["eval", "6*7"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip().endswith("42"), r.stdout + r.stderr


def test_filesystem_full_mid_copy(state_dir, monkeypatch):
    """Space runs out during the copy (the first check passed): the same clear message."""
    monkeypatch.setattr(Flasher, "_check_space", lambda *a: None)
    with SimBoard(firmware="blank", flash_size=12 * 1024) as b:
        with pytest.raises(BoardError) as e:
            Flasher(b.port, "sim", echo=lambda *a, **k: None).run()
        assert not isinstance(e.value, LostConnection)
        assert "filesystem is full" in e.value.message, e.value.message
        assert not [p for p in files_on(b) if p.endswith(".mpy") and not
                    (b.flash / p).stat().st_size], "half-written module left in place"


def test_reset_and_power_cycle_boot_the_flashed_firmware(blank):
    Flasher(blank.port, "sim", test_build=True, echo=lambda *a, **k: None).run()
    c = LinkClient(blank.port)
    blank.reset()  # the RESET button
    assert "build=test" in c.wait("ready", timeout=10).arg
    c.close()
    blank.unplug()
    c = LinkClient(blank.plug())  # the USB cable, out and in
    c.sync()
    c.send("!info")
    assert "board=sim" in c.wait("info").arg
    c.close()


def test_firmware_that_does_not_start_is_reported(blank, tmp_path, monkeypatch):
    import sesame_tools.boardio.flasher as flasher

    broken = tmp_path / "board.py"
    broken.write_text("raise RuntimeError('no such pin')\n")
    real = flasher.board_files
    monkeypatch.setattr(flasher, "board_files",
                        lambda board: dict(real(board), **{"board.mpy": broken}))
    with pytest.raises(BoardError) as e:
        Flasher(blank.port, "sim", echo=lambda *a, **k: None, ready_timeout=10).run()
    assert "the firmware did not start" in e.value.message
    assert "RuntimeError: no such pin" in e.value.message, e.value.message


def test_sesame_sim_blank_then_flash(state_dir, tmp_path):
    """The README's no-hardware walk: `sesame sim --blank --flash DIR`, then flash it."""
    import signal

    flash_dir = tmp_path / "flash"
    proc = subprocess.Popen([SESAME, "sim", "--blank", "--flash", str(flash_dir)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        port = proc.stdout.readline().split("port: ")[1].strip()
        r = sesame("flash", "--port", port, "--test-build")
        assert r.returncode == 0 and "build=test board=sim" in r.stdout, r.stdout + r.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    assert (flash_dir / "sesame" / "reader" / "loop.mpy").exists()
    # the folder is the board's flash: the next run boots what was flashed there
    proc = subprocess.Popen([SESAME, "sim", "--blank", "--flash", str(flash_dir)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        port = proc.stdout.readline().split("port: ")[1].strip()
        c = LinkClient(port)
        c.sync()
        c.send("!info")
        assert "build=test" in c.wait("info").arg
        c.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_settings_merge_into_the_board_config(blank):
    Flasher(blank.port, "sim", settings={"auto_off_s": 60, "display": "ssd1306"},
            echo=lambda *a, **k: None).run()
    cfg = json.loads((blank.flash / "config.json").read_text())
    assert cfg["auto_off_s"] == 60 and cfg["display"] == "ssd1306" and cfg["test_build"] is False
    assert cfg["card"] and cfg["inserted"] is True  # the board's own keys are kept
    r = sesame("flash", "--port", blank.port, "--set", "card=1")
    assert r.returncode == 2 and "not settable" in r.stderr, r.stderr


def test_unreachable_dependency_is_a_warning(blank, monkeypatch, tmp_path):
    import sesame_tools.boardio.flasher as flasher

    monkeypatch.setattr(flasher, "board_deps", lambda board: ["no_such_pkg"])
    said: list[str] = []
    f = Flasher(blank.port, "sim", mip_index=str(tmp_path / "no-index"),
                echo=lambda s="", **k: said.append(s))
    f.run()  # the sim firmware does not need it: flashed all the same
    assert f.missing == ["no_such_pkg"] and "build=production" in f.ready
    assert any("warning: could not install no_such_pkg" in s and "--deps-from" in s
               for s in said), said


def test_wrong_pin_stops_a_real_board_run(state_dir):
    """`sesame hil --port` with a wrong --pin: the run stops at the first refused PIN, so
    a real card loses one try, not one per test; the PIN is not in the output."""
    with SimBoard() as b:  # seen through its port only, as a real board
        r = sesame("hil", "--port", b.port, "--pin", "9876", "--prompt-timeout", "1", "-k",
                   "code_is_shown or clear_and_cancel or pin_never or trace_masks", timeout=120)
    assert r.returncode != 0, r.stdout
    assert "STOP  the card refused the PIN (2 tries left)" in r.stdout, r.stdout
    assert "(stopped early)" in r.stdout, r.stdout
    assert "9876" not in r.stdout + r.stderr
    assert json.loads((state_dir / "visa-dpa.card.json").read_text())["pin_tries"] == 2


def test_pin_guard_stops_at_last_try_or_blocked():
    import runpy

    from sesame_tools.boardio.testlink import Event

    PinGuard = runpy.run_path(str(Path(__file__).with_name("conftest.py")))["PinGuard"]
    g = PinGuard()
    g.allowed = 1
    g.append(Event("@disp 2 triES"))  # the one allowed wrong PIN
    g.append(Event("@disp 1234 5678"))
    for shown in ("@disp 2 triES", "@disp LASt try", "@disp bLOCKEd"):
        with pytest.raises(pytest.exit.Exception) as e:
            g.append(Event(shown))
        assert e.value.returncode == 3 and "stops here" in e.value.msg
