# Test link parsing and the production build's refusal of injection.
from sesame.reader.testlink import Link


def feed(link, s):
    out = None
    for b in s.encode():
        r = link.feed(b)
        if r is not None:
            out = r
    return out


def make(test_build):
    lines = []
    return Link(lines.append, test_build), lines


def test_parse_commands_and_ignore_noise():
    link, _ = make(True)
    assert feed(link, "!key CODE\n") == ("key", "CODE")
    assert feed(link, "!ping\r") == ("ping", "")
    assert feed(link, ">>> print(1)\n") is None
    assert feed(link, "x" * 100 + "\n") is None


def test_key_injection_in_test_build():
    link, lines = make(True)
    assert link.check("key", "7") == ("key", "7")
    assert link.check("key", "BOOM") is None and lines == ["@error unknown key\n"]


def test_production_build_refuses_injection():
    link, lines = make(False)
    assert link.check("key", "CODE") is None
    assert link.check("card", "in", True) is None
    assert lines[0].startswith("@refused key injection")
    assert lines[1].startswith("@refused card injection")


def test_card_control_only_on_sim():
    link, lines = make(True)
    assert link.check("card", "in", False) is None and lines[0].startswith("@refused")
    assert link.check("card", "out", True) == ("card", False)


def test_events():
    link, lines = make(True)
    link.event("disp", "1234 5678")
    link.event("off")
    assert lines == ["@disp 1234 5678\n", "@off\n"]


def test_binary_and_overlong_lines_are_ignored_not_fatal():
    link, _ = make(True)
    out = [link.feed(b) for b in b"!\xff\xfe\n"]
    assert out == [None] * 4
    out = [link.feed(b) for b in b"!key " + b"1" * 60 + b"\n"]
    assert out == [None] * len(out)
    assert feed(link, "!key OK\n") == ("key", "OK")  # the next line is parsed again
