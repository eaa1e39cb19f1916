"""Fixtures of the PC/SC end-to-end tests; the private pcscd harness is private_pcscd.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from private_pcscd import Pcscd, require
from sesame_tools.sim.board import SimBoard


class Bench:
    """Two simulated boards (a T=0 and a T=1 card) behind one private pcscd."""

    T0 = "Sesame T0"
    T1 = "Sesame T1"
    SLOW = "Sesame slow"  # a T=0 card that sends NULL bytes for 4 s before each answer
    PULL = "Sesame pull"  # a T=0 card pulled out once it has a command's 5-byte header
    OWN = "Sesame own"  # a T=0 card a little slow (0.2 s a command): the reader's own flow

    def __init__(self, state: Path):
        from sesame_tools.vcard.profile import cards_dir

        slow = json.loads((cards_dir() / "visa_dpa.json").read_text())
        slow["link"] = {"null_bytes": 400, "null_delay_ms": 10}
        (state / "slow.json").write_text(json.dumps(slow))
        slow["link"] = {"remove_after": 5, "null_bytes": 10, "null_delay_ms": 50}
        (state / "pull.json").write_text(json.dumps(slow))
        slow["link"] = {"null_bytes": 20, "null_delay_ms": 10}
        (state / "own.json").write_text(json.dumps(slow))
        self.boards = {self.T0: SimBoard("visa_dpa"), self.T1: SimBoard("t1_card"),
                       self.SLOW: SimBoard(str(state / "slow.json")),
                       self.PULL: SimBoard(str(state / "pull.json")),
                       self.OWN: SimBoard(str(state / "own.json"))}
        from sesame_tools.boardio.testlink import LinkClient

        self.pcscd = None
        try:
            for b in self.boards.values():
                b.pcsc_tap = []
                link = LinkClient(b.start())
                link.sync()  # booted: pcscd gives a serial reader 2 s to answer, once
                link.close()
            self.pcscd = Pcscd({n: b.pcsc_port for n, b in self.boards.items()})
            self.names = self.pcscd.wait_readers(list(self.boards))
        except BaseException:
            self.stop()  # nothing left running when the set-up fails
            raise

    def name(self, short: str) -> str:
        return next(n for n in self.names if n.startswith(short))

    def stop(self) -> None:
        if self.pcscd is not None:
            self.pcscd.stop()
        for b in self.boards.values():
            b.stop()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    require()
    state = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SESAME_STATE_DIR", str(state))
        b = Bench(state)
        try:
            yield b
        finally:
            b.stop()
