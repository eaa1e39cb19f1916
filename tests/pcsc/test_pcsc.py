"""The reader as a PIN-pad PC/SC reader: simulated boards behind a private pcscd (see
conftest.py), used by pcsc_scan, pyscard and opensc-tool exactly as a user would."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sesame_tools.boardio.testlink import LinkClient
from sesame_tools.vcard import profile as profiles

SESAME = str(Path(sys.executable).parent / "sesame")
ATR_T0 = "3B 65 00 00 20 63 CB 68 00"
ATR_T1 = "3B 80 81 31 FE 45 8B"
PIN = b"\x01\x02\x03\x04"


def connect(short: str):
    from smartcard.System import readers

    r = next(x for x in readers() if str(x).startswith(short))
    c = r.createConnection()
    c.connect()
    return c


def close(c) -> None:
    c.disconnect()
    c.release()  # its PC/SC context too, before the module's pcscd stops


class PcscTransport:
    """The firmware's transport contract (transmit(apdu) -> data + SW) over pyscard. PC/SC
    hands T=0 answers over as the card gave them: 61xx and 6Cxx are the application's."""

    def __init__(self, conn):
        self.c = conn
        self.log: list[tuple[bytes, bytes]] = []

    def transmit(self, apdu) -> bytes:
        apdu = bytes(apdu)
        data, sw1, sw2 = self.c.transmit(list(apdu))
        for _ in range(8):
            if sw1 == 0x6C:
                data, sw1, sw2 = self.c.transmit(list(apdu[:4]) + [sw2])
            elif sw1 == 0x61:
                more, sw1, sw2 = self.c.transmit([0x00, 0xC0, 0x00, 0x00, sw2])
                data = data + more
            else:
                break
        r = bytes(data) + bytes([sw1, sw2])
        self.log.append((apdu, r))
        return r


def features(conn) -> dict[int, int]:
    from smartcard.scard import SCARD_CTL_CODE

    raw = conn.control(SCARD_CTL_CODE(3400), [])
    out, i = {}, 0
    while i + 2 <= len(raw):
        tag, n = raw[i], raw[i + 1]
        out[tag] = int.from_bytes(bytes(raw[i + 2:i + 2 + n]), "big")
        i += 2 + n
    return out


def verify_structure(apdu: bytes, timeout_s: int = 20) -> list[int]:
    # PC/SC part 10 PIN_VERIFY_STRUCTURE for an EMV plaintext PIN block (2L PIN F...):
    # PIN BCD from data byte 1 (bytes, left), 4-bit length at bit 4, 7-byte block
    s = struct.pack("<BBBBBHBBHB3sI", timeout_s, 0, 0x89, 0x47, 0x04, 0x040C, 0x02, 0x01,
                    0x0409, 0x00, b"\0\0\0", len(apdu))
    return list(s + apdu)


VERIFY_TEMPLATE = bytes.fromhex("0020008008 20FFFFFFFFFFFFFF")


def wait_free(link, timeout: float = 15) -> None:
    """Until no PC application holds the card (pcscd powers it off a moment after use)."""
    end = time.monotonic() + timeout
    while True:
        link.send("!status")
        if link.wait("disp").arg == "rEAdY":
            return
        assert time.monotonic() < end, "the reader stayed held by the PC"
        time.sleep(0.3)


def select_cap(t: PcscTransport) -> None:
    r = t.transmit(bytes.fromhex("00A4040007A000000003800200"))
    assert r[-2:] == b"\x90\x00", r.hex()


def test_pcsc_scan_shows_the_readers_and_their_atrs(bench):
    r = subprocess.run(["pcsc_scan", "-t", "3"], capture_output=True, text=True, timeout=30)
    out = r.stdout
    for name, atr in ((bench.T0, ATR_T0), (bench.T1, ATR_T1)):
        assert bench.name(name) in out, out
        assert atr in out, out


@pytest.mark.parametrize("short", ["Sesame T0", "Sesame T1"])
def test_pyscard_runs_the_emv_commands(bench, short):
    c = connect(short)
    try:
        t = PcscTransport(c)
        fci = t.transmit(bytes.fromhex("00A4040007A000000003800200"))
        assert fci[-2:] == b"\x90\x00" and fci[0] == 0x6F, fci.hex()
        gpo = t.transmit(bytes.fromhex("80A8000002830000"))
        assert gpo[-2:] == b"\x90\x00", gpo.hex()
        rec = t.transmit(bytes.fromhex("00B2010C00"))
        assert rec[-2:] == b"\x90\x00" and rec[0] == 0x70, rec.hex()
        cdol = bytes(29)
        ac = t.transmit(bytes.fromhex("80AE80001D") + cdol + b"\x00")
        assert ac[-2:] == b"\x90\x00" and ac[0] in (0x77, 0x80), ac.hex()
        if short.endswith("T0"):  # the host saw the card's 61xx (TPDU level)
            raw = c.transmit(list(bytes.fromhex("00A4040007A000000003800200")))
            assert raw[1] == 0x61, raw
    finally:
        close(c)


@pytest.mark.parametrize("short,card", [("Sesame T0", "visa_dpa"), ("Sesame T1", "t1_card")])
def test_a_cap_identify_computed_on_the_pc_is_accepted(bench, short, card):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "firmware"))
    from sesame.emv.cap import Cap

    c = connect(short)
    try:
        t = PcscTransport(c)
        res = Cap(t).run(bytearray(PIN), 4, "identify")
    finally:
        close(c)
    assert re.fullmatch(r"\d{8}", res.code), res.code
    verify = [x for x in t.log if x[0][1] == 0x20]
    assert verify and verify[0][1] == b"\x90\x00"  # a plain VERIFY from the PC passes through
    v = subprocess.run([SESAME, "verify", "--card", card, res.code], capture_output=True,
                       text=True, timeout=60)
    assert v.returncode == 0 and v.stdout.startswith("accepted"), (v.stdout, v.stderr)


def modify_structure(apdu: bytes, confirm: int = 0x03, timeout_s: int = 20) -> list[int]:
    # PIN_MODIFY_STRUCTURE: old PIN in the first 8-byte block, new in the second (EMV
    # plaintext blocks), current PIN asked (b1) and the new one twice (b0)
    s = struct.pack("<BBBBBBBHBBBHBBB3sI", timeout_s, 0, 0x89, 0x47, 0x04, 0x00, 0x08,
                    0x040C, confirm, 0x02, 0x03, 0x0409, 0, 1, 2, b"\0\0\0", len(apdu))
    return list(s + apdu)


MODIFY_TEMPLATE = bytes.fromhex("0024000010 20FFFFFFFFFFFFFF 20FFFFFFFFFFFFFF")


def _pin_pad(link, short, keys, template=VERIFY_TEMPLATE, modify=False):
    """FEATURE_VERIFY_PIN_DIRECT (or MODIFY) with `keys` pressed on the board; returns the
    answer."""
    c = connect(short)
    try:
        t = PcscTransport(c)
        select_cap(t)
        f = features(c)
        assert 0x06 in f and 0x07 in f, f  # VERIFY_PIN_DIRECT, MODIFY_PIN_DIRECT
        out: dict = {}

        def run():
            try:
                out["r"] = c.control(f[0x07], modify_structure(template)) if modify else \
                    c.control(f[0x06], verify_structure(template))
            except Exception as e:  # noqa: BLE001 (reported below)
                out["e"] = e

        th = threading.Thread(target=run)
        th.start()
        link.wait("state", "pcpin", timeout=20)
        for k in keys:
            if k == "|":  # the next PIN prompt
                link.wait("state", "pcpin", timeout=20)
                continue
            link.key(k)
        th.join(60)
        assert not th.is_alive()
        if "e" in out:
            raise out["e"]
        return bytes(out["r"])
    finally:
        close(c)


@pytest.mark.parametrize("short", ["Sesame T0", "Sesame T1"])
def test_verify_pin_direct_with_the_keys_on_the_board(bench, short):
    board = bench.boards[short]
    board.pcsc_tap.clear()
    link = LinkClient(board.port)
    link.sync()
    r = _pin_pad(link, short, ["9", "9", "9", "9", "OK"])
    assert r[0] == 0x63 and r[1] & 0xF0 == 0xC0 and r[1] & 0x0F == 2, r.hex()
    link.wait("disp", "2 triES", timeout=5)
    assert "----" in [e.arg for e in link.history if e.name == "disp"]
    r = _pin_pad(link, short, ["1", "2", "3", "CLEAR", "3", "4", "OK"])
    assert r == b"\x90\x00", r.hex()
    link.wait("disp", "PIn OK", timeout=5)
    # the PIN never crossed the PC/SC channel, in either direction
    wire = b"".join(d for _, d in board.pcsc_tap)
    for pin in ("1234", "9999"):
        for enc in (bytes.fromhex("24" + pin), pin.encode(), bytes(int(x) for x in pin)):
            assert enc not in wire, (pin, enc.hex())
    # nor the test link (display texts only)
    assert not [e for e in link.history if re.search(r"\d{4}", e.arg or "") and e.name != "ready"]
    link.close()


def test_a_pin_entry_cancelled_on_the_keypad(bench):
    link = LinkClient(bench.boards["Sesame T0"].port)
    link.sync()
    r = _pin_pad(link, "Sesame T0", ["1", "CLEAR", "CLEAR"])
    link.close()
    assert r == b"\x64\x01", r.hex()  # PC/SC: cancelled by the user


def test_modify_pin_direct_asks_three_pins_and_checks_the_confirmation(bench):
    board = bench.boards["Sesame T0"]
    board.pcsc_tap.clear()
    link = LinkClient(board.port)
    link.sync()
    old, new = ["1", "2", "3", "4"], ["5", "6", "7", "8"]
    r = _pin_pad(link, "Sesame T0", old + ["OK", "|"] + new + ["OK", "|"] + new[:3] + ["9", "OK"],
                 MODIFY_TEMPLATE, modify=True)
    assert r == b"\x64\x02", r.hex()  # the two new PINs differ: nothing sent to the card
    prompts = [e.arg for e in link.history if e.name == "disp"]
    assert "OLd PIn" in prompts and "nEU PIn" in prompts and "AGAIn" in prompts, prompts
    r = _pin_pad(link, "Sesame T0", old + ["OK", "|"] + new + ["OK", "|"] + new + ["OK"],
                 MODIFY_TEMPLATE, modify=True)
    assert len(r) == 2 and r != b"\x64\x02", r.hex()  # the card's own answer to 0024
    wire = b"".join(d for _, d in board.pcsc_tap)
    assert bytes.fromhex("241234") not in wire and bytes.fromhex("245678") not in wire
    link.close()


def test_own_keys_wait_while_a_pc_application_holds_the_card(bench):
    board = bench.boards["Sesame T0"]
    link = LinkClient(board.port)
    link.sync()
    c = connect("Sesame T0")
    try:
        link.key("CODE")
        shown = [e.arg for e in link.history if e.name == "disp"]
        assert shown[-1] == "PC USE", shown
        PcscTransport(c).transmit(bytes.fromhex("00A4040007A000000003800200"))
    finally:
        close(c)
    wait_free(link)  # pcscd powers the card off once no application holds it; then CODE works
    link.key("CODE")
    assert [e.arg for e in link.history if e.name == "disp"][-1] == "PIn"
    link.key("CLEAR")
    link.close()


def test_opensc_tool_reads_the_atr_and_sends_an_apdu(bench):
    r = subprocess.run(["opensc-tool", "--list-readers"], capture_output=True, text=True,
                       timeout=30)
    assert "PIN pad" in r.stdout and "Sesame T0" in r.stdout, r.stdout
    idx = next(line.split()[0] for line in r.stdout.splitlines() if "Sesame T0" in line)
    r = subprocess.run(["opensc-tool", "--reader", idx, "--atr"], capture_output=True,
                       text=True, timeout=30)
    assert r.stdout.strip().lower() == ATR_T0.replace(" ", ":").lower(), r.stdout + r.stderr
    r = subprocess.run(["opensc-tool", "--reader", idx, "--send-apdu", "00A4040007A0000000038002",
                        "--send-apdu", "00B2010C00"], capture_output=True, text=True, timeout=30)
    assert r.stdout.count("SW1=0x90, SW2=0x00") == 2, r.stdout + r.stderr


def test_a_slow_card_answers_through_time_requests(bench):
    # 4 s of NULL bytes: longer than the driver's 3 s read timeout; the reader's time
    # requests (80) keep it waiting
    c = connect(bench.SLOW)
    try:
        t0 = time.monotonic()
        r = PcscTransport(c).transmit(bytes.fromhex("00B2010C00"))
        took = time.monotonic() - t0
    finally:
        close(c)
    assert r[-2:] == b"\x90\x00", r.hex()
    assert took > 3.5, took
    wire = b"".join(d for way, d in bench.boards[bench.SLOW].pcsc_tap if way == "out")
    assert b"\x80" in wire


def test_the_card_pulled_out_mid_command_gives_the_pc_sc_error(bench):
    from smartcard.Exceptions import CardConnectionException

    c = connect(bench.PULL)
    t0 = time.monotonic()
    with pytest.raises(CardConnectionException) as e:
        c.transmit(list(bytes.fromhex("00B2010C00")))
    assert time.monotonic() - t0 < 5, "the application waited too long"
    msg = str(e.value).lower()  # SCARD_E_NO_SMARTCARD (or SCARD_W_REMOVED_CARD)
    assert "no smart card inserted" in msg or "removed" in msg, e.value
    for end in (c.disconnect, c.release):
        try:
            end()
        except Exception:  # noqa: BLE001 (the card is gone: the handle is dead)
            pass
    link = LinkClient(bench.boards[bench.PULL].port)
    link.sync()
    link.send("!status")
    assert link.wait("disp").arg == "InSErt"  # the reader saw it go, and is back at idle
    link.close()


def _frame(msg: bytes) -> bytes:
    f = b"\x03\x06" + msg
    x = 0
    for b in f:
        x ^= b
    return f + bytes([x])


def _read(ser, n: int, timeout: float = 3) -> bytes:
    out = b""
    end = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < end:
        out += ser.read(n - len(out))
    return out


def test_garbage_and_bad_frames_are_naked_and_the_channel_recovers(tmp_path, monkeypatch):
    # No pcscd: the board's PC/SC channel driven byte by byte.
    import serial

    from sesame_tools.sim.board import SimBoard

    monkeypatch.setenv("SESAME_STATE_DIR", str(tmp_path))
    with SimBoard() as board:
        link = LinkClient(board.port)
        link.sync()
        ser = serial.Serial(board.pcsc_port, 115200, timeout=0.2)
        status = bytes([0x65, 0, 0, 0, 0, 0, 7, 0, 0, 0])
        nak = b"\x03\x15\x16"
        ser.write(b"\x55\xAA\x00\xFF")  # noise outside a frame
        assert _read(ser, 3) == nak
        bad = bytearray(_frame(status))
        bad[-1] ^= 0x5A  # wrong LRC
        ser.write(bad)
        assert _read(ser, 3) == nak
        ser.write(b"\x03\x42")  # SYNC, then not ACK
        assert _read(ser, 3) == nak
        ser.write(_frame(status)[:8])  # a frame that stops half way
        assert _read(ser, 3, timeout=2) == nak
        ser.write(_frame(bytes([0x6F, 0xFF, 0xFF, 0, 0, 0, 8, 0, 0, 0])))  # 64 KB promised
        assert _read(ser, 3) == nak
        time.sleep(0.1)
        ser.reset_input_buffer()
        ser.write(_frame(status))  # and a good one is answered: echo, then the status
        echo, answer = _read(ser, 13), _read(ser, 13)
        assert echo == _frame(bytes([0x65, 0, 0, 0, 0, 0, 7, 0, 0, 0])), echo.hex()
        assert answer[:3] == b"\x03\x06\x81" and answer[8] == 7 and answer[9] == 1, answer.hex()
        link.send("!status")
        assert link.wait("state").arg == "idle"  # the reader itself never noticed
        assert not [e for e in link.history if e.name == "error"]
        ser.close()
        link.close()


def test_sesame_pcsc_prints_the_entry_and_checks_the_reader(bench, tmp_path):
    port = bench.boards[bench.T0].pcsc_port
    r = subprocess.run([SESAME, "pcsc", "--port", port], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"DEVICENAME   {port}:GemPCPinPad" in r.stdout and "libccidtwin.so" in r.stdout
    assert 'FRIENDLYNAME "Sesame"' in r.stdout
    r = subprocess.run([SESAME, "pcsc", "--port", port, "--install", "--conf-dir",
                        str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "restart pcscd" in r.stdout, r.stdout + r.stderr
    assert (tmp_path / "sesame").read_text().startswith("# Sesame PIN-pad reader")
    r = subprocess.run([SESAME, "pcsc", "--check", "--name", bench.T0], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "card:    present, ATR " + ATR_T0 in r.stdout, r.stdout
    assert "PIN pad: yes (FEATURE_VERIFY_PIN_DIRECT, FEATURE_MODIFY_PIN_DIRECT)" in r.stdout
    r = subprocess.run([SESAME, "pcsc", "--check", "--name", "Nobody"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "no reader named" in r.stderr, r.stderr


def test_the_readers_own_transaction_while_pcscd_polls(bench):
    # pcscd asks for the slot status every 400 ms; during the reader's own CAP flow those
    # polls are still answered on time (its card commands would get "slot busy"), so the
    # driver stays in step: no communication error, and the PC uses the card right after.
    board = bench.boards[bench.OWN]
    link = LinkClient(board.port)
    link.sync()
    wait_free(link)
    before = bench.pcscd.text().count("Error communicating")
    for k in ["CODE", "1", "2", "3", "4"]:
        link.key(k)
    t0 = time.monotonic()
    tap0 = len(board.pcsc_tap)
    link.key("OK")  # returns once the transaction is over (2 s of card work)
    took = time.monotonic() - t0
    shown = [e.arg for e in link.history if e.name == "disp"]
    assert re.fullmatch(r"\d{4} \d{4}", shown[-1]), shown
    link.key("CLEAR")
    link.close()
    assert took > 1 and len(board.pcsc_tap) > tap0 + 2, (took, len(board.pcsc_tap) - tap0)
    c = connect(bench.OWN)
    try:
        r = PcscTransport(c).transmit(bytes.fromhex("00A4040007A000000003800200"))
    finally:
        close(c)
    assert r[-2:] == b"\x90\x00", r.hex()
    assert bench.pcscd.text().count("Error communicating") == before, bench.pcscd.text()[-3000:]
