# The reader's state machine. Pure: driven by events (key, card, tick, transaction
# outcome) carrying the time in ms, it returns actions for the reader loop:
#   ("show", text)   display text (8 characters, a space = the group separator)
#   ("state", name)  new state, reported on the test link
#   ("transact", mode)  run a CAP transaction with self.pin[:self.npin]
#   ("off", None)    display and card off (the reader sleeps until a key)
# It never sees a clock and never touches hardware, so tests drive it directly.
from micropython import const
from sesame import errors

_PIN_MIN = const(4)
_PIN_MAX = const(12)
DIGITS = "0123456789"

# Display texts (7-segment friendly; a space is the separator between digit groups).
T_IDLE = "rEAdY"
T_INSERT = "InSErt"
T_PIN = "PIn"
T_BUSY = "bUSY"


def code_display(code):
    # "12345678" -> "1234 5678"; longer codes are shown whole.
    return code[:4] + " " + code[4:] if len(code) == 8 else code


def error_text(err):
    # Short display message for a failure; never contains a PIN.
    if isinstance(err, errors.PinWrong):
        return "%d triE%s" % (err.tries, "S" if err.tries > 1 else "")
    if isinstance(err, errors.CardError):
        return err.msg
    return errors.CardError.msg


class App:
    # One reader. Fields: state, pin (digit values, wiped after use), npin, deadline.
    def __init__(self, auto_off_ms=35000, message_ms=5000):
        self.auto_off_ms = auto_off_ms
        self.message_ms = message_ms
        self.state = "off"
        self.card = False  # card in the socket
        self.pin = bytearray(_PIN_MAX)
        self.npin = 0
        self.mode = None
        self.deadline = None  # ms time of the next timed transition
        self.out = []

    # -- helpers
    def _go(self, state, text, now, ms):
        self.state = state
        self.deadline = None if ms is None else now + ms
        self.out.append(("state", state))
        if text is not None:
            self.out.append(("show", text))

    def _wipe(self):
        for i in range(_PIN_MAX):
            self.pin[i] = 0
        self.npin = 0

    def _idle(self, now):
        self._wipe()
        self._go("idle", T_IDLE if self.card else T_INSERT, now, self.auto_off_ms)

    def _pin_text(self):
        n = self.npin
        return "-" * min(n, 8) if n else T_PIN

    def _take(self):
        out = self.out
        self.out = []
        return out

    # -- events
    def power_on(self, now, card):
        self.card = card
        self._idle(now)
        return self._take()

    def key(self, k, now):
        st = self.state
        if st == "off":
            self._idle(now)
            st = "idle"
            if k != "CODE":
                return self._take()
        if st == "busy":
            return self._take()
        if k == "CODE":
            self._wipe()
            if self.card:
                self.mode = "identify"
                self._go("pin", T_PIN, now, self.auto_off_ms)
            else:
                self._go("message", errors.CardAbsent.msg, now, self.message_ms)
        elif st == "pin":
            self.deadline = now + self.auto_off_ms
            if k in DIGITS:
                if self.npin < _PIN_MAX:
                    self.pin[self.npin] = ord(k) - 48
                    self.npin += 1
                    self.out.append(("show", self._pin_text()))
            elif k == "CLEAR":
                if self.npin:
                    self.npin -= 1
                    self.pin[self.npin] = 0
                    self.out.append(("show", self._pin_text()))
                else:
                    self._idle(now)
            elif k == "OK" and self.npin >= _PIN_MIN:
                self._go("busy", T_BUSY, now, None)
                self.out.append(("transact", self.mode))
        elif st in ("message", "code") and k in ("CLEAR", "OK"):
            self._idle(now)
        elif st == "idle":
            self.deadline = now + self.auto_off_ms
        return self._take()

    def card_event(self, present, now):
        self.card = present
        if self.state == "idle":
            self._idle(now)
        elif self.state == "pin" and not present:
            self._wipe()
            self._go("message", errors.CardAbsent.msg, now, self.message_ms)
        return self._take()

    def tick(self, now):
        d = self.deadline
        if d is not None and now - d >= 0:
            if self.state == "message":
                self._idle(now)
            else:
                self._wipe()
                self._go("off", None, now, None)
                self.out.append(("off", None))
        return self._take()

    def finished(self, code, now):
        self._wipe()
        self._go("code", code_display(code), now, self.auto_off_ms)
        return self._take()

    def failed(self, err, now):
        self._wipe()
        self._go("message", error_text(err), now, self.message_ms)
        return self._take()
