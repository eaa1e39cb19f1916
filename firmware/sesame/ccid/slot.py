# One CCID slot (USB CCID 1.1 section 6) behind the serial frame, as pcscd's GemPC driver
# uses it (LudovicRousseau/CCID 1.5.2 src/commands.c, src/ifdhandler.c; a summary in
# firmware/README.md, "The PC/SC slot"). The driver takes the reader for a TPDU-level
# reader (dwFeatures 0x00010230, from its built-in table: no descriptor is asked), so:
#   IccPowerOn    our own activation, ATR, PPS (sesame.iso7816.session.open_session; for
#                 T=1 also its S(IFS), harmless: the host then negotiates its IFSD)
#   XfrBlock      T=0: one TPDU, procedure bytes handled here, 61xx/6Cxx to the host;
#                 T=1: one block out, the card's block back; the driver runs T=1 itself
#                 (N(S), chaining, R-blocks, WTX: bBWI multiplies our block waiting time,
#                 S(IFS) for its IFSD 254); we send no block of our own
#                 a PPS the driver sends (FF ...) is answered with what the card runs at
#   SetParameters / GetParameters / ResetParameters: the parameters in force (the card's
#                 were set at power on; nothing can change without a new activation)
#   Escape        02 firmware, 01 01 01 slot-change mode, B2.. l10n strings, 6A features
#   Secure        sesame.ccid.secure (PIN typed on the keypad)
# Rules: every answer leaves before the driver's read timeout (3 s at least): a time
# request (80) goes out at most every 500 ms while the card works or the user types; the
# host holds the card from IccPowerOn to IccPowerOff (or removal), and the reader's own
# CODE/RESPOND/SIGN wait for it (the host object says so on the display).
#
# The host object (sesame.reader.pchost.PcHost) gives: line (the board's card line), app,
# version, own_busy() (the reader's own flow uses the card), pc_hold(bool), pc_pin(...),
# pc_wipe(), pc_busy(), pc_result(sw) (PIN entry, see secure.py), stdio() and leave()
# (one-UART boards give the serial back).
from micropython import const
from sesame.ccid.frame import DATA, Framer
from sesame.clock import ticks_diff
from sesame.errors import CardAbsent, CardError, CardTimeout, ProtocolError

# messages (CCID 1.1 tables 6.1-1 and 6.2-1)
_POWER_ON = const(0x62)
_POWER_OFF = const(0x63)
_SLOT_STATUS = const(0x65)
_XFR = const(0x6F)
_GET_PARAMS = const(0x6C)
_RESET_PARAMS = const(0x6D)
_SET_PARAMS = const(0x61)
_ESCAPE = const(0x6B)
_SECURE = const(0x69)
_RATE = const(0x73)
_DATA_BLOCK = const(0x80)
_STATUS = const(0x81)
_PARAMS = const(0x82)
_ESCAPED = const(0x83)
_RATES = const(0x84)
# bStatus: bmICCStatus | bmCommandStatus
_ACTIVE = const(0)
_INACTIVE = const(1)
_ABSENT = const(2)
_FAILED = const(0x40)
# bError (CCID 1.1 table 6.2-2)
_E_NOT_SUPPORTED = const(0x00)
_E_LENGTH = const(0x01)
_E_SLOT = const(0x05)
_E_BUSY = const(0xE0)
_E_HW = const(0xFB)
_E_PARITY = const(0xFD)
_E_MUTE = const(0xFE)

_KEEP_MS = const(500)  # a time request at least this often while we work
def tpdu(t0, cmd):
    # One command as a TPDU-level reader runs it, over sesame.iso7816.t0's procedure-byte
    # handling: 61xx and 6Cxx go back to the host as they came (no GET RESPONSE, no
    # resend). cmd: CLA INS P1 P2 (case 1: P3 = 00), + Le (case 2), + Lc data (case 3),
    # + Lc data Le (case 4: Le dropped, ISO 7816-3 12.2.5). Returns n: the answer, data +
    # SW1 SW2, is t0._resp[:n].
    n = len(cmd)
    if n < 4:
        raise ValueError("TPDU too short")
    t0._n = 0
    data = b""
    if n == 4:
        p3 = le = 0
    elif n == 5:
        p3 = cmd[4]
        le = p3 or 256
    else:
        p3 = cmd[4]
        if p3 == 0 or n not in (5 + p3, 6 + p3):
            raise ValueError("bad TPDU length")
        data = memoryview(cmd)[5:5 + p3]
        le = 0
    sw = t0._tpdu(cmd[0], cmd[1], cmd[2], cmd[3], p3, data, le)
    r = t0._resp
    k = t0._n
    r[k] = sw >> 8
    r[k + 1] = sw & 0xFF
    return k + 2


class _KeepLine:
    # The card line while the host waits for an answer: every read first lets the host
    # know we are still working.
    def __init__(self, line, slot):
        self.line = line
        self.slot = slot
        self.counters = getattr(line, "counters", None)

    def read_byte(self, timeout_etu):
        self.slot.keep()
        return self.line.read_byte(timeout_etu)

    def write(self, data):
        return self.line.write(data)


class Serving:
    # The board's card line once a PC talks to the reader: while the reader's own flow
    # uses the card (reader._busy), the host's commands keep being answered (status; "slot
    # busy" for the card) between characters. The slot itself uses the line underneath.
    def __init__(self, line, slot, reader):
        self._line = line
        self._slot = slot
        self._reader = reader

    def read_byte(self, timeout_etu):
        if self._reader._busy:
            self._slot.service()
        return self._line.read_byte(timeout_etu)

    def write(self, data):
        if self._reader._busy:
            self._slot.service()
        return self._line.write(data)

    def __getattr__(self, name):  # everything else is the board's line
        return getattr(self._line, name)


class Slot:
    # Fields: f (Framer), host, atr / proto / t0 / tline while the host holds the card
    # (powered), shown (presence last told to the host), busy (a command is running).
    def __init__(self, ch, host):
        self.f = Framer(ch)
        self.host = host
        self.powered = False
        self.atr = None
        self.proto = -1
        self.tline = None
        self.t0 = None
        self.bwt = 0
        self.cwt = 0
        self.shown = -1
        self.busy = False
        self.commands = 0
        self.closed = False  # the host gave the channel back (one-UART boards)

    # -- the loop's side --------------------------------------------------------------

    def service(self):
        # Answers what the host sent, if a whole message is there. While a command of
        # ours or the reader's own flow runs, only what needs no card is served.
        while not self.closed and self.f.poll():
            self.commands += 1
            self.f.echo()
            self._tell_presence()
            if self.busy or self.host.own_busy():
                self._busy_answer()
            else:
                self.busy = True
                try:
                    self._handle()
                except Exception:  # a bug must still answer: the host pairs by order
                    self._answer(self._reply_type(self.f.rx[0]), error=_E_HW)
                finally:
                    self.busy = False

    def keep(self):
        # Called while we work for the host: a time request when one is due.
        f = self.f
        if ticks_diff(f.ticks(), f.last_out) >= _KEEP_MS:
            f.byte(0x80)

    def release(self):
        # The card went away or the reader powered it off: the host no longer holds it.
        if self.powered:
            self.powered = False
            self.atr = self.t0 = self.tline = None
            self.proto = -1
            self.host.pc_hold(False)

    # -- helpers ----------------------------------------------------------------------

    def _present(self):
        try:
            return bool(self.host.line.present())
        except Exception:
            return False

    def _icc(self):
        if not self._present():
            if self.powered:
                self.release()
            return _ABSENT
        return _ACTIVE if self.powered else _INACTIVE

    def _tell_presence(self):
        # NotifySlotChange after the echo (the mode escape 01 01 01 asks for).
        p = 1 if self._present() else 0
        if p != self.shown:
            if self.shown >= 0:
                self.f.byte(0x50, 0x03 if p else 0x02)
            self.shown = p

    def _answer(self, mtype, n=0, error=-1, spec=0):
        icc = self._icc()
        if error < 0:
            self.f.answer(mtype, n, icc, 0, spec)
        else:
            self.f.answer(mtype, 0, icc | _FAILED, error, spec)

    def _reply_type(self, t):
        if t in (_POWER_ON, _XFR, _SECURE):
            return _DATA_BLOCK
        if t in (_GET_PARAMS, _RESET_PARAMS, _SET_PARAMS):
            return _PARAMS
        if t == _ESCAPE:
            return _ESCAPED
        if t == _RATE:
            return _RATES
        return _STATUS

    def _busy_answer(self):
        t = self.f.rx[0]
        if t == _SLOT_STATUS:
            self._answer(_STATUS)
        else:
            self._answer(self._reply_type(t), error=_E_BUSY)

    def _data(self, src, n):
        tx = self.f.tx
        for i in range(n):
            tx[DATA + i] = src[i]

    # -- commands ---------------------------------------------------------------------

    def _handle(self):
        rx = self.f.rx
        t = rx[0]
        if rx[5] != 0:
            self._answer(self._reply_type(t), error=_E_SLOT)
        elif t == _SLOT_STATUS:
            self._answer(_STATUS)
        elif t == _POWER_ON:
            self._power_on()
        elif t == _POWER_OFF:
            self.host.line.deactivate()
            self.release()
            self._answer(_STATUS)
        elif t == _XFR:
            self._xfr()
        elif t in (_GET_PARAMS, _RESET_PARAMS, _SET_PARAMS, _ESCAPE):
            from sesame.ccid import params  # rarely used: loaded when first needed

            if t == _ESCAPE:
                params.escape(self)
            else:
                params.params(self)
        elif t == _SECURE:
            if not self.powered:
                self._answer(_DATA_BLOCK, error=_E_MUTE)
            else:
                from sesame.ccid.secure import secure  # loaded at the first PIN entry

                secure(self)
        else:
            self._answer(self._reply_type(t), error=_E_NOT_SUPPORTED)

    def _power_on(self):
        line = self.host.line
        if self.powered:
            line.deactivate()
            self.release()
        if not self._present():
            self._answer(_DATA_BLOCK, error=_E_MUTE)
            return
        from sesame.iso7816.session import open_session

        try:
            a, tr = open_session(line)  # T=1: its S(IFS) first; the host sends its own after
        except Exception:
            line.deactivate()
            self._answer(_DATA_BLOCK, error=_E_MUTE)
            return
        self.atr = a
        self.proto = tr.PROTOCOL
        self.tline = _KeepLine(tr.line, self)
        if self.proto == 0:
            tr.line = self.tline  # the T=0 procedure bytes, over the line that keeps the host
            self.t0 = tr
        else:
            # ISO 7816-3 11.4.3 (as sesame.iso7816.t1): BWT and CWT in etu, with margins
            self.bwt = 11 + ((1 << a.BWI) * 960 * 372 * a.Di) // a.Fi + 960 * a.Di
            self.cwt = 11 + (1 << a.CWI) + 4
        self.powered = True
        self.host.pc_hold(True)
        raw = a.raw
        self._data(raw, len(raw))
        self._answer(_DATA_BLOCK, len(raw))

    def _fail(self, e):
        # A card error during a host command: the answer the driver maps to PC/SC.
        if isinstance(e, CardAbsent) or not self._present():
            self.host.line.deactivate()
            self.release()
            self._answer(_DATA_BLOCK, error=_E_MUTE)  # with bmICCStatus 2: "card removed"
        elif isinstance(e, ProtocolError) and self.proto == 1:
            self._answer(_DATA_BLOCK, error=_E_PARITY)  # the driver asks for the block again
        elif isinstance(e, CardTimeout):
            self._answer(_DATA_BLOCK, error=_E_MUTE)
        else:
            self._answer(_DATA_BLOCK, error=_E_HW)

    def _xfr(self):
        rx = self.f.rx
        n = self.f.length() - 10
        if not self.powered:
            self._answer(_DATA_BLOCK, error=_E_MUTE)
            return
        cmd = memoryview(rx)[10:10 + n]
        if n and cmd[0] == 0xFF:
            from sesame.ccid.params import pps

            pps(self, cmd, n)
            return
        try:
            if self.proto == 0:
                try:
                    k = tpdu(self.t0, cmd)
                except ValueError:
                    self._answer(_DATA_BLOCK, error=_E_LENGTH)
                    return
                self._data(self.t0._resp, k)
            else:
                k = self.block(cmd, n, max(1, rx[7]), self.f.tx, DATA)
        except CardError as e:
            self._fail(e)
            return
        self._answer(_DATA_BLOCK, k)

    def block(self, blk, n, wtx, out, at):
        # T=1: sends one block, reads the card's into out[at:]; returns its length.
        line = self.tline
        line.write(memoryview(blk)[:n])
        crc = self.atr.edc == "crc"
        try:
            out[at] = line.read_byte(self.bwt * wtx)
            out[at + 1] = line.read_byte(self.cwt)
            ln = line.read_byte(self.cwt)
            out[at + 2] = ln
            end = 3 + ln + (2 if crc else 1)
            if ln == 0xFF:
                raise ProtocolError("T=1: LEN FF")
            for i in range(3, end):
                out[at + i] = line.read_byte(self.cwt)
        except ProtocolError:
            self._drain()  # the rest of a bad block must not be read as the next one
            raise
        return end

    def _drain(self):
        for _ in range(300):
            try:
                self.tline.read_byte(self.cwt)
            except CardTimeout:
                return
            except ProtocolError:
                pass
