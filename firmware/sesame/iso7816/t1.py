# T=1 transport, reader side (ISO/IEC 7816-3 section 11; EMV Book 1 9.2.4 and 10).
# transmit(apdu) sends the APDU in I-blocks (chained at IFSC), collects the card's chained
# answer, answers S(WTX) and S(IFS), and recovers from bad or lost blocks: R-block asking
# for a repeat, bounded retries, then S(RESYNCH), then a typed error (the caller
# deactivates the card).
from micropython import const
from sesame.iso7816 import edc
from sesame.clock import WORK_MS, ticks_diff, ticks_ms
from sesame.errors import CardTimeout, ProtocolError

_MAX_RESP = const(260)  # short APDUs: at most 256 data bytes + SW1 SW2
_RETRIES = const(3)  # bad blocks in a row before RESYNCH
_RESYNCHS = const(3)  # RESYNCH attempts before we give up
_IFSD = const(254)
_MAX_STEPS = const(64)  # blocks exchanged for one chunk, whatever the card does
_MAX_WTX = const(255)  # sum of WTX multipliers granted in one APDU (and clock.WORK_MS)
_OK = const(0)
_EDC = const(1)  # EDC or parity error
_OTHER = const(2)  # any other error (timeout, bad length, unexpected block)


class T1:
    # Fields: line; ifsc (card's max INF), crc (EDC kind), ns (N(S) of our next I-block),
    # nr (N(S) we expect from the card), bwt/cwt in etu, retransmits (counter). The block
    # guard time (22 etu before we answer) is kept by the card line (set_protocol(1)).
    PROTOCOL = 1

    def __init__(self, line, atr, ifsd=_IFSD, bufs=None):
        # bufs: (tx, rx, resp) of edc.MAX_BLOCK, edc.MAX_BLOCK, _MAX_RESP bytes to use
        # (sesame.iso7816.session lends buffers made at boot); None: made here
        self.line = line
        self.atr = atr
        self.crc = atr.edc == "crc"
        self.ifsc = atr.IFSC if 0 < atr.IFSC < 255 else 32
        self.ifsd = ifsd
        self.ns = 0
        self.nr = 0
        # BWT = 11 etu + 2^BWI x 960 x 372 / f seconds = 11 + 2^BWI x 960 x 372 x D / F etu
        # (ISO/IEC 7816-3 11.4.3), waited + 960 x D etu; CWT = 11 + 2^CWI etu, waited + 4
        # (EMV Book 1 9.2.4.2: what a terminal must tolerate)
        self.bwt = 11 + ((1 << atr.BWI) * 960 * 372 * atr.Di) // atr.Fi + 960 * atr.Di
        self.cwt = 11 + (1 << atr.CWI) + 4
        self.retransmits = 0
        if bufs is None:
            bufs = (bytearray(edc.MAX_BLOCK), bytearray(edc.MAX_BLOCK), bytearray(_MAX_RESP))
        self._tx, self._rx, self._resp = bufs  # our last I-block (or R/S block); received
        self._txn = 0
        self._ctl = bytearray(8)  # R- and S-blocks we send
        self._rxn = 0
        self._n = 0
        self._wtx = 1
        self._wtx_sum = 0  # WTX granted during this APDU
        self._t0 = 0  # when this APDU started (ms)
        self.ticks = ticks_ms  # the clock bounding WTX (tests may replace it)

    # -- blocks on the line -----------------------------------------------------

    def _count(self):
        self.retransmits += 1
        c = getattr(self.line, "counters", None)
        if c is not None:
            c.resent += 1

    def _recv(self):
        # Reads one block into _rx; returns _OK, _EDC or _OTHER.
        line = self.line
        rx = self._rx
        wait = self.bwt * self._wtx
        self._wtx = 1
        try:
            rx[0] = line.read_byte(wait)
            rx[1] = line.read_byte(self.cwt)
            ln = line.read_byte(self.cwt)
            rx[2] = ln
            if ln == 0xFF:
                self._drain()
                return _OTHER
            end = 3 + ln + (2 if self.crc else 1)
            for i in range(3, end):
                rx[i] = line.read_byte(self.cwt)
        except CardTimeout:
            return _OTHER
        except ProtocolError:  # parity error the line could not recover
            self._drain()
            return _EDC
        self._rxn = end
        if rx[0] != 0:
            return _OTHER
        if not edc.check(rx, end, self.crc):
            return _EDC
        return _OK

    def _drain(self):
        # Waits until the card is quiet (CWT of silence), bounded.
        for _ in range(edc.MAX_BLOCK + 8):
            try:
                self.line.read_byte(self.cwt)
            except CardTimeout:
                return
            except ProtocolError:
                pass
        raise ProtocolError("T=1: card never stops sending")

    def _send_ctl(self, pcb, inf=-1):
        c = self._ctl
        c[0] = 0
        c[1] = pcb
        n = 0
        if inf >= 0:
            c[3] = inf
            n = 1
        c[2] = n
        end = 3 + n
        if self.crc:
            v = edc.crc(c, 0, end)
            c[end] = v >> 8
            c[end + 1] = v & 0xFF
            end += 2
        else:
            c[end] = edc.lrc(c, 0, end)
            end += 1
        self.line.write(memoryview(c)[:end])

    def _send_i(self):
        self.line.write(memoryview(self._tx)[:self._txn])

    # -- S-blocks ---------------------------------------------------------------

    def _s_request(self, kind, inf=-1):
        # Sends S(kind request); returns True on the matching response.
        for _ in range(_RETRIES):
            self._send_ctl(0xC0 | kind, inf)
            st = self._recv()
            if st == _OK and self._rx[1] == 0xC3:  # WTX while we wait: grant it, read on
                self._wtx_grant()
                st = self._recv_after_s()
            rx = self._rx
            if st == _OK and rx[1] == 0xE0 | kind and (inf < 0 or (rx[2] == 1 and rx[3] == inf)):
                return True
            self._count()
        return False

    def _wtx_grant(self):
        rx = self._rx
        m = rx[3] if rx[2] == 1 and rx[3] else 1
        self._wtx_sum += m
        if self._wtx_sum > _MAX_WTX or ticks_diff(self.ticks(), self._t0) > WORK_MS:
            raise ProtocolError("T=1: card keeps asking for more time")
        self._send_ctl(0xE3, m)
        self._wtx = m

    def start(self):
        # S(IFS request) announcing IFSD (EMV: the reader's first block).
        self._wtx_sum = 0
        self._t0 = self.ticks()
        if not self._s_request(edc.S_IFS, self.ifsd):
            self._resynch()

    def _resynch(self):
        for _ in range(_RESYNCHS):
            if self._s_request(edc.S_RESYNCH):
                self.ns = 0
                self.nr = 0
                self.ifsc = self.atr.IFSC if 0 < self.atr.IFSC < 255 else 32
                return
        raise ProtocolError("T=1: card does not resynchronise")

    # -- exchange ---------------------------------------------------------------

    def _exchange(self, chained):
        # Sends the I-block in _tx (chained: M bit set) and returns when the card has
        # answered it properly: "R" (acknowledged, for a chained block) or "I" (a valid
        # I-block with the expected N(S), in _rx). Handles S-blocks and errors.
        errors = 0
        send = 1  # 1: our I-block, 2: R-block asking for a repeat, 0: nothing (after S)
        err = _OTHER
        for _ in range(_MAX_STEPS):
            if send == 1:
                self._send_i()
            elif send == 2:
                self._send_ctl(edc.r_pcb(self.nr, err))
            st = self._recv()
            send = 2
            if st == _OK:
                pcb = self._rx[1]
                k = pcb & 0xC0
                if not pcb & 0x80:  # I-block
                    if not chained and ((pcb >> 6) & 1) == self.nr:
                        self.ns ^= 1
                        return "I"
                    st = _OTHER
                elif k == 0x80:  # R-block
                    nr = (pcb >> 4) & 1
                    if nr != self.ns and chained:
                        self.ns ^= 1
                        return "R"
                    if nr == self.ns:  # the card asks for our block again
                        send = 1
                        st = _OTHER
                    else:
                        st = _OTHER
                else:  # S-block request from the card
                    if pcb == 0xC3:
                        self._wtx_grant()
                        send = 0
                        continue
                    if pcb == 0xC1 and self._rx[2] == 1 and 16 <= self._rx[3] <= 254:
                        self.ifsc = self._rx[3]
                        self._send_ctl(0xE1, self._rx[3])
                        send = 0
                        continue
                    if pcb == 0xC2:
                        raise ProtocolError("T=1: card aborts the chain")
                    st = _OTHER
            errors += 1
            err = st
            self._count()
            if errors > _RETRIES:
                self._resynch()
                raise _Resynched()
        raise ProtocolError("T=1: no progress")

    def _more(self):
        # The card chains its answer: acknowledge with R(N(R)) and take the next I-block.
        errors = 0
        send_ack = True
        err = _OTHER
        for _ in range(_MAX_STEPS):
            self._send_ctl(edc.r_pcb(self.nr, 0 if send_ack else err))
            st = self._recv()
            if st == _OK:
                pcb = self._rx[1]
                if not pcb & 0x80 and ((pcb >> 6) & 1) == self.nr:
                    return
                if pcb == 0xC3:
                    self._wtx_grant()
                    st = self._recv_after_s()
                    if st == _OK:
                        pcb = self._rx[1]
                        if not pcb & 0x80 and ((pcb >> 6) & 1) == self.nr:
                            return
                st = _OTHER if st == _OK else st
            send_ack = False
            err = st
            errors += 1
            self._count()
            if errors > _RETRIES:
                self._resynch()
                raise _Resynched()
        raise ProtocolError("T=1: no progress")

    def _recv_after_s(self):
        for _ in range(_MAX_STEPS):
            st = self._recv()
            if st == _OK and self._rx[1] == 0xC3:
                self._wtx_grant()
                continue
            return st
        return _OTHER

    def _collect(self):
        rx = self._rx
        ln = rx[2]
        n = self._n
        if n + ln > _MAX_RESP:
            raise ProtocolError("T=1: response too long")
        buf = self._resp
        for i in range(ln):
            buf[n + i] = rx[3 + i]
        self._n = n + ln
        self.nr ^= 1
        return rx[1] & 0x20

    def _transmit(self, apdu):
        n = len(apdu)
        off = 0
        self._n = 0
        while True:
            chunk = min(self.ifsc, n - off)
            more = off + chunk < n
            self._txn = edc.encode(self._tx, 0, edc.i_pcb(self.ns, more), apdu, self.crc, off, chunk)
            got = self._exchange(more)
            off += chunk
            if not more:
                break
            if got != "R":
                raise ProtocolError("T=1: chain not acknowledged")
        while self._collect():
            self._more()
        if self._n < 2:
            raise ProtocolError("T=1: response without status")
        return bytes(memoryview(self._resp)[:self._n])

    def transmit(self, apdu):
        # Returns response data + SW1 SW2 as bytes.
        if len(apdu) < 4:
            raise ValueError("APDU too short")
        self._wtx_sum = 0
        self._t0 = self.ticks()
        try:
            for _ in range(_RESYNCHS):
                try:
                    return self._transmit(apdu)
                except _Resynched:
                    continue
            raise ProtocolError("T=1: too many resynchronisations")
        finally:
            tx = self._tx  # our last I-block may hold a VERIFY PIN block: wipe it
            for i in range(self._txn):
                tx[i] = 0


class _Resynched(Exception):
    # Internal: the link was resynchronised, the command is sent again.
    def __init__(self):
        super().__init__("resynched")
