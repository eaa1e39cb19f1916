# T=0 transport, reader side (ISO/IEC 7816-3 section 10; EMV Book 1 9.2 and 9.3).
# transmit(apdu) maps an APDU of case 1-4 to TPDUs, follows the card's procedure
# bytes, fetches response data with GET RESPONSE (61xx; not for cases 1 and 3,
# which ask for none) and resends on 6Cxx.
from micropython import const
from sesame.clock import WORK_MS, ticks_diff, ticks_ms
from sesame.errors import ProtocolError

_NULL = const(0x60)
_MAX_RESP = const(260)  # short APDUs: at most 256 data bytes + SW1 SW2 (EMV Book 1 9.3)
_MAX_RETRIES = const(8)  # 61xx / 6Cxx rounds before we call the card broken
_MAX_IDLE = const(200)  # ACKs in one TPDU with nothing left to move (tolerated, bounded)


class T0:
    # One T=0 session over a card line (see sesame.iso7816.session for the line contract).
    PROTOCOL = 0

    def __init__(self, line, atr, resp=None):
        # resp: a buffer of _MAX_RESP bytes to use (sesame.iso7816.session lends one made at boot)
        self.line = line
        self.wwt = 960 * atr.WI * atr.Di  # work waiting time in etu
        self._hdr = bytearray(5)
        self._resp = resp if resp is not None else bytearray(_MAX_RESP)
        self._n = 0
        self.ticks = ticks_ms  # the clock bounding NULL bytes (tests may replace it)

    def _sw(self, sw1):
        return (sw1 << 8) | self.line.read_byte(self.wwt)

    def _procedure(self, ins, data, le):
        # Sends nothing but what the procedure bytes ask for; returns SW.
        # data: bytes to send (case 3), le: bytes to receive (case 2), one of them is 0.
        line = self.line
        sent = 0
        got = 0
        idle = 0
        start = -1
        while True:
            pb = line.read_byte(self.wwt)
            if pb == _NULL:  # more time: the WWT starts again, bounded in all
                if start < 0:
                    start = self.ticks()
                elif ticks_diff(self.ticks(), start) > WORK_MS:
                    raise ProtocolError("T=0: card keeps asking for more time")
                continue
            if (pb == ins or pb == ins ^ 0x01) and sent == len(data) and got >= le:
                idle += 1  # an ACK with nothing left to move: tolerated, not forever
                if idle > _MAX_IDLE:
                    raise ProtocolError("T=0: card sends procedure bytes that move nothing")
                continue
            if pb == ins or pb == ins ^ 0x01:  # all remaining bytes
                if len(data) > sent:
                    line.write(data[sent:])
                    sent = len(data)
                else:
                    got = self._recv(le - got, got)
            elif pb == ins ^ 0xFF or pb == ins ^ 0xFE:  # one byte
                if len(data) > sent:
                    line.write(data[sent:sent + 1])
                    sent += 1
                elif le > got:
                    got = self._recv(1, got)
                else:
                    raise ProtocolError("T=0: no byte left to exchange")
            elif pb & 0xF0 in (0x60, 0x90):
                return self._sw(pb)
            else:
                raise ProtocolError("T=0: bad procedure byte %02X" % pb)

    def _recv(self, count, got):
        # Receives `count` response bytes into the response buffer.
        line = self.line
        n = self._n
        if n + count > _MAX_RESP:
            raise ProtocolError("T=0: response too long")
        buf = self._resp
        for i in range(n, n + count):
            buf[i] = line.read_byte(self.wwt)
        self._n = n + count
        return got + count

    def _tpdu(self, cla, ins, p1, p2, p3, data, le):
        h = self._hdr
        h[0] = cla
        h[1] = ins
        h[2] = p1
        h[3] = p2
        h[4] = p3
        self.line.write(h)
        return self._procedure(ins, data, le)

    def transmit(self, apdu):
        # Returns response data + SW1 SW2 as bytes.
        n = len(apdu)
        if n < 4:
            raise ValueError("APDU too short")
        cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
        self._n = 0
        data = b""
        le = -1  # -1 = no Le (cases 1 and 3)
        if n == 5:
            le = apdu[4]  # case 2; 00 means 256
        elif n > 5:
            lc = apdu[4]
            if lc == 0 or n not in (5 + lc, 6 + lc):
                raise ValueError("bad APDU length")
            data = memoryview(apdu)[5:5 + lc]
            if n == 6 + lc:
                le = apdu[5 + lc]  # case 4
        if data:  # case 3 or 4: send data, response data comes with 61xx
            sw = self._tpdu(cla, ins, p1, p2, len(data), data, 0)
        else:  # case 1 (P3 = 00) or case 2 (P3 = Le)
            p3 = max(le, 0)
            sw = self._tpdu(cla, ins, p1, p2, p3, b"", (p3 or 256) if le >= 0 else 0)
            for _ in range(_MAX_RETRIES):
                if sw >> 8 != 0x6C:
                    break
                self._n = 0  # ISO 7816-3 10.3.3: resend the same header with P3 = SW2
                c = getattr(self.line, "counters", None)
                if c is not None:
                    c.resent += 1
                p3 = sw & 0xFF
                sw = self._tpdu(cla, ins, p1, p2, p3, b"", p3 or 256)
        for _ in range(_MAX_RETRIES if le >= 0 else 0):
            # Cases 1 and 3 (no Le): a 61xx is the answer, its data is not fetched
            # (ISO/IEC 7816-3 12.2.1, 12.2.3); cases 2 and 4 fetch it.
            if sw >> 8 != 0x61:
                break
            # GET RESPONSE for the xx bytes waiting (EMV Book 1 9.3.1.3)
            xx = sw & 0xFF
            sw = self._tpdu(0x00, 0xC0, 0x00, 0x00, xx, b"", xx or 256)
            if sw >> 8 == 0x6C:
                xx = sw & 0xFF
                sw = self._tpdu(0x00, 0xC0, 0x00, 0x00, xx, b"", xx or 256)
        if sw >> 8 == 0x61 and le >= 0:
            raise ProtocolError("T=0: card keeps answering 61xx/6Cxx")
        out = bytearray(self._n + 2)
        out[:self._n] = memoryview(self._resp)[:self._n]
        out[self._n] = sw >> 8
        out[self._n + 1] = sw & 0xFF
        return bytes(out)
