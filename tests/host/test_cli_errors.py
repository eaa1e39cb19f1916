"""Clean errors, no tracebacks, for mistyped command lines."""

from click.testing import CliRunner

from sesame_tools.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_unknown_card_is_a_clean_error():
    for cmd in (["card"], ["verify", "12345678"]):
        r = run(*cmd, "--card", "nosuch")
        assert r.exit_code == 1 and r.exception.__class__ is SystemExit, r.output
        assert "no card profile 'nosuch'" in r.output and "visa_dpa" in r.output


def test_data_fields_running_into_the_code_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SESAME_STATE_DIR", str(tmp_path))
    r = run("verify", "--mode", "sign", "--data", "1234567890", "42", "0891", "9705")
    assert r.exit_code == 2 and "separated by commas" in r.output, r.output
    assert not list(tmp_path.iterdir())  # nothing checked, no issuer state written


def test_hil_pin_without_a_port_is_refused():
    # the simulated board's card has 1234: a real card's PIN is never typed into it
    r = run("hil", "--pin", "4321")
    assert r.exit_code == 2 and "--pin is for a real board" in r.output, r.output
    assert "4321" not in r.output
