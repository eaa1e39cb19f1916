# The CCID slot's host (sesame.ccid.slot): what the reader gives the PC/SC side. Made by
# the reader loop at the first byte on the board's PC/SC channel; the PIN entry for the PC
# runs the loop itself (keys, test link, card switch) until the app has an outcome.
from sesame import VERSION
from sesame.ccid.slot import Slot
from sesame.reader import pcapp


class PcHost:
    # Fields: reader (sesame.reader.loop.Reader), app, line (the board's card line),
    # version, slot (the CCID slot on the board's channel).
    def __init__(self, reader):
        self.reader = reader
        self.app = reader.app
        self.line = reader.board.line
        self.version = VERSION
        self.slot = Slot(reader._pcsc, self)

    def own_busy(self):
        # The reader's own flow has, or is about to take, the card.
        return self.reader._busy or self.app.state in ("pin", "input", "lasttry")

    def pc_hold(self, held):
        r = self.reader
        r.do(pcapp.hold(self.app, held, r._clock()))

    def pc_pin(self, prompt, lo, hi, ms):
        # Returns the app's outcome; the digits are in app.pin until pc_wipe().
        r = self.reader
        app = self.app
        r.do(pcapp.pin(app, prompt, lo, hi, ms, r._clock()))
        wait = r.board.settings.get("loop_ms", 10)
        while app.state == "pcpin":
            r.step(wait)
            self.slot.keep()
        return app.pc_r

    def pc_wipe(self):
        self.app._wipe()

    def pc_busy(self):
        r = self.reader
        r.do(pcapp.busy(self.app, r._clock()))

    def pc_result(self, sw):
        r = self.reader
        r.do(pcapp.result(self.app, sw, r._clock()))
