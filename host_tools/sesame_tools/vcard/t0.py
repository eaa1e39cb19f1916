"""T=0, card side (ISO/IEC 7816-3 section 10): turns the reader's characters into APDUs
for the applet and answers with procedure bytes, data and status words. Outgoing data
waits for GET RESPONSE (61xx); a wrong Le is answered with 6Cxx."""

from __future__ import annotations


class T0Card:
    def __init__(self, applet):
        self.applet = applet
        self.reset()

    def reset(self) -> None:
        self.hdr = bytearray()
        self.data = bytearray()
        self.need = 0  # command data bytes still expected after an ACK
        self.pending = b""  # response data waiting for GET RESPONSE
        self.pending_sw = 0x9000

    def feed(self, b: int) -> bytes:
        """One character from the reader; returns the characters to send back."""
        if self.need:
            self.data.append(b)
            self.need -= 1
            if self.need:
                return b""
            return self._run(bytes(self.hdr) + bytes(self.data))
        self.hdr.append(b)
        if len(self.hdr) < 5:
            return b""
        cla, ins, p1, p2, p3 = self.hdr
        if ins == 0xC0:
            return self._get_response(p3)
        if ins in self.applet.DATA_IN and p3:
            self.data = bytearray()
            self.need = p3
            return bytes((ins,))  # ACK: send all the data
        if ins in self.applet.DATA_IN:
            return self._run(bytes(self.hdr[:4]))
        return self._outgoing(ins, p3)

    def _sw(self, sw: int) -> bytes:
        self.hdr = bytearray()
        return bytes((sw >> 8, sw & 0xFF))

    def _run(self, apdu: bytes) -> bytes:
        """Case 3/4: run the command; data goes out through GET RESPONSE."""
        data, sw = self.applet.process(apdu)
        self.pending, self.pending_sw = b"", 0x9000
        if data and sw == 0x9000:
            self.pending, self.pending_sw = data, sw
            return self._sw(0x6100 | (len(data) & 0xFF))
        return self._sw(sw)

    def _outgoing(self, ins: int, p3: int) -> bytes:
        """Case 2 (and case 1): data flows back in this TPDU when P3 matches."""
        data, sw = self.applet.process(bytes(self.hdr[:4]) + bytes((p3,)))
        if not data:
            return self._sw(sw)
        if p3 != len(data) & 0xFF:
            return self._sw(0x6C00 | (len(data) & 0xFF))
        self.hdr = bytearray()
        return bytes((ins,)) + data + bytes((sw >> 8, sw & 0xFF))

    def _get_response(self, p3: int) -> bytes:
        if not self.pending:
            return self._sw(0x6985)
        n = len(self.pending)
        if p3 == 0 or p3 > n:
            return self._sw(0x6C00 | (n & 0xFF))
        out, self.pending = self.pending[:p3], self.pending[p3:]
        sw = (0x6100 | len(self.pending) & 0xFF) if self.pending else self.pending_sw
        self.hdr = bytearray()
        return b"\xC0" + out + bytes((sw >> 8, sw & 0xFF))
