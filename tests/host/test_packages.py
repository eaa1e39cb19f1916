"""MicroPython's own ways of installing the firmware, kept true to the tree:
boards/<board>/package.json (`mpremote mip install`) lists exactly the files `sesame flash`
deploys, as .py, and holds the board's micropython-lib dependencies (the only place they
are named); boards/<board>/manifest.py (a frozen build) freezes the same files and
requires the same dependencies. (`mip` from a folder onto the simulated board is run in
tests/hil/test_flash.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import sesame
from sesame_tools.boardio.deps import board_deps
from sesame_tools.firmware import BOARDS, MIP_BOARDS, board_files, package_json

REGENERATE = "run python -m sesame_tools.firmware"
FROZEN_BOARDS = ("pico", "esp32")


def on_board_as_py(board: str) -> set[str]:
    return {p[:-4] + ".py" if p.endswith(".mpy") else p for p in board_files(board)}


@pytest.mark.parametrize("board", MIP_BOARDS)
def test_package_json_lists_what_sesame_flash_deploys(board):
    path = BOARDS / board / "package.json"
    assert path.read_text() == package_json(board), REGENERATE
    pkg = json.loads(path.read_text())
    assert {dest for dest, _ in pkg["urls"]} == on_board_as_py(board)
    assert "manifest.py" not in {dest for dest, _ in pkg["urls"]}
    assert pkg["version"] == sesame.VERSION
    # as mpremote's mip resolves a relative url: the package.json's folder + "/" + url
    for dest, url in pkg["urls"]:
        src = Path(f"{path.parent}/{url}")
        assert src.is_file() and src.name == Path(dest).name, (dest, url)


def test_dependencies_come_from_package_json_only():
    assert board_deps("esp32") == ["ssd1306"]
    assert board_deps("pico") == ["ssd1306", "usb-device-cdc"]  # + its PC/SC channel
    assert board_deps("sim") == []
    assert not list(BOARDS.glob("*/deps.json")), "package.json's deps are the one list"


class Manifest:
    """Evaluates a manifest.py with stand-ins for the functions MicroPython's build gives
    it (tools/manifestfile.py; docs: reference/manifest.rst): paths relative to the
    manifest's folder, package() = every .py under base_path/package_path, module() = one
    file, include() of the port's manifest recorded, require() recorded, options with
    defaults() as include(..., **kwargs) passes them."""

    class Options:
        def __init__(self, **kwargs):
            self._kwargs, self._defaults = kwargs, {}

        def defaults(self, **kwargs):
            self._defaults = kwargs

        def __getattr__(self, name):
            return self._kwargs.get(name, self._defaults.get(name))

    def __init__(self, path: Path, **options):
        self.dir = path.parent
        self.files: dict[str, Path] = {}  # frozen name -> source
        self.required: list[str] = []
        self.included: list[str] = []
        self.meta: dict = {}
        api = {"package": self.package, "module": self.module, "require": self.require,
               "include": self.include, "metadata": self.meta.update,
               "options": self.Options(**options)}
        exec(compile(path.read_text(), str(path), "exec"), api)

    def _add(self, name: str, src: Path) -> None:
        assert src.is_file(), f"{src} is not in the tree"
        assert name not in self.files, f"{name} frozen twice"
        self.files[name] = src

    def package(self, package_path, files=None, base_path=".", opt=None):
        base = (self.dir / base_path).resolve()
        assert files is None, "a file list here could drift from the tree"
        top = base / package_path
        assert top.is_dir(), f"no package {top}"
        for dirpath, _, names in os.walk(top):
            for n in names:
                if n.endswith(".py"):
                    src = Path(dirpath) / n
                    self._add(src.relative_to(base).as_posix(), src)

    def module(self, module_path, base_path=".", opt=None):
        src = (self.dir / base_path / module_path).resolve()
        self._add(Path(module_path).as_posix(), src)

    def require(self, name, version=None, **kwargs):
        self.required.append(name)

    def include(self, manifest_path, **kwargs):
        assert manifest_path in ("$(PORT_DIR)/boards/manifest.py",), manifest_path
        self.included.append(manifest_path)


@pytest.mark.parametrize("board", FROZEN_BOARDS)
def test_manifest_freezes_what_sesame_flash_deploys(board):
    m = Manifest(BOARDS / board / "manifest.py")
    expected = {dest: src.resolve() for dest, src in board_files(board).items()}
    assert set(m.files) == on_board_as_py(board)
    for name, src in m.files.items():
        dest = name if name == "main.py" else name[:-3] + ".mpy"
        assert expected[dest] == src, name
    assert m.required == board_deps(board)
    assert m.included == ["$(PORT_DIR)/boards/manifest.py"]  # _boot.py: the filesystem
    assert m.meta["version"] == sesame.VERSION


@pytest.mark.parametrize("board", FROZEN_BOARDS)
def test_manifest_can_leave_main_py_out(board):
    """A frozen main.py runs in place of the filesystem's: main=False keeps yours."""
    m = Manifest(BOARDS / board / "manifest.py", main=False)
    assert set(m.files) == on_board_as_py(board) - {"main.py"}


def test_manifest_check_sees_a_missing_module(tmp_path):
    """The stand-ins notice a manifest that names a file the tree does not have."""
    bad = tmp_path / "manifest.py"
    bad.write_text('module("no_such_module.py")\n')
    with pytest.raises(AssertionError, match="not in the tree"):
        Manifest(bad)


def test_not_on_the_board():
    """The manifest is for firmware builds: `sesame flash` does not copy it."""
    assert (BOARDS / "pico" / "manifest.py").exists()
    assert not [p for p in board_files("pico") if p.startswith("manifest.")]
