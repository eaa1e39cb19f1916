"""Board code type-checks (mypy) against the MicroPython stubs of its port, one stub set
per run: boards/pico + the RP2040 drivers against micropython-rp2-rpi-pico-stubs,
boards/esp32 + the ESP32 drivers against micropython-esp32-stubs. `make venv` installs
each stub set into its own folder (.venv/stubs/<port>), as they define the same modules.
Errors inside the stubs themselves are not ours and are silenced; `ssd1306` comes from
micropython-lib at deploy time (no stub), and so does `usb.device` (usb-device-cdc, the Pico's
PC/SC channel)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STUBS = ROOT / ".venv" / "stubs"
COMMON = ["firmware/drivers/max7219.py", "firmware/drivers/ssd1306_screen.py",
          "firmware/drivers/realboard.py", "firmware/drivers/cardline.py"]
SETS = {
    "rp2": ["boards/pico/board.py", "boards/pico/pins.py", "firmware/drivers/rp2_cardline.py",
            "firmware/drivers/card_pio.py", "firmware/drivers/usb_cdc_channel.py"],
    "esp32": ["boards/esp32/board.py", "boards/esp32/pins.py", "firmware/drivers/esp32_cardline.py"],
}
BOARD_DIR = {"rp2": "boards/pico", "esp32": "boards/esp32"}


def run_mypy(port, tmp_path):
    stubs = STUBS / port
    assert (stubs / "machine.pyi").exists(), f"stubs missing: run `make venv` ({stubs})"
    mods = sorted({p.stem if p.is_file() else p.name for p in stubs.iterdir()
                   if (p.suffix == ".pyi" or (p.is_dir() and (p / "__init__.pyi").exists()))})
    pats = ",".join(m for n in mods for m in (n, n + ".*"))
    cfg = tmp_path / "mypy.ini"
    cfg.write_text(f"[mypy]\nfollow_imports = silent\ncheck_untyped_defs = True\nno_site_packages = True\n"
                   f"[mypy-{pats}]\nignore_errors = True\n"
                   "[mypy-ssd1306]\nignore_missing_imports = True\n"
                   "[mypy-usb.*]\nignore_missing_imports = True\n")
    env = {"MYPYPATH": f"{ROOT / 'firmware'}:{ROOT / BOARD_DIR[port]}:{stubs}", "PATH": "/usr/bin:/bin"}
    files = [str(ROOT / f) for f in SETS[port] + COMMON]
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(cfg),
                           "--custom-typeshed-dir", str(stubs), "--cache-dir", str(tmp_path / "c"),
                           *files], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)


@pytest.mark.parametrize("port", sorted(SETS))
def test_board_code_typechecks_against_port_stubs(port, tmp_path):
    r = run_mypy(port, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Success: no issues found" in r.stdout


def test_typecheck_can_fail(tmp_path):
    # The same check catches a wrong call into the port's API.
    bad = ROOT / "boards" / "pico" / "_typecheck_probe.py"
    bad.write_text("import machine\nmachine.Pin(2).value('x', 3, 4)\n")
    try:
        SETS["rp2"].append("boards/pico/_typecheck_probe.py")
        r = run_mypy("rp2", tmp_path)
    finally:
        SETS["rp2"].remove("boards/pico/_typecheck_probe.py")
        bad.unlink()
    assert r.returncode != 0 and "_typecheck_probe.py" in r.stdout, r.stdout
