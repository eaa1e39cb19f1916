# The APDU trace wrapper: exchanges reported in hex, the PIN block of VERIFY masked.
from sesame.reader.trace import Trace, command_text
from unitcheck import h


class Echo:
    def transmit(self, apdu):
        return b"\x90\x00"


def test_plain_command_in_hex():
    assert command_text(h("00A4040007A0000000038002 00")) == "00A4040007A000000003800200"


def test_verify_data_masked_same_length():
    pin_block = h("0020008008 241234FFFFFFFFFF")
    t = command_text(pin_block)
    assert t == "0020008008" + "2?FFFFFFFFFFFFFF", t
    assert len(t) == 2 * len(pin_block)
    assert "1234" not in t and "41" not in t[10:]


def test_trace_reports_each_exchange():
    events = []
    tr = Trace(Echo(), lambda n, a: events.append(n + " " + a), h("3B6500002063CB6600"), 0)
    assert tr.transmit(bytearray(h("0020008008 249876FFFFFFFFFF"))) == b"\x90\x00"
    tr.end()
    assert events == ["trace atr 3B6500002063CB6600", "trace proto 0",
                      "trace c 00200080082?FFFFFFFFFFFFFF", "trace r 9000", "trace end"], events
