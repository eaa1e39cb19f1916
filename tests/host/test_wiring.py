"""The wiring pictures and tables in boards/<board>/ are what the pin maps generate
(regenerate with `python -m sesame_tools.devtools.wiring`)."""

import pytest

from sesame_tools.devtools import wiring


@pytest.mark.parametrize("board", wiring.BOARDS)
def test_wiring_picture_and_table_match_the_pin_map(board):
    d = wiring.ROOT / "boards" / board
    assert (d / "wiring.svg").read_text() == wiring.svg(board), "run python -m sesame_tools.devtools.wiring"
    text = (d / "README.md").read_text()
    assert wiring.readme_with_table(board, text) == text, "run python -m sesame_tools.devtools.wiring"


@pytest.mark.parametrize("board", wiring.BOARDS)
def test_pin_map_is_consistent(board):
    m = wiring.pin_map(board)
    gpios = [g for _, g, _, _, _ in m["WIRING"]]
    assert len(gpios) == len(set(gpios)), "a GPIO used twice"
    named = {v for k, v in m.items() if k.isupper() and isinstance(v, int) and not k.endswith("_ID")}
    named |= set(m["KEY_ROWS"]) | set(m["KEY_COLS"])
    assert named == set(gpios), "the wiring table and the constants disagree"
