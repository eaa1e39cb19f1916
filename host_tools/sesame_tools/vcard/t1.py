"""T=1, card side (ISO/IEC 7816-3 section 11): collects the reader's blocks into APDUs
for the applet and answers with I-, R- and S-blocks, chaining at IFSD. Faults (see
vcard/faults.py) may corrupt the EDC, lose a block, ask for waiting time extensions or
chain with a tiny IFSC. Uses the firmware's block codec (sesame.iso7816.edc)."""

from __future__ import annotations

import time

from sesame.iso7816 import edc

# A block's characters follow each other within the character waiting time (CWT = 11 +
# 2^CWI etu, ISO 7816-3 11.4.3); after longer silence the card drops a partial block and
# waits for a new one (a garbled LEN would otherwise leave it waiting for bytes that never
# come). On the simulated line the etu is notional and the host schedules threads, so the
# silence that ends a block here is at least this (the reader waits BWT + 100 ms first).
# The silence is measured on the line's clock (`clock`): the wall clock on the simulated
# board's socket, emulated time at the emulated Pico's pins (slower than the wall clock:
# its characters may come far apart in wall time and close on the line).
RESYNC_S = 0.05


class T1Card:
    def __init__(self, applet, crc: bool = False, ifsc: int = 254, faults=None):
        self.applet = applet
        self.crc = crc
        self.ifsc = ifsc  # what we announced: the reader's blocks may carry this much
        self.faults = faults
        self.clock = time.monotonic  # the line's time in seconds (see RESYNC_S)
        self.reset()

    def reset(self) -> None:
        self.buf = bytearray()
        self._at = 0.0  # when the last character came (self.clock)
        self.ns = 0  # N(S) of our next I-block
        self.nr = 0  # N(S) we expect from the reader
        self.ifsd = 32  # the reader's max INF until S(IFS request)
        self.cmd = bytearray()
        self.out = b""  # response still to send
        self.last = b""  # our last block (sent again on request)
        self.blocks = 0
        self.apdus = 0  # commands received since the reset
        self._pending = b""
        self._answer = False  # an answer waits for our WTX request to be granted

    def _need(self) -> int:
        if len(self.buf) < 3:
            return 3 - len(self.buf)
        return 3 + self.buf[2] + (2 if self.crc else 1) - len(self.buf)

    def feed(self, b: int) -> bytes:
        """One character from the reader; returns the characters to send back."""
        now = self.clock()
        if self.buf and now - self._at > RESYNC_S:
            self._note("resynchronised")
            self.buf = bytearray()
        self._at = now
        self.buf.append(b)
        if self._need() > 0:
            return b""
        blk, self.buf = bytes(self.buf), bytearray()
        return self._block(blk)

    def _send(self, pcb: int, inf: bytes = b"") -> bytes:
        blk = edc.block(0, pcb, inf, self.crc)
        self.last = blk
        return self._fault(blk)

    def _fault(self, blk: bytes) -> bytes:
        self.blocks += 1
        f = self.faults
        return f.t1_block(self, blk) if f else blk

    def _i(self) -> bytes:
        chunk, rest = self.out[:self.ifsd], self.out[self.ifsd:]
        more = bool(rest)
        if more:
            self._note("card chained")
        self._pending = rest
        blk = edc.block(0, edc.i_pcb(self.ns, more), chunk, self.crc)
        self.last = blk
        if not more:
            self.ns ^= 1  # the reader's next I-block acknowledges it
        return self._fault(blk)

    def _note(self, what: str) -> None:
        if self.faults:
            self.faults.note(what)

    def _again(self) -> bytes:
        # The reader asks for our last block again (R-block with an error).
        self._note("repeat asked")
        return self._fault(self.last)

    def _block(self, blk: bytes) -> bytes:
        d = edc.decode(blk, self.crc)
        if d is None:
            return self._send(edc.r_pcb(self.nr, 1))
        _, pcb, inf = d
        k = edc.kind(pcb)
        if k == "S":
            kind = pcb & 0x1F
            if pcb == 0xE3 and self._answer:  # WTX granted: now the answer
                self._answer = False
                if self.faults and self.faults.wtx_delay:
                    time.sleep(self.faults.wtx_delay)  # longer than BWT, within WTX x BWT
                return self._i()
            if pcb & 0x20:
                return self._send(edc.r_pcb(self.nr, 2))  # a response we did not ask for
            if kind == edc.S_IFS and len(inf) == 1:
                self.ifsd = inf[0] or 32
                return self._send(0xE1, inf)
            if kind == edc.S_RESYNCH:
                self.reset()
                self.applet_busy = False
                return self._send(0xE0)
            if kind == edc.S_WTX:
                return b""
            return self._send(edc.r_pcb(self.nr, 2))
        if k == "R":
            nr = (pcb >> 4) & 1
            if self.last and self.last[1] & 0x80 == 0 and ((self.last[1] >> 6) & 1) == nr \
                    and (pcb & 0x0F):
                return self._again()  # the reader asks for our I-block again
            if self._pending and nr != self.ns and not pcb & 0x0F:
                # acknowledgement of our chained I-block: next chunk
                self.ns ^= 1
                self.out = self._pending
                return self._i()
            if self.last and (pcb & 0x0F):
                if self.last[1] & 0xC0 == 0x80:  # our last was an R-block: again
                    return self._again()
                if self.last[1] & 0x80 == 0 and ((self.last[1] >> 6) & 1) == nr:
                    return self._again()
            return self._send(edc.r_pcb(self.nr, 0))
        # I-block
        if len(inf) > self.ifsc:  # longer than our IFSC: the reader did not chain
            self._note("block over IFSC")
            return self._send(edc.r_pcb(self.nr, 2))
        ns = (pcb >> 6) & 1
        if ns != self.nr:  # a repeat of a block we already have: acknowledge again
            if self.last:
                return self._fault(self.last)
            return self._send(edc.r_pcb(self.nr, 2))
        self.nr ^= 1
        self.cmd += inf
        if pcb & 0x20:  # more to come
            self._note("reader chained")
            return self._send(edc.r_pcb(self.nr, 0))
        apdu, self.cmd = bytes(self.cmd), bytearray()
        self.apdus += 1
        data, sw = self.applet.process(apdu)
        self.out = data + bytes((sw >> 8, sw & 0xFF))
        if self.faults and self.faults.t1_wtx(self):
            self._answer = True
            return self._send(0xC3, bytes((self.faults.wtx,)))
        return self._i()
