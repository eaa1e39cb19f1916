# Typed errors of the reader. Every failure talking to a card ends in one of these;
# the reader loop turns them into a short display message. Messages never carry a PIN.


class CardError(Exception):
    # Base class: the card (or the line to it) did something we cannot go on with.
    msg = "Err CArd"


class CardAbsent(CardError):
    # No card in the socket, or it was pulled out mid-exchange.
    msg = "no CArd"


class CardTimeout(CardError):
    # The card did not answer within the ISO 7816-3 waiting time.
    pass


class ProtocolError(CardError):
    # The card broke the transmission protocol (bad ATR, bad procedure byte, ...).
    pass


class BadData(ProtocolError):
    # The card's data is malformed (TLV, DOL, AFL, GPO or GENERATE AC layout): the line
    # works, so the CAP engine may go on with the next application candidate.
    pass


class StatusError(CardError):
    # An APDU ended with a status word the CAP flow cannot accept.
    def __init__(self, what, sw):
        super().__init__("%s: SW %04X" % (what, sw))
        self.sw = sw


class NoApplication(CardError):
    # None of the known CAP applications could be selected.
    msg = "no APPLi"


class PinWrong(CardError):
    # VERIFY answered 63Cx: wrong PIN, `tries` left.
    def __init__(self, tries):
        super().__init__("wrong PIN, %d tries left" % tries)
        self.tries = tries


class PinBlocked(CardError):
    # VERIFY answered 6983 or 63C0, or the try counter is 0.
    msg = "bLOCKEd"


class PinInvalid(PinBlocked):
    # VERIFY answered 6984: the card's PIN is invalidated (unusable, not merely counted
    # out); only the bank can restore it.
    msg = "PIn OFF"
