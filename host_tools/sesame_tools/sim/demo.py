"""`sesame sim` with no option: the simulated reader, played from the terminal.

The reader's 8-digit 7-segment display is drawn with big characters (5 text rows a
digit), from the `@disp` / `@state` / `@off` / `@card` events of the test link (see
firmware/sesame/reader/testlink.py); keys pressed in the terminal become `!key` / `!card` commands:

    0-9 digits   c CODE   r RESPOND   s SIGN   Enter OK   Backspace CLEAR
    i insert/remove the card   q (or Ctrl-C) quit

The glyphs come from the firmware's own font (sesame.panel.segments), so the terminal shows
what a MAX7219 display would; the one difference is the code's group separator
("1234 5678"): a board lights the decimal point of the 4th digit, the demo leaves a gap.

`render()` is pure (text -> rows) for the tests; `run_demo()` owns the terminal: cbreak
mode and the alternate screen, both restored on any exit (q, Ctrl-C, an exception).
"""

from __future__ import annotations

import os
import re
import select
import sys
import termios
import tty
from typing import TextIO

import click

from sesame.panel.segments import DIGITS, DP, glyph
from sesame_tools.boardio.testlink import Event, LinkClient, LinkTimeout

# -- rendering ---------------------------------------------------------------------

ROWS = 5  # text rows a digit
_SEG_W = 6  # columns of the segments of one digit (horizontal segments: 4 columns)
_CELL = _SEG_W + 2  # + the decimal point's column + a space between digits
_GAP = 3  # extra columns between the two groups of a code ("1234 5678")
WIDTH = DIGITS * _CELL + _GAP  # every rendered row has this width

# Segment bits (MAX7219 order, as in sesame.panel.segments): A top, B top right, C bottom
# right, D bottom, E bottom left, F top left, G middle.
_A, _B, _C, _D, _E, _F, _G = 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01
_UNICODE = ("━", "┃", "▪")  # horizontal, vertical, decimal point
_ASCII = ("-", "|", ".")


def layout(text: str) -> tuple[list[int], int | None]:
    """The display's 8 digit patterns for `text`, and the digit the group gap follows
    (or None). Like sesame.panel.segments.encode: left-aligned, "." lights the previous
    digit's point, and in a text one too long the space is the group separator (here
    a gap, not a digit); any other space is a blank digit."""
    cells: list[int] = []
    gap: int | None = None
    group_space = len(text) > DIGITS
    for ch in text:
        if ch == "." and cells:
            cells[-1] |= DP
            continue
        if ch == " " and group_space and cells:
            gap, group_space = len(cells), False
            continue
        if len(cells) == DIGITS:
            break
        cells.append(glyph(ch) & ~DP)  # unknown characters: 0, a blank digit
    return cells + [0] * (DIGITS - len(cells)), gap


def _digit(seg: int, style: tuple[str, str, str]) -> list[str]:
    # One digit's rows, _CELL columns each (segments, decimal point, space).
    h, v, p = style
    inner = _SEG_W - 2

    def bar(on: int) -> str:  # A, G or D
        return " " + (h if on else " ") * inner + " "

    def side(left: int, right: int) -> str:  # F and B, or E and C
        return (v if left else " ") + " " * inner + (v if right else " ")

    rows = [bar(seg & _A), side(seg & _F, seg & _B), bar(seg & _G),
            side(seg & _E, seg & _C), bar(seg & _D)]
    rows = [r + "  " for r in rows]
    if seg & DP:
        rows[-1] = rows[-1][:_SEG_W] + p + " "
    return rows


def render(text: str, on: bool = True, ascii: bool = False) -> list[str]:
    """The big display showing `text`: ROWS strings of WIDTH columns (unlit segments
    are spaces; `on=False` is the dark display). `ascii` draws with - | . only."""
    if not on:
        return [" " * WIDTH] * ROWS
    cells, gap = layout(text)
    style = _ASCII if ascii else _UNICODE
    rows = [""] * ROWS
    for i, seg in enumerate(cells):
        if i == gap:
            rows = [r + " " * _GAP for r in rows]
        rows = [r + d for r, d in zip(rows, _digit(seg, style))]
    return [r.ljust(WIDTH) for r in rows]


# -- the terminal ------------------------------------------------------------------

HELP = ("0-9 digits  c CODE  r RESPOND  s SIGN  Enter OK  Backspace CLEAR  "
        "i card in/out  q quit")
KEYS = {"c": "CODE", "C": "CODE", "r": "RESPOND", "R": "RESPOND", "s": "SIGN",
        "S": "SIGN", "\r": "OK", "\n": "OK", "\x7f": "CLEAR", "\x08": "CLEAR",
        **{d: d for d in "0123456789"}}
_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|O.|.)?", re.S)  # arrows, F-keys...
_CLEAR = "\x1b[H\x1b[2J"
_ALT_ON, _ALT_OFF = "\x1b[?1049h\x1b[?25l", "\x1b[?25h\x1b[?1049l"  # + cursor hidden
_LIT, _DIM, _RESET = "\x1b[1;31m", "\x1b[2m", "\x1b[0m"


class Screen:
    """What the reader shows, as learnt from its events; draws it."""

    def __init__(self, out: TextIO):
        self.out = out
        self.ascii = not _encodable(out, "━┃▪┌─┐│└┘—")
        self.text = ""
        self.state = "?"
        self.card = True  # the simulated board starts with the card inserted
        self.note = ""  # the last refusal or error from the reader
        self.dirty = True  # to be drawn again

    @property
    def on(self) -> bool:
        return self.state != "off"

    def update(self, ev: Event) -> None:
        """Takes one event in (marks the screen dirty if it changes what is shown)."""
        before = (self.text, self.state, self.card, self.note)
        if ev.name == "disp":
            self.text = ev.arg
        elif ev.name == "state":
            self.state = ev.arg
        elif ev.name == "off":
            self.state = "off"
        elif ev.name == "card":
            self.card = ev.arg == "in"
        elif ev.name in ("refused", "error"):
            self.note = f"{ev.name}: {ev.arg}"
        elif ev.name == "ok" and ev.arg == "key":
            self.note = ""
        self.dirty |= before != (self.text, self.state, self.card, self.note)

    def draw(self) -> None:
        h, v, tl, tr, bl, br = ("-", "|", "+", "+", "+", "+") if self.ascii else \
            ("─", "│", "┌", "┐", "└", "┘")
        color = _LIT if self.on else _DIM
        lines = ["  Sésame: the simulated reader", "",
                 "  " + tl + h * (WIDTH + 4) + tr]
        lines += [f"  {v}  {color}{row}{_RESET}  {v}"
                  for row in render(self.text, self.on, self.ascii)]
        lines += ["  " + bl + h * (WIDTH + 4) + br, ""]
        card = "card inserted" if self.card else "no card"
        dash = "-" if self.ascii else "—"
        status = (f"off {dash} press a key to wake" if not self.on
                  else f"state: {self.state}   [{self.text}]")
        lines += [f"  {status}   {card}", f"  {_DIM}{self.note}{_RESET}", f"  {HELP}"]
        self.out.write(_CLEAR + "\r\n".join(lines) + "\r\n")
        self.out.flush()
        self.dirty = False


def _encodable(out: TextIO, chars: str) -> bool:
    try:
        chars.encode(getattr(out, "encoding", None) or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def commands(data: str, screen: Screen) -> tuple[list[str], bool]:
    """Link commands for what was typed, and whether to quit."""
    out: list[str] = []
    for ch in _ESCAPE.sub("", data):
        if ch in ("q", "Q", "\x03"):
            return out, True
        if ch in ("i", "I"):  # the reader answers with @card, which updates screen.card
            out.append("!card " + ("out" if screen.card else "in"))
        elif ch in KEYS:
            out.append("!key " + KEYS[ch])
        elif not screen.on:
            out.append("!key CLEAR")  # any other key wakes the reader, and only that
    return out, False


def run_demo(board) -> None:
    """The interactive reader on a started SimBoard, until q or Ctrl-C."""
    if not sys.stdin.isatty():
        click.echo("sesame sim is interactive: it needs a terminal. To press keys from a "
                   "script, use e.g.\n  sesame sim --keys \"CODE 1 2 3 4 OK\"", err=True)
        return
    client = LinkClient(board.port)
    screen = Screen(sys.stdout)
    client.listener = screen.update  # every event, also those read while syncing
    try:
        try:
            client.sync()
            client.send("!status")
            client.wait("disp")
        except LinkTimeout as e:
            raise click.ClickException(f"{e}\n{board.errors()}")
        _loop(board, client, screen)
    finally:
        client.close()


def _loop(board, client: LinkClient, screen: Screen) -> None:
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)  # keys one by one, no echo; Ctrl-C still interrupts
        sys.stdout.write(_ALT_ON)
        while True:
            if not board.alive():
                raise click.ClickException("the simulated board stopped:\n" + board.errors())
            if screen.dirty:
                screen.draw()
            ready, _, _ = select.select([fd, client.ser.fileno()], [], [], 0.2)
            if fd in ready:
                cmds, quit_ = commands(os.read(fd, 64).decode(errors="ignore"), screen)
                for c in cmds:
                    client.send(c)  # never waits: @ok key is ignored, events redraw
                if quit_:
                    return
            while True:  # drains the link (next_event reads at most ~0.05 s when idle)
                try:
                    ev = client.next_event(0.01)
                except OSError as e:  # the pty went away with the board
                    raise click.ClickException(f"lost the board: {e}\n{board.errors()}")
                if ev is None:
                    break
    except KeyboardInterrupt:
        return
    finally:
        sys.stdout.write(_ALT_OFF)
        sys.stdout.flush()
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
