# Belgian cards (doegox/EMV-CAP; DESIGN.md section 5): how a card tells it is Belgian,
# the terminal data of its Bancontact, Visa and Maestro applications, and the code
# function of Bancontact (and of its other applications without an IPB). Loaded by the
# CAP engine only for a card whose FCI has issuer data (BF0C).
from sesame.emv import tlv
from sesame.errors import BadData

_RULED = (
    b"\xD0\x56\x00\x06\x66\x11\x10\x10",  # Bancontact
    b"\xA0\x00\x00\x00\x03\x10\x10",  # Visa credit/debit
    b"\xA0\x00\x00\x00\x03\x20\x10",  # Visa Electron
    b"\xA0\x00\x00\x00\x04\x30\x60",  # Maestro
)


def rules(aid, data):
    # A Belgian card's Bancontact, Visa and Maestro applications: TVR 8000000800 (the
    # merchant forced the transaction online), date 000000, ARC "Z1" (offline declined).
    # data: sesame.emv.cap.terminal_data()'s dict, changed in place.
    if aid[:8] in _RULED or aid[:7] in _RULED:
        data[0x95] = b"\x80\x00\x00\x08\x00"
        data[0x9A] = bytes(3)
        data[0x8A] = b"Z1"


def country(fci):
    # True when the FCI's issuer discretionary data BF0C holds the cardholder
    # nationality 5F2C = 0056 (Belgium, ISO 3166 numeric) and DF07 starting "BKS056".
    try:
        r = tlv.find(fci, 0xBF0C)
        if r is None:
            return False
        bf0c = memoryview(fci)[r[0]:r[1]]
        df07 = tlv.value(bf0c, 0xDF07)
        return tlv.value(bf0c, 0x5F2C) == b"\x00\x56" and df07 is not None \
            and df07[:6] == b"BKS056"
    except BadData:
        return False


def code(atc, ac):
    # AC bytes 5-6 (their 10 low bits), ATC byte 1 and AC byte 7 (bytes counted from 0)
    # as one number; its last digit is added again in front (x 10^7); 8 digits kept.
    v = ((((ac[5] << 8) | ac[6]) & 0x3FF) << 16) | (atc[1] << 8) | ac[7]
    return (v + (v % 10) * 10000000) % 100000000
