# APDU trace (test builds only): a transport wrapper that reports each exchange on the
# test link, for `sesame trace`. Events, one a line:
#   @trace atr <hex>   @trace proto <0|1>   @trace c <command hex>   @trace r <response hex>
#   @trace end (the card was deactivated)
# The PIN never leaves the reader: a VERIFY's data (the PIN block) is never converted;
# it is reported as "2?" then "F"s, the same length: 00200080082?FFFFFFFFFFFFFF.
from binascii import hexlify
from micropython import const

_INS_VERIFY = const(0x20)


def hexs(b):
    return hexlify(b).decode().upper()


def command_text(apdu):
    # The command as hex, with a VERIFY's data masked (its length kept).
    if len(apdu) > 5 and apdu[1] == _INS_VERIFY:
        lc = apdu[4]
        return hexs(apdu[:5]) + "2?" + "F" * (2 * lc - 2) + hexs(apdu[5 + lc:])
    return hexs(apdu)


def command(reader, arg):
    # `!trace on|off` for the reader loop (here, so that its code is not in the heap of a
    # reader nobody traces): test builds only.
    link = reader.link
    if not link.test_build:
        link.event("refused", "trace needs a test build")
    elif arg in ("on", "off"):
        reader.tracing = arg == "on"
        link.event("ok", "trace")
    else:
        link.event("error", "trace on|off")


class Trace:
    # Wraps a transport (one method, transmit); `event(name, arg)` writes a link event.
    def __init__(self, transport, event, atr=None, protocol=0):
        self.inner = transport
        self.event = event
        self.PROTOCOL = protocol  # as the transport's (the CAP engine asks)
        if atr is not None:
            event("trace", "atr " + hexs(atr))
            event("trace", "proto %d" % protocol)

    def transmit(self, apdu):
        self.event("trace", "c " + command_text(apdu))
        r = self.inner.transmit(apdu)
        self.event("trace", "r " + hexs(r))
        return r

    def end(self):
        self.event("trace", "end")
