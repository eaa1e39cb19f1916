# Belgian cards (doegox/EMV-CAP; DESIGN.md section 5): how a card tells it is Belgian,
# and the code function of its Bancontact application (and of its others without an
# IPB). Loaded by the CAP engine only for a card whose FCI has issuer data (BF0C).
from sesame.emv import tlv
from sesame.errors import BadData


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
