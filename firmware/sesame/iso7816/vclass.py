# Classes of operating conditions (ISO/IEC 7816-3 8.3: the first TA for T=15 is the class
# indicator; bit 1 = class A, 5 V; bit 2 = B, 3 V; bit 3 = C, 1.8 V). Loaded by
# sesame.iso7816.session only for a card whose ATR carries one.
from sesame.errors import ProtocolError

_VOLTS = ("5", "3", "1.8")  # classes A, B, C


def check(line, y):
    # A card whose indicator y leaves out the class the board supplies (line.vcc_class:
    # 0 = A, 1 = B, 2 = C) is refused before it runs on a voltage it does not accept: a
    # class-A-only card on the direct 3.3 V wiring shows "5U CArd" (7 segments have no V).
    # A card without the indicator answered at this voltage: the session does not ask.
    c = getattr(line, "vcc_class", None)
    if c is None or y & (1 << c) or not y & 7:
        return
    volts = _VOLTS[0 if y & 1 else 1 if y & 2 else 2]
    e = ProtocolError("card needs %s V" % volts)
    e.msg = volts + "U CArd"
    raise e
