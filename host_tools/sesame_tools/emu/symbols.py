"""The MicroPython .elf's symbols (pyelftools): the functions the emulated CPU's cycles go
to, and where MicroPython keeps its heap, for the bench's real-port figures."""

from __future__ import annotations

import bisect
from pathlib import Path

import sesame_tools.emu.firmware as parts

ROM_END = 0x4000  # the RP2040's mask ROM: bootrom functions (float, memcpy) MicroPython calls


def find_elf(uf2: Path | None = None) -> Path:
    """The .elf of the .uf2 the emulator runs: beside it, same name (../shared/rp2/)."""
    uf2 = uf2 or parts.find_uf2()
    elf = uf2.with_suffix(".elf")
    if not elf.is_file():
        raise parts.MissingPart(f"no {elf.name} beside {uf2} (the build's symbols: "
                                "../shared/rp2/build.sh makes both)")
    return elf


class Symbols:
    def __init__(self, elf: Path):
        from elftools.elf.elffile import ELFFile

        funcs: list[tuple[int, int, str]] = []
        self.objects: dict[str, tuple[int, int]] = {}
        with open(elf, "rb") as f:
            tab = ELFFile(f).get_section_by_name(".symtab")
            if tab is None:
                raise ValueError(f"{elf} has no symbol table")
            for s in tab.iter_symbols():
                kind, addr, size = s["st_info"]["type"], s["st_value"], s["st_size"]
                if kind == "STT_FUNC" and size:
                    funcs.append((addr & ~1, size, s.name))  # Thumb: bit 0 set in the address
                elif s.name:
                    self.objects[s.name] = (addr, size)
        funcs.sort()
        self._starts = [a for a, _, _ in funcs]
        self._funcs = funcs

    def function(self, pc: int) -> str:
        """The function holding address pc ("bootrom" in the mask ROM, "?" outside any)."""
        if pc < ROM_END:
            return "bootrom"
        i = bisect.bisect_right(self._starts, pc) - 1
        if i >= 0:
            addr, size, name = self._funcs[i]
            if pc < addr + size:
                return name
        return "?"

    def by_function(self, pcs: list[list[int]]) -> list[tuple[str, float]]:
        """[[address, cycles]...] summed per function, the largest first."""
        out: dict[str, float] = {}
        for pc, cycles in pcs:
            name = self.function(pc)
            out[name] = out.get(name, 0) + cycles
        return sorted(out.items(), key=lambda kv: -kv[1])

    def heap_spec(self) -> dict:
        """What js/profile.js needs to find gc's allocation table: mp_state_ctx (address,
        size) and the heap's first byte (__GcHeapStart, where rp2's main.c starts gc_init)."""
        ctx, size = self.objects["mp_state_ctx"]
        start, _ = self.objects["__GcHeapStart"]
        return {"ctx": ctx, "size": size, "start": start}
