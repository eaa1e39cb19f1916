# A seeded fuzzer in plain MicroPython-compatible code (hypothesis does not run there), so
# the protocol code is fuzzed on the runtime it runs on: the unix port (tests/mpy_run.py)
# and CPython (pytest) alike. Five targets, each fed mutated byte streams or answers:
#   atr      the ATR parser (valid ATRs mutated, random bytes)
#   session  activation + ATR + PPS over a card sending a mutated ATR and more
#   t0       T=0 transmit: a valid answer to a random APDU case (procedure bytes, data,
#            61xx / 6Cxx), then mutated
#   t1       T=1 transmit, structure-aware: valid blocks (I-blocks, chained, S(WTX)),
#            then mutated, followed by the valid block again (what a card resends when
#            asked), so most cases reach an answer and the recovery paths run
#   cap      the CAP engine over a card whose answers (test_engine.Card) are mutated
# A case "answered" (a result), "failed cleanly" (a typed CardError) or "escaped" (any
# other exception: a bug). Counts are printed per target and runtime; an escape fails
# the test with the seed and the case number to repeat it. SESAME_FUZZ_CASES sets the
# cases per target (default 300; `make fuzz`: 10 000), SESAME_FUZZ_SEED the seed.
import os
import sys
from sesame.errors import CardError, CardTimeout
from sesame.emv import cap
from sesame.iso7816 import atr, edc
from sesame.iso7816.session import open_session
from sesame.iso7816.t0 import T0
from sesame.iso7816.t1 import T1
from test_engine import Card, pin

_getenv = getattr(os, "getenv", None) or os.environ.get
CASES = int(_getenv("SESAME_FUZZ_CASES") or 300)
SEED = int(_getenv("SESAME_FUZZ_SEED") or 20261201)
RUNTIME = sys.implementation.name


class Rng:
    # xorshift32: the same numbers on both runtimes for a seed
    def __init__(self, seed):
        self.s = (seed & 0xFFFFFFFF) or 1

    def next(self):
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return x

    def below(self, n):
        return self.next() % n if n > 0 else 0

    def bytes(self, n):
        return bytes(self.below(256) for _ in range(n))


def mutate(rng, data, most=3):
    # 1..most mutations: flip a bit, change a byte, insert, delete, truncate, duplicate
    # (slices: MicroPython's bytearray has no item deletion)
    b = bytes(data)
    for _ in range(1 + rng.below(most)):
        k = rng.below(6)
        n = len(b)
        i = rng.below(n + 1)
        j = i % n if n else 0
        if k == 0 and n:
            b = b[:j] + bytes((b[j] ^ (1 << rng.below(8)),)) + b[j + 1:]
        elif k == 1 and n:
            b = b[:j] + bytes((rng.below(256),)) + b[j + 1:]
        elif k == 2:
            b = b[:i] + rng.bytes(1 + rng.below(4)) + b[i:]
        elif k == 3 and n:
            b = b[:j] + b[j + 1:]
        elif k == 4:
            b = b[:i]
        elif k == 5 and n:
            b = b[:j] + b[j:j + 1 + rng.below(8)] + b[j:]
    return b


class StreamLine:
    # A card that sends `data` whatever the reader writes, then is silent.
    def __init__(self, data):
        self.data = data
        self.i = 0

    def present(self):
        return True

    def cold_reset(self):
        pass

    warm_reset = cold_reset
    deactivate = cold_reset

    def write(self, buf):
        pass

    def read_byte(self, timeout_etu):
        if self.i >= len(self.data):
            raise CardTimeout("silent")
        b = self.data[self.i]
        self.i += 1
        return b


class Counts:
    def __init__(self, target):
        self.target = target
        self.answered = self.clean = 0

    def run(self, n, case):
        # case(rng) -> True (answered) / False (failed cleanly); anything else escaped
        for k in range(n):
            rng = Rng(SEED * 1_000_003 + k)
            try:
                ok = case(rng)
            except CardError:
                ok = False
            except Exception as e:
                print("fuzz %s %s: case %d escaped (SESAME_FUZZ_SEED=%d): %s %s" % (
                    self.target, RUNTIME, k, SEED, type(e).__name__, e))
                raise AssertionError("fuzz %s escaped: seed %d, case %d" % (self.target, SEED, k))
            if ok:
                self.answered += 1
            else:
                self.clean += 1
        print("fuzz %-7s %-11s %d cases: %d answered, %d failed cleanly, 0 escaped (seed %d)"
              % (self.target, RUNTIME, n, self.answered, self.clean, SEED))
        return self


ATRS = [
    bytes.fromhex("3B6500002063CB6800"), bytes.fromhex("3F6500002063CB6800"),
    bytes.fromhex("3B808131FE458B"), bytes.fromhex("3BE500004001206" "3CB6800"),
    bytes.fromhex("3B159620" "63CB6800"), bytes.fromhex("3B9096" "8131FE45") + b"\x00",
]


def _valid_atr(rng):
    a = ATRS[rng.below(len(ATRS))]
    if a[-1] == 0 and a[2] == 0x96:  # the T=1 PPS one: its TCK
        x = 0
        for c in a[1:-1]:
            x ^= c
        a = a[:-1] + bytes((x,))
    return a


def test_fuzz_atr():
    def case(rng):
        k = rng.below(4)
        raw = rng.bytes(rng.below(40)) if k == 0 else mutate(rng, _valid_atr(rng))
        a = atr.Atr(raw)
        assert isinstance(a.errors, list)
        return a.valid

    Counts("atr").run(CASES, case)


def test_fuzz_session():
    def case(rng):
        data = mutate(rng, _valid_atr(rng)) + rng.bytes(rng.below(12))
        a, tr = open_session(StreamLine(data))
        return True

    Counts("session").run(CASES, case)


_T0_ATR = atr.Atr(bytes.fromhex("3B6500002063CB6800"))


def _t0_case(rng):
    # (apdu, the card's valid answer stream)
    ins = 0xB2 if rng.below(2) else 0xA4
    sw = b"\x90\x00"
    kind = rng.below(4)
    data = rng.bytes(1 + rng.below(40))
    if kind == 0:  # case 1
        return bytes((0, ins, 0, 0)), sw
    if kind == 1:  # case 2: ACK, data, SW
        le = len(data)
        return bytes((0, ins, 0, 0, le)), bytes((ins,)) + data + sw
    if kind == 2:  # case 2 with 6Cxx: resend with the right P3
        le = len(data)
        return bytes((0, ins, 0, 0, 0)), b"\x6C" + bytes((le,)) + bytes((ins,)) + data + sw
    # case 4: ACK, send, 61xx, GET RESPONSE
    lc = 1 + rng.below(20)
    apdu = bytes((0, ins, 4, 0, lc)) + rng.bytes(lc) + b"\x00"
    return apdu, bytes((ins,)) + b"\x61" + bytes((len(data),)) + b"\xC0" + data + sw


def test_fuzz_t0():
    def case(rng):
        apdu, stream = _t0_case(rng)
        if rng.below(4):
            stream = mutate(rng, stream)
        r = T0(StreamLine(stream), _T0_ATR).transmit(apdu)
        return len(r) >= 2

    Counts("t0").run(CASES, case)


_T1_ATR = atr.Atr(bytes.fromhex("3B808131FE458B"))  # IFSC 254, LRC


def _block(pcb, inf=b""):
    buf = bytearray(edc.MAX_BLOCK)
    n = edc.encode(buf, 0, pcb, inf, False, 0, len(inf))
    return bytes(buf[:n])


def _t1_case(rng):
    # A valid answer to the reader's first I-block (N(S) 0): perhaps S(WTX) first, then
    # the answer in one I-block or chained in two. Returns the blocks in order.
    resp = rng.bytes(rng.below(60)) + b"\x90\x00"
    blocks = []
    if rng.below(4) == 0:
        blocks.append(_block(0xC3, bytes((1 + rng.below(3),))))  # S(WTX request)
    if rng.below(3) == 0 and len(resp) > 2:
        cut = 1 + rng.below(len(resp) - 1)
        blocks.append(_block(edc.i_pcb(0, True), resp[:cut]))
        blocks.append(_block(edc.i_pcb(1, False), resp[cut:]))
    else:
        blocks.append(_block(edc.i_pcb(0, False), resp))
    return resp, blocks


def test_fuzz_t1():
    def case(rng):
        resp, blocks = _t1_case(rng)
        stream = b""
        for b in blocks:
            if rng.below(3) == 0:  # this block damaged, then sent again as asked
                stream += mutate(rng, b, 2)
            stream += b
        apdu = bytes((0x00, 0xB2, 1, 0x0C, 0))
        r = T1(StreamLine(stream), _T1_ATR).transmit(apdu)
        return len(r) >= 2

    c = Counts("t1").run(CASES, case)
    assert c.answered * 2 > CASES, "T=1 fuzzing must mostly reach an answer"


def test_fuzz_cap():
    def case(rng):
        card = Card()
        for _ in range(1 + rng.below(2)):
            i = rng.below(len(card.answers))
            prefix, reply = card.answers[i]
            raw = bytes.fromhex(reply.replace(" ", ""))
            card.answers[i] = (prefix, mutate(rng, raw).hex())
        p, n = pin("1234")
        mode = (cap.IDENTIFY, cap.RESPOND, cap.SIGN)[rng.below(3)]
        kw = {} if mode == cap.IDENTIFY else {"challenge": "12345678"}
        if mode == cap.SIGN:
            kw["amount"] = "1999"
        try:
            r = cap.Cap(card).run(p, n, mode, **kw)
        finally:
            assert p == bytearray(12), "PIN buffer not wiped"
        return r.code.isdigit()

    Counts("cap").run(CASES, case)
