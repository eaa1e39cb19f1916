"""What `sesame flash` puts on each board, compiled by mpy-cross for its architecture."""

from pathlib import Path

import pytest

from sesame_tools.boardio.repl import BoardInfo
from sesame_tools.boardio.flasher import compile_files
from sesame_tools.firmware import board_files


@pytest.mark.parametrize("board,arch", [("pico", "armv6m"), ("esp32", "xtensawin"),
                                        ("sim", "x64")])
def test_firmware_compiles_for_each_board(board, arch, tmp_path):
    files = board_files(board)
    assert files["main.py"].name == "main.py"
    assert "sesame/reader/loop.mpy" in files and "sesame/reader/trace.mpy" in files
    assert not [p for p in files if p.startswith("sesame/") and p.endswith(".py")]
    out = compile_files(files, arch, tmp_path)
    for path, data in out.items():
        if path.endswith(".mpy"):
            assert data[:2] == b"M\x06", path  # mpy v6
    assert out["main.py"] == Path(files["main.py"]).read_bytes()
    again = compile_files(files, arch, tmp_path / "again")
    assert again == out  # same bytes each time: unchanged files are not copied again


def test_board_info_reads_sys_implementation():
    pico = BoardInfo("micropython", (1, 24, 1, ""), 0x1006 | (3 << 8), "rp2", "Pico")
    assert pico.arch == "armv6m" and pico.mpy_version == (6, 3)
    esp = BoardInfo("micropython", (1, 23, 0), 2822 - (2 << 10) + (10 << 10), "esp32", "")
    assert esp.arch == "xtensawin"
    assert "MicroPython 1.24.1 on rp2" in str(pico)


class _FakeBoard:
    def __init__(self, info: BoardInfo):
        self._info = info

    def info(self) -> BoardInfo:
        return self._info


@pytest.mark.parametrize("impl,version,mpy,platform,board,expect", [
    ("circuitpython", (9, 0, 0), 6 | 4 << 10, "RP2040", None, "not MicroPython"),
    ("micropython", (1, 19, 1), 6 | 4 << 10, "rp2", None, "needs 1.23 or later"),
    ("micropython", (1, 23, 0), 5 | 4 << 10, "rp2", None, "mpy v5"),
    ("micropython", (1, 24, 1), 6 | 3 << 8 | 4 << 10, "rp2", "esp32", "--board pico"),
    ("micropython", (1, 24, 1), 6 | 3 << 8 | 4 << 10, "stm32", None, "say which with --board"),
])
def test_flash_refuses_boards_it_cannot_serve(impl, version, mpy, platform, board, expect):
    from sesame_tools.boardio.repl import BoardError
    from sesame_tools.boardio.flasher import Flasher

    f = Flasher("/dev/ttyACM0", board, echo=lambda *a, **k: None)
    with pytest.raises(BoardError) as e:
        f.check(_FakeBoard(BoardInfo(impl, version, mpy, platform, "")))
    assert expect in e.value.message, e.value.message


def test_flash_recognises_a_pico():
    from sesame_tools.boardio.flasher import Flasher

    f = Flasher("/dev/ttyACM0", None, echo=lambda *a, **k: None)
    info = f.check(_FakeBoard(BoardInfo("micropython", (1, 24, 1), 6 | 3 << 8 | 4 << 10,
                                        "rp2", "Raspberry Pi Pico with RP2040")))
    assert f.board_name == "pico" and info.arch == "armv6m"


class _ReplBoard:
    """What keep_watchdog_fed sees of a board: its config.json, and the code it runs."""

    def __init__(self, config):
        self.config, self.ran = config, []

    def eval(self, expr):
        if self.config is None:
            from mpremote.transport import TransportExecError
            raise TransportExecError(b"", "OSError: [Errno 2] ENOENT")
        return self.config

    def exec(self, code, timeout=10):
        self.ran.append(code)
        return b""


@pytest.mark.parametrize("platform,config,fed", [
    ("rp2", '{"watchdog": true}', True), ("esp32", '{"watchdog": true, "board": "esp32"}', True),
    ("rp2", '{"watchdog": false}', False), ("rp2", None, False), ("rp2", "[1]", False),
    ("linux", '{"watchdog": true}', False),
])
def test_a_running_watchdog_is_fed_while_flashing(platform, config, fed, tmp_path):
    """A board flashed with "watchdog": true would reset mid-copy (nothing stops its
    watchdog): `sesame flash` feeds it from a timer; never starts one otherwise."""
    import sys
    import types

    from sesame_tools.boardio.flasher import WATCHDOG_FEEDER, Flasher
    from sesame_tools.boardio.mpybuild import compile_mpy

    b = _ReplBoard(config)
    info = BoardInfo("micropython", (1, 24, 1), 6 | 4 << 10, platform, "")
    assert Flasher("p", echo=lambda *a, **k: None).keep_watchdog_fed(b, info) is fed
    assert b.ran == ([WATCHDOG_FEEDER] if fed else [])
    # the snippet compiles for the board, and feeds from the timer
    src = tmp_path / "feeder.py"
    src.write_text(WATCHDOG_FEEDER)
    assert compile_mpy(src, "feeder.py", "armv6m")
    feeds, timers = [], []
    machine = types.SimpleNamespace(
        WDT=lambda timeout: types.SimpleNamespace(feed=lambda: feeds.append(timeout)),
        Timer=lambda i: types.SimpleNamespace(init=lambda **k: timers.append((i, k))))
    machine.Timer.PERIODIC = 1
    saved = sys.modules.get("machine")
    sys.modules["machine"] = machine
    try:
        exec(WATCHDOG_FEEDER, {})
    finally:
        sys.modules.pop("machine")
        if saved is not None:
            sys.modules["machine"] = saved
    (tid, kw), = timers
    assert tid == -1 and kw["period"] <= 2000 and feeds == [8000]
    kw["callback"](None)
    assert feeds == [8000, 8000]
