"""The tree shows the layers: firmware subpackages import only downward, nothing in the pure
firmware touches silicon, the host tools have no import cycle, and no module outside the
tests is over 400 lines (the emulated Pico's JavaScript too)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
HOST = ROOT / "host_tools"

# What each firmware room may import besides itself and the package root (errors, clock,
# VERSION). The same order is written in firmware/sesame/__init__.py.
MAY_IMPORT = {
    "sesame.reader": {"sesame.ccid", "sesame.emv", "sesame.iso7816"},
    "sesame.ccid": {"sesame.iso7816"},
    "sesame.emv": set(),
    "sesame.iso7816": set(),
    "sesame.panel": set(),
}
SILICON = {"machine", "rp2", "esp32", "network", "neopixel"}


def imports(path: Path) -> list[str]:
    """Every module a file imports (absolute names; `from a import b` gives a.b and a)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
    return out


def module_name(path: Path, top: Path) -> str:
    parts = list(path.relative_to(top).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room(name: str) -> str | None:
    """The firmware room a module is in (sesame.reader...), None for the package root."""
    parts = name.split(".")
    return f"sesame.{parts[1]}" if len(parts) > 1 and f"sesame.{parts[1]}" in MAY_IMPORT else None


FIRMWARE_MODULES = sorted((FIRMWARE / "sesame").rglob("*.py"))


@pytest.mark.parametrize("path", FIRMWARE_MODULES, ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_firmware_imports_only_downward(path):
    me = module_name(path, FIRMWARE)
    mine = room(me)
    for name in imports(path):
        assert name.split(".")[0] not in SILICON, f"{me} imports {name}: pure layers never touch silicon"
        if not name.startswith("sesame"):
            continue
        target = room(name)
        if target is None or target == mine:
            continue
        assert mine and target in MAY_IMPORT[mine], \
            f"{me} ({mine or 'package root'}) imports {name} ({target}): not downward"


def test_every_firmware_room_is_known_and_documented():
    rooms = {p.parent.name for p in (FIRMWARE / "sesame").glob("*/__init__.py")}
    assert {f"sesame.{r}" for r in rooms} == set(MAY_IMPORT)
    doc = (FIRMWARE / "sesame" / "__init__.py").read_text()
    for r in rooms:
        assert f"{r}/" in doc, f"firmware/sesame/__init__.py does not describe {r}/"
        init = (FIRMWARE / "sesame" / r / "__init__.py").read_text().strip()
        assert init.startswith('"""') and "import" in init, f"{r}/__init__.py: one-line docstring " \
            "saying what lives there and what it may import"


def host_graph() -> dict[str, set[str]]:
    top = HOST
    mods = {module_name(p, top): p for p in (top / "sesame_tools").rglob("*.py")}
    graph = {}
    for name, path in mods.items():
        deps = set()
        for imp in imports(path):
            while imp and imp not in mods:
                imp = imp.rpartition(".")[0]
            if imp and imp != name and imp != "sesame_tools":
                deps.add(imp)
        graph[name] = deps
    return graph


def test_host_tools_have_no_import_cycle():
    graph = host_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert len(graph) > 20  # the walk saw the tree


@pytest.mark.parametrize("top", ["firmware", "boards", "host_tools"])
def test_no_module_over_400_lines(top):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / top).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines: {long}"


EMU_JS = HOST / "sesame_tools" / "emu" / "js"


def test_no_emulator_js_module_over_400_lines():
    # the emulated Pico's JavaScript, its tests (js/test/) too; node_modules is npm's
    files = [p for p in EMU_JS.rglob("*.js") if "node_modules" not in p.relative_to(EMU_JS).parts]
    assert len(files) > 10 and any(p.parent.name == "test" for p in files)  # the walk saw them
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines: {long}"


def test_every_package_is_in_pyproject():
    """A wheel (not only the editable install) carries every subpackage."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {module_name(p, FIRMWARE) for p in (FIRMWARE / "sesame").rglob("__init__.py")}
    found |= {module_name(p, HOST) for p in (HOST / "sesame_tools").rglob("__init__.py")}
    assert found == listed
