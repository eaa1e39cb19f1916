# PC_to_RDR_Secure (USB CCID 1.1 section 6.1.11; PC/SC part 10 FEATURE_VERIFY_PIN_DIRECT
# and FEATURE_MODIFY_PIN_DIRECT): the host sends an APDU template and how to put a PIN in
# it; the user types the PIN on the reader's keypad (masked; CLEAR removes a digit, CLEAR
# on an empty entry cancels; OK once it has the least digits asked; a timeout cancels);
# the reader fills the template, sends it to the card, wipes the PIN and answers only the
# card's status. The PIN is never written to the host, the test link or a log.
#
# abData as pcscd's GemPC driver sends it (commands.c SecurePINVerify / SecurePINModify:
# bTimeOut2 and ulDataLength dropped; a modify always carries the three bMsgIndex):
#   verify  00 TimeOut Format Block LenFmt MaxDigit MinDigit Valid NbMsg LangId(2) Msg
#           Teo(3) APDU
#   modify  01 TimeOut Format Block LenFmt OffOld OffNew MaxDigit MinDigit Confirm Valid
#           NbMsg LangId(2) Msg1 [Msg2 [Msg3]] Teo(3) APDU
# Format: b7 unit of the PIN position (0 bit, 1 byte), b6-3 the position in the APDU's data
# field, b2 right justified, b1-0 digits as 00 binary bytes, 01 BCD nibbles, 10 ASCII.
# Block: b7-4 size of the PIN length field in bits (0: none), b3-0 PIN block size in bytes
# (0: the digits only). LenFmt: b4 unit (0 bit, 1 byte), b3-0 the length's position.
# Modify: the offsets (bytes) move the position for the current and the new PIN; Confirm
# b0 = new PIN typed twice, b1 = current PIN asked. What the PIN does not cover keeps the
# template's value (the padding, e.g. FF). Teo: the T=1 prologue (NAD PCB LEN) of the
# I-block the host would have sent. Answers: the card's SW1 SW2 (T=0) or its I-block
# (T=1); bError EF cancelled / F0 timeout (the driver makes 6401 / 6400 of them); data
# 6402: the two new PINs differ; 6403: the template cannot take the PIN.
from micropython import const
from sesame.ccid.frame import DATA
from sesame.errors import CardError
from sesame.iso7816 import edc

_APDU = bytearray(261)  # the filled command (it carries the PIN: wiped after use)
_BLK = bytearray(edc.MAX_BLOCK)  # T=1: the I-block around it (wiped after use)
_CTL = bytearray(8)  # T=1: S(WTX response)
_NEW = bytearray(12)  # modify: the new PIN, to compare with its confirmation (wiped)
_DATA_BLOCK = const(0x80)
_E_LENGTH = const(0x01)
_E_CANCELLED = const(0xEF)
_E_PIN_TIMEOUT = const(0xF0)
_DEFAULT_S = const(30)  # bTimeOut 0: the reader's own timeout


def _bits(buf, base, bit, nbits, value):
    # Writes the low nbits of value at bit offset `bit` (from the MSB of buf[base]).
    for i in range(nbits):
        b = bit + i
        k = base + (b >> 3)
        m = 0x80 >> (b & 7)
        if (value >> (nbits - 1 - i)) & 1:
            buf[k] |= m
        else:
            buf[k] &= 0xFF ^ m


def put_pin(buf, n, fmt, blk, lenfmt, pin, npin, offset=0):
    # Puts PIN digits pin[:npin] (values 0-9) into the APDU buf[:n]; False if it cannot.
    kind = fmt & 0x03
    if kind == 3:
        return False
    unit = 4 if kind == 1 else 8
    pos = (fmt >> 3) & 0x0F
    start = (pos * 8 if fmt & 0x80 else pos) + offset * 8
    size = (blk & 0x0F) * 8 or npin * unit
    if npin * unit > size:
        return False
    lbits = blk >> 4
    lpos = (lenfmt & 0x0F) * (8 if lenfmt & 0x10 else 1) + offset * 8
    end = max(start + size, lpos + lbits if lbits else 0)
    if n < 5 or 5 + (end + 7) // 8 > n:
        return False
    first = start + (size - npin * unit if fmt & 0x04 else 0)
    add = 0x30 if kind == 2 else 0
    for i in range(npin):
        _bits(buf, 5, first + i * unit, unit, pin[i] + add)
    if lbits:
        _bits(buf, 5, lpos, lbits, npin)
    return True


def layout(d, n):
    # Where the APDU starts in abData (d[:n]): 15 for a verify; 20, 19 or 18 for a
    # modify (three, two or one bMsgIndex: the one whose APDU length fits). -1: bad.
    if d[0] == 0:
        offs = (15,)
    elif d[0] == 1:
        offs = (20, 19, 18)
    else:
        return -1
    for o in offs:
        if n >= o + 5 and n - o in (5 + d[o + 4], 5):
            return o
    return -1


def _answer_error(slot, err):
    slot._answer(_DATA_BLOCK, error=err)


def secure(slot):
    f = slot.f
    n = f.length() - 10
    d = memoryview(f.rx)[10:10 + n]
    o = layout(d, n)
    if o < 0:
        _answer_error(slot, _E_LENGTH)
        return
    host = slot.host
    fmt, blk, lenfmt = d[2], d[3], d[4]
    modify = d[0] == 1
    k = 7 if modify else 5  # wPINMaxExtraDigit: max then min
    hi = d[k] if 0 < d[k] <= 12 else 12
    lo = min(max(d[k + 1], 1), hi)
    ms = (d[1] or _DEFAULT_S) * 1000
    confirm = d[9] if modify else 0
    m = n - o  # APDU length
    if m > len(_APDU):
        _answer_error(slot, _E_LENGTH)
        return
    for i in range(m):
        _APDU[i] = d[o + i]
    teo = o - 3
    nad, pcb = d[teo], d[teo + 1]
    nnew = 0
    try:
        steps = (("OLd PIn", d[5]),) if modify and confirm & 2 else ()
        steps += (("nEU PIn", d[6]),) if modify else (("PIn", 0),)
        for prompt, off in steps:
            r = host.pc_pin(prompt, lo, hi, ms)
            if r <= 0:
                _answer_error(slot, _E_PIN_TIMEOUT if r == -1 else _E_CANCELLED)
                return
            pin = host.app.pin
            ok = put_pin(_APDU, m, fmt, blk, lenfmt, pin, r, off)
            if modify and off == d[6]:
                for i in range(12):
                    _NEW[i] = pin[i]
                nnew = r
            host.pc_wipe()
            if not ok:
                host.pc_result(-1)
                _reply(slot, 0x6403)
                return
        if modify and confirm & 1:
            r = host.pc_pin("AGAIn", lo, hi, ms)
            if r <= 0:
                _answer_error(slot, _E_PIN_TIMEOUT if r == -1 else _E_CANCELLED)
                return
            pin = host.app.pin
            same = r == nnew
            for i in range(r if same else 0):
                if pin[i] != _NEW[i]:
                    same = False
            host.pc_wipe()
            if not same:
                host.pc_result(-1)
                _reply(slot, 0x6402)
                return
        host.pc_busy()
        try:
            k = _send(slot, m, nad, pcb)
        except CardError as e:
            host.pc_result(-1)
            slot._fail(e)
            return
        tx = f.tx
        e = k if slot.proto == 0 else 3 + tx[DATA + 2]  # end of the APDU answer (its SW)
        host.pc_result(tx[DATA + e - 2] << 8 | tx[DATA + e - 1] if e >= 2 else -1)
        slot._answer(_DATA_BLOCK, k)
    finally:
        for i in range(len(_APDU)):
            _APDU[i] = 0
        for i in range(len(_BLK)):
            _BLK[i] = 0
        for i in range(12):
            _NEW[i] = 0
        host.pc_wipe()


def _reply(slot, sw):
    # A status made by the reader: exactly 2 bytes (the driver then knows no TPDU went).
    tx = slot.f.tx
    tx[DATA] = sw >> 8
    tx[DATA + 1] = sw & 0xFF
    slot._answer(_DATA_BLOCK, 2)


def _send(slot, m, nad, pcb):
    # Sends the filled APDU; returns the length of the answer in tx[DATA:].
    tx = slot.f.tx
    if slot.proto == 0:
        from sesame.ccid.slot import tpdu

        k = tpdu(slot.t0, memoryview(_APDU)[:m])
        r = slot.t0._resp
        for i in range(k):
            tx[DATA + i] = r[i]
        for i in range(k):
            r[i] = 0
        return k
    crc = slot.atr.edc == "crc"
    nb = edc.encode(_BLK, nad, pcb, memoryview(_APDU)[:m], crc)
    blk, nblk, wtx = _BLK, nb, 1
    tries = 0
    for _ in range(16):  # bounded, whatever the card answers
        k = slot.block(blk, nblk, wtx, tx, DATA)
        wtx = 1
        p = tx[DATA + 1]
        if p & 0x80 == 0:  # I-block: the card's answer, to the host as it came
            return k
        if p & 0xC0 == 0x80:  # R-block: the card did not get ours, send it again
            tries += 1
            if tries > 3:
                break
            blk, nblk = _BLK, nb
            continue
        if p & 0x3F == edc.S_WTX and tx[DATA + 2] == 1:  # S(WTX request): grant it
            wtx = tx[DATA + 3] or 1
            nblk = edc.encode(_CTL, nad, 0xE0 | edc.S_WTX,
                              memoryview(tx)[DATA + 3:DATA + 4], crc)
            blk = _CTL
            continue
        break
    from sesame.errors import ProtocolError

    raise ProtocolError("T=1: no answer to the PIN block")
