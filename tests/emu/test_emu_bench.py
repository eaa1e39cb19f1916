"""The real-port figures of `make bench` (devtools/emubench.py) are measurements: the free
heap read from gc's allocation table is what gc.mem_free() says, the profile names the
functions MicroPython really runs, and one Identify gives figures that hang together."""

from __future__ import annotations

import re

import pytest

from emuhelp import mpremote
from parts import need
from sesame_tools.devtools import emubench
from sesame_tools.devtools.bench import CASES
from sesame_tools.emu.firmware import MissingPart
from sesame_tools.emu.symbols import Symbols, find_elf

pytestmark = pytest.mark.emu_matrix


@pytest.fixture(scope="module")
def symbols(parts):
    try:
        return Symbols(find_elf(parts["uf2"]))
    except MissingPart as e:  # a .uf2 from micropython.org comes without its .elf
        need(str(e), "the bench's real-port figures")


def test_heap_free_is_gc_mem_free(make_emu, symbols):
    emu = make_emu(inserted=False, heap=symbols.heap_spec())
    emu.watch_for("MF;")
    r = mpremote(emu.port, "exec", "import gc, time\ngc.collect()\n"
                 "print(gc.mem_free(), end='MF;')\ntime.sleep(1)\nx = bytearray(20000)\n"
                 "print(gc.mem_free())")
    assert r.returncode == 0, r.stdout + r.stderr
    before, after = (int(x) for x in re.findall(r"\d+", r.stdout)[:2])
    assert emu.seen("MF;")["heap_free"] == before  # printed, then asleep: nothing allocated
    assert after <= before - 20000


def test_profile_names_the_functions(make_emu, symbols):
    emu = make_emu(inserted=False)
    r = mpremote(emu.port, "exec", "print('go')")  # the raw REPL is up
    assert r.returncode == 0
    emu.profile_start(until="END;")
    r = mpremote(emu.port, "exec", "x = 0\nfor i in range(30000):\n    x += i * i\n"
                 "print(x, end='END;')")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = emu.profile_report()
    assert 0 < rep["awake_ns"] <= rep["span_ns"]
    funcs = dict(symbols.by_function(rep["pcs"]))
    assert sum(funcs.values()) == rep["cycles"] - rep["other_cycles"]
    named = sum(c for f, c in funcs.items() if f != "?")
    assert named > 0.9 * rep["cycles"]
    top = [f for f, _ in symbols.by_function(rep["pcs"])[:3]]
    assert "mp_execute_bytecode" in top, top


@pytest.mark.parametrize("link", ["T=0", "T=1"])
def test_bench_identify_on_the_real_port(flashed, symbols, tmp_path, state_dir, link):
    r = emubench.identify(flashed["image"], CASES[link][0], symbols, tmp_path)
    p, w = r["profile"], r["wire"]
    assert 100 < r["boot_ms"] < 5000
    assert r["heap_boot"] > p["heap_min"] > 64 * 1024  # the Pico's heap: far from tight
    assert w["chars"] > 300 and w["turns"] > 5
    assert w["chars_ms"] + w["answer_ms"] + w["turn_ms"] == pytest.approx(w["span_ms"])
    assert w["span_ms"] < p["span_ns"] / 1e6  # the wire inside OK -> code
    assert p["awake_ns"] <= p["span_ns"]
