# The slot's rarer answers (sesame.ccid.slot): the host's own PPS, the parameters in force,
# the escape commands pcscd's GemPC driver sends when it opens the reader. Functions of
# the Slot (`self`), loaded at first use.
from micropython import const
from sesame.ccid.frame import DATA

_DATA_BLOCK = const(0x80)
_PARAMS = const(0x82)
_ESCAPED = const(0x83)
_E_NOT_SUPPORTED = const(0x00)
_E_PROTOCOL = const(0xF6)
_E_MUTE = const(0xFE)
_FEATURES = b"\x01\x08\x00\x02\x60\x00\x00\x00\x00\x00\x00\x00\x01\x04\x0c\x00\x00\x00\x00\x00\x00"
# GET_FIRMWARE_FEATURES (escape 6A; ccid.h struct GEMALTO_FIRMWARE_FEATURES, 21 bytes):
# 1 line of 8 characters, validation by key (02), VerifyPinDirect + ModifyPinDirect (60),
# no bNumberMessageFix (the driver then always sends the three bMsgIndex of a modify),
# version 1, PIN of 4 to 12 digits


def pps(self, req, n):
    # The driver's own PPS (when TA1 offers a faster rate, or for another protocol):
    # the card already runs at what our activation chose; say so. A confirmation
    # shorter than the request (no PPS1: default rate) is accepted by the driver
    # (towitoko/pps.c PPS_Match); another protocol would need a new activation.
    a = self.atr
    if n < 3 or (req[1] & 0x0F) != self.proto:
        self._answer(_DATA_BLOCK, error=_E_PROTOCOL)
        return
    tx = self.f.tx
    tx[DATA] = 0xFF
    fast = (a.Fi, a.Di) != (372, 1)
    if req[1] & 0x10 and fast and n >= 4 and req[2] == a.ta1:
        tx[DATA + 1] = 0x10 | self.proto
        tx[DATA + 2] = req[2]
        k = 3
    else:
        tx[DATA + 1] = self.proto
        k = 2
    x = 0
    for i in range(k):
        x ^= tx[DATA + i]
    tx[DATA + k] = x
    self._answer(_DATA_BLOCK, k + 1)

def params(self):
    if not self.powered:
        self._answer(_PARAMS, error=_E_MUTE)
        return
    a = self.atr
    tx = self.f.tx
    fidi = a.ta1 if (a.Fi, a.Di) != (372, 1) and a.ta1 is not None else 0x11
    inv = 2 if a.convention == "inverse" else 0
    tx[DATA] = fidi
    tx[DATA + 2] = a.N
    tx[DATA + 4] = 0  # clock stop not supported
    if self.proto == 0:
        tx[DATA + 1] = inv
        tx[DATA + 3] = a.WI
        n = 5
    else:
        tx[DATA + 1] = 0x10 | inv | (1 if a.edc == "crc" else 0)
        tx[DATA + 3] = (a.BWI << 4) | a.CWI
        tx[DATA + 5] = a.IFSC if 0 < a.IFSC < 255 else 32
        tx[DATA + 6] = 0
        n = 7
    self._answer(_PARAMS, n, spec=self.proto)

def escape(self):
    rx = self.f.rx
    n = self.f.length() - 10
    c = rx[10] if n else -1
    if c == 0x02 and n == 1:  # firmware version: the driver's "is a reader there?"
        v = b"Sesame " + self.host.version.encode()
        self._data(v, len(v))
        self._answer(_ESCAPED, len(v))
    elif c == 0x6A and n == 1:
        self._data(_FEATURES, len(_FEATURES))
        self._answer(_ESCAPED, len(_FEATURES))
    elif bytes(rx[10:10 + n]) == b"sesame:off":  # one-UART boards: give the serial back
        if self.host.stdio():
            self._answer(_ESCAPED)
            self.host.leave()
        else:
            self._answer(_ESCAPED, error=_E_NOT_SUPPORTED)
    elif (c == 0x01 and n == 3) or c == 0xB2 or c == 0xB5:
        # 01 01 01: slot changes told after the command (what we do); B2 A0 00 4D 4C +
        # 160 bytes: the driver's PIN pad strings (our display has its own); B5: the
        # SPE retry counter option
        self._answer(_ESCAPED)
    else:
        self._answer(_ESCAPED, error=_E_NOT_SUPPORTED)
