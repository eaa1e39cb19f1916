# The PC/SC slot (sesame.ccid): libccid's serial frame, the CCID messages against a
# scripted byte-level card, and the PIN put into the host's template.
from unitcheck import ScriptedLine, h
from sesame.ccid import frame, secure
from sesame.ccid.slot import Slot

ATR = "3B 65 00 00 20 63 CB 68 00"


class Chan:
    # The board's PC/SC channel: what the host sent (inq), what the reader wrote (out).
    def __init__(self):
        self.inq = bytearray()
        self.out = bytearray()

    def any(self):
        return len(self.inq)

    def readinto(self, buf):
        n = min(len(buf), len(self.inq))
        for i in range(n):
            buf[i] = self.inq[i]
        self.inq = self.inq[n:]
        return n

    def write(self, b):
        self.out += bytes(b)
        return len(b)


class App:
    def __init__(self):
        self.pin = bytearray(12)


class Host:
    # What sesame.reader.loop.Reader gives the slot; PINs "typed" from a list.
    def __init__(self, line, pins=()):
        self.line = line
        self.version = "0.1.0"
        self.app = App()
        self.pins = list(pins)
        self.held = []
        self.results = []
        self.busy = False

    def own_busy(self):
        return self.busy

    def stdio(self):
        return False  # the channel is a port of its own: "sesame:off" is refused

    def pc_hold(self, held):
        self.held.append(held)

    def pc_pin(self, prompt, lo, hi, ms):
        p = self.pins.pop(0)
        if isinstance(p, int):
            return p  # 0 cancelled, -1 timeout
        for i in range(len(p)):
            self.app.pin[i] = int(p[i])
        return len(p)

    def pc_wipe(self):
        for i in range(12):
            self.app.pin[i] = 0

    def pc_busy(self):
        pass

    def pc_result(self, sw):
        self.results.append(sw)


def msg(t, data=b"", seq=1, b7=0):
    return bytes([t, len(data) & 0xFF, len(data) >> 8, 0, 0, 0, seq, b7, 0, 0]) + data


def framed(m):
    f = bytes([3, 6]) + m
    x = 0
    for b in f:
        x ^= b
    return f + bytes([x])


def frames(out):
    # Splits what the reader wrote into ("frame", message) / ("nak",) / ("byte", b).
    res = []
    i = 0
    while i < len(out):
        if out[i] == 0x50:  # NotifySlotChange: 50 02 / 50 03
            res.append(("notify", out[i + 1]))
            i += 2
        elif out[i] == 3 and out[i + 1] == 0x15:
            res.append(("nak",))
            i += 3
        elif out[i] == 3:
            n = out[i + 3] | out[i + 4] << 8
            m = bytes(out[i + 2:i + 12 + n])
            x = 0
            for b in out[i:i + 12 + n + 1]:
                x ^= b
            assert x == 0, "bad LRC from the reader"
            res.append(("frame", m))
            i += 13 + n
        else:
            res.append(("byte", out[i]))
            i += 1
    return res


def run(slot, ch, m):
    # Sends one message; returns the answer (the frame after the echo) and the rest.
    ch.out = bytearray()
    ch.inq += framed(m)
    slot.service()
    fr = frames(ch.out)
    assert fr[0][0] == "frame" and fr[0][1][0] == m[0] and fr[0][1][1:5] == b"\0\0\0\0", fr
    rest = [x for x in fr[1:] if x[0] == "frame"]
    assert len(rest) == 1, fr
    return rest[0][1], fr


def slot_with(script, pins=()):
    line = ScriptedLine(script)
    ch = Chan()
    host = Host(line, pins)
    return Slot(ch, host), ch, host, line


def test_frame_good_bad_and_noise():
    ch = Chan()
    f = frame.Framer(ch)
    ch.inq += framed(msg(0x65))
    assert f.poll() and f.length() == 10 and f.rx[0] == 0x65
    bad = bytearray(framed(msg(0x65)))
    bad[-1] ^= 1
    ch.inq += bad
    assert not f.poll()
    assert bytes(ch.out) == h("03 15 16")
    ch.out = bytearray()
    ch.inq += h("03 42")  # SYNC then not ACK
    assert not f.poll() and bytes(ch.out) == h("03 15 16")


def test_frame_noise_and_stall_are_naked_once_quiet():
    ch = Chan()
    t = [0]
    f = frame.Framer(ch, ticks=lambda: t[0])
    ch.inq += h("55 AA")
    assert not f.poll() and not ch.out  # not at once: a frame may follow
    t[0] += 50
    assert not f.poll() and bytes(ch.out) == h("03 15 16")
    ch.out = bytearray()
    ch.inq += framed(msg(0x65))[:6]
    assert not f.poll() and not ch.out
    t[0] += 500
    assert not f.poll() and bytes(ch.out) == h("03 15 16")
    ch.out = bytearray()
    ch.inq += framed(msg(0x65, seq=9))
    assert f.poll() and f.rx[6] == 9


def test_open_sequence_and_status():
    s, ch, host, _ = slot_with([])
    a, _ = run(s, ch, msg(0x6B, b"\x02"))
    assert a[0] == 0x83 and a[10:] == b"Sesame 0.1.0"
    a, _ = run(s, ch, msg(0x6B, b"\x01\x01\x01"))
    assert a[0] == 0x83 and a[7] == 0x01 and a[8] == 0  # card present, inactive, ok
    a, _ = run(s, ch, msg(0x6B, b"\xb2\xa0\x00\x4d\x4c" + b" " * 160))
    assert a[0] == 0x83 and a[8] == 0
    a, _ = run(s, ch, msg(0x6B, b"\x6a"))
    assert a[0] == 0x83 and len(a) == 10 + 21 and a[10 + 13] == 4 and a[10 + 14] == 12
    a, _ = run(s, ch, msg(0x65, seq=0x42))
    assert a[0] == 0x81 and a[6] == 0x42 and a[7] == 1
    a, _ = run(s, ch, msg(0x6B, b"sesame:off"))
    assert a[7] == 0x41 and a[8] == 0x00
    a, _ = run(s, ch, msg(0x99))
    assert a[7] == 0x41 and a[8] == 0x00  # command not supported


def test_power_on_tpdus_and_params():
    s, ch, host, _ = slot_with([("", ATR),
                                ("00 A4 04 00 07", "A4"),
                                ("A0 00 00 00 03 80 02", "61 1E"),
                                ("00 CA 9F 17 00", "6C 04")])
    a, _ = run(s, ch, msg(0x62, b7=1))
    assert a[0] == 0x80 and a[10:] == h(ATR) and host.held == [True]
    a, _ = run(s, ch, msg(0x61, h("11 00 00 0A 00")))
    assert a[0] == 0x82 and a[9] == 0 and a[10:] == h("11 00 00 0A 00")
    # case 4 from the host: Le dropped, 61xx back as it came (TPDU level)
    a, _ = run(s, ch, msg(0x6F, h("00A4040007 A0000000038002 00")))
    assert a[10:] == h("611E")
    a, _ = run(s, ch, msg(0x6F, h("00CA9F1700")))
    assert a[10:] == h("6C04")
    a, _ = run(s, ch, msg(0x65))
    assert a[7] == 0  # present and active
    a, _ = run(s, ch, msg(0x63))
    assert a[0] == 0x81 and a[7] == 1 and host.held == [True, False]


def test_the_hosts_pps_is_confirmed_with_what_the_card_runs():
    s, ch, host, _ = slot_with([("", ATR)])
    run(s, ch, msg(0x62))
    a, _ = run(s, ch, msg(0x6F, h("FF 10 96 79")))
    assert a[10:] == h("FF 00 FF")  # no PPS1: default rate (the driver then uses Fi/Di 11)
    a, _ = run(s, ch, msg(0x6F, h("FF 11 EE")))
    assert a[7] == 0x40 and a[8] == 0xF6  # another protocol: not without a new activation


def test_busy_reader_answers_status_and_refuses_the_card():
    s, ch, host, _ = slot_with([])
    host.busy = True
    a, _ = run(s, ch, msg(0x65))
    assert a[0] == 0x81 and a[7] == 1
    a, _ = run(s, ch, msg(0x62))
    assert a[0] == 0x80 and a[7] == 0x41 and a[8] == 0xE0  # slot busy


def test_t1_blocks_pass_through():
    s, ch, host, _ = slot_with([("", "3B 80 81 31 FE 45 8B"),
                                ("00 C1 01 FE 3E", "00 E1 01 FE 1E"),  # the reader's own
                                ("00 C1 01 FE 3E", "00 E1 01 FE 1E"),  # the host's
                                ("00 00 05 00 C0 00 00 10 D5", "00 C3 01 02 C0")])
    a, _ = run(s, ch, msg(0x62))
    assert a[10:] == h("3B 80 81 31 FE 45 8B")
    a, _ = run(s, ch, msg(0x61, h("11 10 00 45 00 FE 00"), b7=1))
    assert a[9] == 1 and a[10:] == h("11 10 00 45 00 FE 00")
    a, _ = run(s, ch, msg(0x6F, h("00 C1 01 FE 3E")))
    assert a[10:] == h("00 E1 01 FE 1E")
    a, _ = run(s, ch, msg(0x6F, h("00 00 05 00 C0 00 00 10 D5")))
    assert a[10:] == h("00 C3 01 02 C0")  # S(WTX request): the host's to answer


def test_card_gone_mid_command():
    s, ch, host, line = slot_with([("", ATR), ("00 B2 01 0C 00", "")])
    run(s, ch, msg(0x62))
    line.present = lambda: False
    a, _ = run(s, ch, msg(0x6F, h("00B2010C00")))
    assert a[7] == 0x42 and a[8] == 0xFE and host.held == [True, False]


def test_secure_verify_t0_puts_the_pin_and_answers_the_sw_only():
    s, ch, host, line = slot_with([("", ATR),
                                   ("00 20 00 80 08", "20"),
                                   ("24 12 34 FF FF FF FF FF", "90 00")], pins=["1234"])
    run(s, ch, msg(0x62))
    body = h("00 1E 89 47 04 0C 04 02 01 09 04 00 000000 0020008008 20FFFFFFFFFFFFFF")
    a, fr = run(s, ch, msg(0x69, body))
    assert a[0] == 0x80 and a[10:] == h("9000") and host.results == [0x9000]
    assert h("241234") not in bytes(ch.out) and not any(host.app.pin)
    assert not any(secure._APDU)


def test_secure_cancel_timeout_and_t1_prologue():
    s, ch, host, _ = slot_with([("", ATR)], pins=[0, -1])
    run(s, ch, msg(0x62))
    body = h("00 1E 89 47 04 0C 04 02 01 09 04 00 000000 0020008008 20FFFFFFFFFFFFFF")
    a, _ = run(s, ch, msg(0x69, body))
    assert a[7] == 0x40 and a[8] == 0xEF  # cancelled: the driver answers 6401
    a, _ = run(s, ch, msg(0x69, body))
    assert a[7] == 0x40 and a[8] == 0xF0  # timeout: 6400
    s, ch, host, _ = slot_with([("", "3B 80 81 31 FE 45 8B"),
                                ("00 C1 01 FE 3E", "00 E1 01 FE 1E"),
                                ("00 40 0D 0020008008 2412 34FFFFFFFFFF 18", "00 40 02 63C2 E3")],
                               pins=["1234"])
    run(s, ch, msg(0x62))
    body = h("00 1E 89 47 04 0C 04 02 01 09 04 00 00400D 0020008008 20FFFFFFFFFFFFFF")
    a, _ = run(s, ch, msg(0x69, body))
    assert a[10:] == h("00 40 02 63C2 E3") and host.results == [0x63C2]


def test_put_pin_formats():
    t = bytearray(h("0020008008 20FFFFFFFFFFFFFF"))
    pin = b"\x01\x02\x03\x04\x05"
    assert secure.put_pin(t, len(t), 0x89, 0x47, 0x04, pin, 5)
    assert bytes(t) == h("0020008008 251234 5FFFFFFFFF")  # EMV plaintext block, odd length
    t = bytearray(h("0020000008 FFFFFFFFFFFFFFFF"))
    assert secure.put_pin(t, len(t), 0x82, 0x08, 0x00, pin, 4)  # ASCII, no length
    assert bytes(t) == h("0020000008 31323334FFFFFFFF")
    t = bytearray(h("0020000008 0000000000000000"))
    assert secure.put_pin(t, len(t), 0x84 | 0x01, 0x08, 0x00, pin, 4)  # BCD right justified
    assert bytes(t) == h("0020000008 0000000000001234")
    t = bytearray(h("0020000004 00000000"))
    assert secure.put_pin(t, len(t), 0x88, 0x83, 0x10, pin, 3)  # binary bytes, 8-bit length
    assert bytes(t) == h("0020000004 03010203")
    t = bytearray(h("0020008002 FFFF"))
    assert not secure.put_pin(t, len(t), 0x89, 0x47, 0x04, pin, 5)  # block beyond the APDU


def test_layout_of_modify_structures():
    apdu = h("0024000010") + bytes(16)
    for k in (3, 2, 1):
        d = h("01 1E 89 47 04 00 08 0C 04 03 02 03 0904") + bytes(k) + h("000000") + apdu
        assert secure.layout(d, len(d)) == 17 + k
    d = h("00 1E 89 47 04 0C 04 02 01 0904 00 000000") + h("0020008008") + bytes(8)
    assert secure.layout(d, len(d)) == 15
    assert secure.layout(d, len(d) - 1) == -1


def test_slot_changes_are_told_after_the_echo():
    s, ch, host, line = slot_with([])
    run(s, ch, msg(0x65))  # first command: the state is learnt, nothing told
    line.present = lambda: False
    a, fr = run(s, ch, msg(0x65))
    assert fr[1] == ("notify", 0x02) and a[7] == 2, fr
    line.present = lambda: True
    a, fr = run(s, ch, msg(0x65))
    assert fr[1] == ("notify", 0x03) and a[7] == 1, fr
    a, fr = run(s, ch, msg(0x65))
    assert len(fr) == 2  # no change, nothing told


class LooseLine:
    # A card that answers its ATR at each reset and is then silent, whatever it is sent.
    def __init__(self):
        self.rx = b""

    def present(self):
        return True

    def cold_reset(self):
        self.rx = h(ATR)

    warm_reset = cold_reset

    def deactivate(self):
        self.rx = b""

    def write(self, data):
        pass

    def read_byte(self, timeout_etu):
        from sesame.errors import CardTimeout

        if not self.rx:
            raise CardTimeout("silent")
        b = self.rx[0]
        self.rx = self.rx[1:]
        return b


def test_random_messages_never_escape_the_slot():
    # Whatever a PC sends in well-formed frames: an answer each time, never an exception.
    x = 12345
    for _ in range(100):
        ch = Chan()
        host = Host(LooseLine(), ["1234"] * 4)
        s = Slot(ch, host)
        for _ in range(3):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            t = (0x62, 0x6F, 0x69, 0x61, 0x6B, 0x63, 0x65, 0x6C, x & 0xFF)[x % 9]
            n = (x >> 8) % 40
            data = bytes(((x >> (i % 24)) + i * 7) & 0xFF for i in range(n))
            ch.out = bytearray()
            ch.inq += framed(msg(t, data, seq=x & 0xFF, b7=(x >> 4) & 3))
            s.service()
            fr = [f for f in frames(ch.out) if f[0] == "frame"]
            assert len(fr) == 2, (t, data, fr)  # the echo and one answer
