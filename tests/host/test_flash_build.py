"""What `sesame flash` puts on each board, compiled by mpy-cross for its architecture."""

from pathlib import Path

import pytest

from sesame_tools.boardlink import BoardInfo
from sesame_tools.cmd_flash import compile_files, deploy_files


@pytest.mark.parametrize("board,arch", [("pico", "armv6m"), ("esp32", "xtensawin"),
                                        ("sim", "x64")])
def test_firmware_compiles_for_each_board(board, arch, tmp_path):
    files = deploy_files(board)
    assert files["main.py"].name == "main.py"
    assert "sesame/reader.mpy" in files and "sesame/trace.mpy" in files
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
