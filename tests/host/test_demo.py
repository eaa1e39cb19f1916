"""The interactive demo's big 7-segment rendering and key mapping (CPython, no board)."""

from sesame_tools.boardio.testlink import Event
from sesame_tools.sim.demo import ROWS, WIDTH, Screen, commands, layout, render


def blank_columns(rows: list[str]) -> list[bool]:
    return [all(r[i] == " " for r in rows) for i in range(WIDTH)]


def longest_blank_run(rows: list[str], start: int, end: int) -> int:
    best = run = 0
    for blank in blank_columns(rows)[start:end]:
        run = run + 1 if blank else 0
        best = max(best, run)
    return best


def test_code_rows_and_width():
    rows = render("1234 5678")
    assert len(rows) == ROWS == 5
    assert all(len(r) == WIDTH for r in rows)
    assert any(r.strip() for r in rows)


def test_every_text_has_the_same_size():
    for text in ("rEAdY", "InSErt", "PIn", "----", "bUSY", "2 triES", "no CArd",
                 "Err CArd", "bLOCKEd", "PIn OFF", "no APPLi", "12.34", "1-123456", ""):
        rows = render(text)
        assert len(rows) == ROWS and {len(r) for r in rows} == {WIDTH}, text


def test_digits_are_distinguishable():
    glyphs = [render(d) for d in "0123456789"]
    assert len({tuple(g) for g in glyphs}) == 10
    assert render("8") != render("0")
    assert render("8")[2].strip() and not render("0")[2].strip()  # G, the middle bar


def test_one_has_no_top_segment():
    assert not render("1")[0].strip()
    assert render("7")[0].strip()
    assert render("-")[2].strip() and not "".join(render("-")[i] for i in (0, 1, 3, 4)).strip()


def test_group_gap():
    code, plain = render("1234 5678"), render("12345678")
    # the same eight digits, the code with a wider blank between its two groups
    assert longest_blank_run(code, 1, WIDTH - 4) > longest_blank_run(plain, 1, WIDTH - 4)
    assert layout("1234 5678") == (layout("12345678")[0], 4)
    # a space in a text that fits the display is a blank digit, not a gap
    cells, gap = layout("2 triES")
    assert gap is None and cells[1] == 0


def test_decimal_point():
    cells, plain = layout("12.34")[0], layout("1234")[0]
    assert cells[1] == plain[1] | 0x80 and cells[:1] + cells[2:] == plain[:1] + plain[2:]
    assert render("12.34") != render("1234")


def test_unknown_characters_are_blank():
    for text in ("@#%", "é€", "\x00\t", "x" * 40, "WWWWWWWWW MMMM"):
        rows = render(text)
        assert len(rows) == ROWS and {len(r) for r in rows} == {WIDTH}
    assert render("@") == render("")
    assert not "".join(render("@#%")).strip()


def test_lowercase_uses_the_nearest_glyph():
    assert render("y") == render("Y")
    assert render("P") == render("p")
    assert render("b") != render("8")


def test_off_is_dark():
    rows = render("", on=False)
    assert len(rows) == ROWS and all(r == " " * WIDTH for r in rows)
    assert render("1234 5678", on=False) == rows


def test_ascii_style():
    rows = render("8.", ascii=True)
    assert all(ch in " -|." for r in rows for ch in r)
    assert len(rows) == ROWS and "." in rows[-1]


class _Out:
    encoding = "utf-8"

    def __init__(self):
        self.text = ""

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass


def test_keys_to_commands():
    screen = Screen(_Out())
    screen.update(Event("@state idle"))
    cmds, quit_ = commands("c1234\r\x7f\x1b[Ars", screen)
    assert cmds == ["!key CODE"] + [f"!key {d}" for d in "1234"] + [
        "!key OK", "!key CLEAR", "!key RESPOND", "!key SIGN"]
    assert not quit_
    assert commands("i", screen) == (["!card out"], False)  # starts inserted
    screen.update(Event("@card out"))
    assert commands("i", screen) == (["!card in"], False)
    assert commands("1q2", screen) == (["!key 1"], True)
    assert commands("\x03", screen)[1]
    assert commands("x", screen) == ([], False)  # unmapped, reader on: nothing


def test_screen_follows_events():
    out = _Out()
    screen = Screen(out)
    screen.draw()
    for line in ("@state code", "@disp 1234 5678", "@ok key"):
        screen.update(Event(line))
    assert screen.dirty and screen.text == "1234 5678" and screen.on
    screen.draw()
    assert "state: code" in out.text and not screen.dirty
    screen.update(Event("@ok key"))
    assert not screen.dirty  # acks change nothing
    screen.update(Event("@state off"))
    screen.update(Event("@off"))
    screen.draw()
    assert not screen.on and "press a key to wake" in out.text
    assert commands("x", screen) == (["!key CLEAR"], False)  # any key wakes it
