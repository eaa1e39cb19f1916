# Answer-To-Reset codec (ISO/IEC 7816-3 section 8). Parsing never raises: a malformed
# ATR comes back with `valid` False and the reasons in `errors`, and with what it has:
# a truncated ATR keeps the groups and historical bytes that came.

FI = (372, 372, 558, 744, 1116, 1488, 1860, 0, 0, 512, 768, 1024, 1536, 2048, 0, 0)
FMAX = (4, 5, 6, 8, 12, 16, 20, 0, 0, 5, 7.5, 10, 15, 20, 0, 0)
DI = (0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0)
MAX_LEN = 33


def remaining(buf, n):
    # How many more bytes the ATR in buf[:n] needs (0 = complete, -1 = cannot tell: bad TS).
    # Used while receiving, so the reader reads exactly the ATR and no more.
    if n < 1:
        return 1
    if buf[0] not in (0x3B, 0x3F):
        return -1
    if n < 2:
        return 1
    need = 2  # TS T0
    y = buf[1] >> 4
    k = buf[1] & 0x0F
    tck = False
    i = 1  # offset of the current Y/T indicator byte
    while True:
        cnt = ((y >> 0) & 1) + ((y >> 1) & 1) + ((y >> 2) & 1) + ((y >> 3) & 1)
        need += cnt
        if not y & 0x8:
            break
        td = need - 1  # TDi is the last interface byte of this group
        if td >= n:
            return need - n
        i = td
        if buf[i] & 0x0F != 0:
            tck = True
        y = buf[i] >> 4
    need += k + (1 if tck else 0)
    return max(0, need - n)


class Atr:
    # Parsed ATR. The ISO 7816-3 defaults are class attributes, shadowed by an instance
    # attribute only when the card says otherwise: this object is made while the heap of
    # a small board is at its fullest, and a smaller instance dict needs less room there.
    convention = None  # "direct" / "inverse"
    Fi = 372
    Di = 1
    fmax_mhz = 5
    N = 0  # extra guard time (TC1)
    WI = 10  # T=0 waiting integer (TC2)
    IFSC = 32  # T=1 (TA3)
    BWI = 4  # T=1 (TB3 high nibble)
    CWI = 13  # T=1 (TB3 low nibble)
    edc = "lrc"  # T=1 (TC3 b1)
    # TA1 and TA2 as received, packed in one int (few attributes, as above): bits 0-8
    # TA1 + 1, bits 9-17 TA2 + 1, 0 = absent; bit 18: T=1 bytes seen (first TA/TB/TC count).
    _ta = 0
    class_indicator = None  # first TA after T=15
    historical = b""
    tck = "absent"

    def __init__(self, raw):
        self.raw = bytes(raw)
        self.errors = []
        self.protocols = []  # protocol numbers offered, first = default
        self._parse()

    @property
    def valid(self):
        return not self.errors

    @property
    def ta1(self):
        # TA1 as received (PPS1 of a PPS), or None
        v = self._ta & 0x1FF
        return v - 1 if v else None

    @property
    def specific_mode(self):
        # TA2 present: the card runs one protocol at once (ISO 7816-3 6.3.1)
        return bool(self._ta & 0x3FE00)

    @property
    def specific_protocol(self):
        return ((self._ta >> 9) - 1) & 0x0F if self.specific_mode else None

    @property
    def specific_implicit(self):
        # TA2 b5: the rate is implicit (not TA1's)
        return bool(((self._ta >> 9) - 1) & 0x10) if self.specific_mode else False

    def _parse(self):
        raw = self.raw
        n = len(raw)
        if n < 1:
            self.errors.append("truncated")
            return
        if raw[0] == 0x03:  # an inverse-convention ATR read in direct convention
            from sesame.iso7816.inverse import INVERSE

            raw = bytes(INVERSE[b] for b in raw)
            self.raw = raw
        if raw[0] == 0x3B:
            self.convention = "direct"
        elif raw[0] == 0x3F:
            self.convention = "inverse"
        else:
            self.errors.append("bad TS %02X" % raw[0])
            return
        if n < 2:
            self.errors.append("truncated")
            return
        if n > MAX_LEN:
            self.errors.append("too long (%d bytes)" % n)
        y = raw[1] >> 4
        k = raw[1] & 0x0F
        i = 2
        group = 1
        prev_t = 0  # protocol the current group belongs to (after TD(group-1))
        offers = []
        not_t0 = False  # a T other than 0 is indicated (T=15 too): TCK present
        cut = False
        while True:
            ta = tb = tc = td = None
            for bit, name in ((1, "a"), (2, "b"), (4, "c"), (8, "d")):
                if y & bit:
                    if i >= n:
                        cut = True
                        break
                    v = raw[i]
                    i += 1
                    if name == "a":
                        ta = v
                    elif name == "b":
                        tb = v
                    elif name == "c":
                        tc = v
                    else:
                        td = v
            self._group(group, prev_t, ta, tb, tc, td)
            if td is None or cut:
                break
            prev_t = td & 0x0F
            if prev_t != 0:
                not_t0 = True
            if prev_t not in offers and prev_t != 15:
                offers.append(prev_t)
            y = td >> 4
            group += 1
        if not offers:
            offers = [0]
        self.protocols = offers
        if cut:
            self.errors.append("truncated")
            return
        self.historical = raw[i:i + k]  # those that came, when truncated
        if i + k > n:
            self.errors.append("truncated")
            return
        i += k
        if not_t0:
            if i >= n:
                self.errors.append("truncated")
                self.tck = "absent"
                return
            x = 0
            for b in raw[1:i + 1]:
                x ^= b
            self.tck = "ok" if x == 0 else "bad"
            if x:
                self.errors.append("bad TCK")
            i += 1
        if i < n:
            self.errors.append("%d extra bytes" % (n - i))

    def _group(self, g, t, ta, tb, tc, td):
        # One group of interface bytes (None: absent), group g after a TD naming T = t;
        # td unused here (the analysis in sesame_tools.cli.atr shows it).
        if g == 1:
            if ta is not None:
                self._ta |= ta + 1
                self.Fi = FI[ta >> 4]
                self.fmax_mhz = FMAX[ta >> 4]
                self.Di = DI[ta & 0x0F]
                if not self.Fi or not self.Di:
                    self.errors.append("reserved TA1 %02X" % ta)
            if tc is not None:
                self.N = tc
        elif g == 2:
            if ta is not None:
                self._ta |= (ta + 1) << 9
            if tc is not None:
                self.WI = tc
                if not tc:  # reserved: a work waiting time of 0
                    self.errors.append("reserved TC2 00")
        elif t == 1:
            if self._ta & 0x40000:
                return  # only the first T=1 group's TA3 TB3 TC3
            self._ta |= 0x40000
            if ta is not None:
                self.IFSC = ta
                if ta == 0 or ta == 255:
                    self.errors.append("bad IFSC %02X" % ta)
            if tb is not None:
                self.BWI = tb >> 4
                self.CWI = tb & 0x0F
                if self.BWI > 9:
                    self.errors.append("bad BWI %d" % self.BWI)
            if tc is not None:
                self.edc = "crc" if tc & 1 else "lrc"
        elif t == 15 and ta is not None:
            self.class_indicator = ta & 0x3F
