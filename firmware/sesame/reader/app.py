# The reader's state machine. Pure: driven by events (key, card, tick, transaction
# outcome) carrying the time in ms, it returns actions for the reader loop:
#   ("show", text)   display text (8 characters, a space = the group separator)
#   ("state", name)  new state, reported on the test link
#   ("transact", mode)  run a CAP transaction with self.pin[:self.npin] and
#                    **self.inputs() (challenge, amount, data)
#   ("off", None)    display and card off (the reader sleeps while the app is off)
# It never sees a clock and never touches hardware, so tests drive it directly.
#
# Keypad flows (mode keys CODE, RESPOND, SIGN start one from any state but busy):
#   CODE     PIN, OK                                   -> Identify
#   RESPOND  PIN, OK, challenge (1-8 digits), OK       -> Respond (challenge -> UN)
#   SIGN     PIN, OK, amount in cents (1-12 digits, shown with a decimal point), OK,
#            reference (1-8 digits), OK                -> Sign (amount -> 9F02, ref -> UN)
#   SIGN     PIN, OK, then SIGN again at the empty amount prompt: Mode-2 TDS, up to 10
#            data fields "dAtA 1".."dAtA10" of 1-10 digits, each ended by OK; OK on an
#            empty field (after at least one) or the 10th field's OK starts it
#   In an entry, CLEAR removes a digit; CLEAR on an empty entry cancels (PIN wiped).
#   Entries longer than the display show their rightmost 8 digits.
# Last PIN try: when the card says one try is left, the engine calls the reader's
# confirm callback, which calls last_try() and keeps feeding events until the state
# leaves "lasttry": OK -> "busy" (VERIFY goes ahead), CLEAR/timeout/card out -> cancel.
# Codes: 8 digits show as "1234 5678". Longer codes (up to 10 digits with the static
# Visa IPB, more with some IPBs) are paged: "1-123456", "2-7890", each page 6 digits
# after its number; pages turn every 2.5 s and on OK; CLEAR leaves.
from micropython import const
from sesame import errors

_PIN_MIN = const(4)
_PIN_MAX = const(12)
_PAGE_MS = const(2500)  # a long code's page stays this long
DIGITS = "0123456789"
MODE_KEYS = ("CODE", "RESPOND", "SIGN")  # -> modes identify, respond, sign

# Display texts (7-segment friendly; a space is the separator between digit groups).
T_IDLE = "rEAdY"
T_INSERT = "InSErt"
T_PIN = "PIn"
T_BUSY = "bUSY"
# The Respond/Sign entries (their texts, fields and keys) and the paging of long codes
# live in sesame.reader.entry, loaded the first time they are needed (small heaps).
_F_AMOUNT = const(2)  # sesame.reader.entry's amount field


def error_text(err):
    # Short display message for a failure; never contains a PIN.
    if isinstance(err, errors.PinWrong):
        return "%d triE%s" % (err.tries, "S" if err.tries > 1 else "")
    if isinstance(err, errors.CardError):
        return err.msg
    return errors.CardError.msg


class App:
    # One reader. Fields: state, pin (digit values, wiped after use), npin, deadline,
    # mode, the entry being typed and the inputs gathered for the transaction.
    def __init__(self, auto_off_ms=35000, message_ms=5000):
        self.auto_off_ms = auto_off_ms
        self.message_ms = message_ms
        self.state = "off"
        self.card = False  # card in the socket
        self.pin = bytearray(_PIN_MAX)
        self.npin = 0
        self.mode = None
        self.field = 0  # entry field being typed (_F_...), 0 = none
        self.entry = ""  # digits typed in it (not secret: challenge, amount, ...)
        self.challenge = ""
        self.amount = ""
        self.data = []  # Mode-2 TDS fields
        self.pages = None  # pages of a long code on show, the one shown first
        self.page_at = None  # ms time of the next page turn
        self.deadline = None  # ms time of the next timed transition
        self.out = []

    # -- helpers
    def _go(self, state, text, now, ms):
        self.state = state
        self.deadline = None if ms is None else now + ms
        self.pages = None
        self.page_at = None
        self.out.append(("state", state))
        if text is not None:
            self.out.append(("show", text))

    def _wipe(self):
        for i in range(_PIN_MAX):
            self.pin[i] = 0
        self.npin = 0
        self.field = 0
        self.entry = ""
        self.challenge = ""
        self.amount = ""
        self.data = []

    def _idle(self, now):
        self._wipe()
        self._go("idle", T_IDLE if self.card else T_INSERT, now, self.auto_off_ms)

    def _pin_text(self):
        n = self.npin
        return "-" * min(n, 8) if n else T_PIN

    def _start(self, now):
        self._go("busy", T_BUSY, now, None)
        self.out.append(("transact", self.mode))

    def _take(self):
        out = self.out
        if out:  # a new list only after actions: the reader's tick every pass allocates nothing
            self.out = []
        return out

    def inputs(self):
        # Keyword arguments of Cap.run for the gathered inputs.
        return {"challenge": self.challenge, "amount": self.amount, "data": tuple(self.data)}

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
            if k not in MODE_KEYS:
                return self._take()
        if st == "busy":
            return self._take()
        if st == "lasttry":
            if k == "OK":
                self._go("busy", T_BUSY, now, None)
            elif k == "CLEAR" or k in MODE_KEYS:
                self._idle(now)
            return self._take()
        if st == "input" and (k not in MODE_KEYS or (
                k == "SIGN" and self.field == _F_AMOUNT and not self.entry)):
            from sesame.reader.entry import input_key

            input_key(self, k, now)
            return self._take()
        if k in MODE_KEYS:
            self._wipe()
            if self.card:
                self.mode = ("identify", "respond", "sign")[MODE_KEYS.index(k)]
                self._go("pin", T_PIN, now, self.auto_off_ms)
            else:
                self._go("message", errors.CardAbsent.msg, now, self.message_ms)
        elif st == "pin":
            self._pin_key(k, now)
        elif st == "code" and k == "OK" and self.pages:
            self._turn(now)
        elif st in ("message", "code") and k in ("CLEAR", "OK"):
            self._idle(now)
        elif st == "idle":
            self.deadline = now + self.auto_off_ms
        return self._take()

    def _pin_key(self, k, now):
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
            if self.mode == "identify":
                self._start(now)
            else:
                from sesame.reader.entry import ask

                ask(self, now)

    def _turn(self, now):
        p = self.pages
        p.append(p.pop(0))
        self.page_at = now + _PAGE_MS
        self.out.append(("show", p[0]))

    def card_event(self, present, now):
        # A card inserted while off turns the reader on (rEAdY until auto-off): the user
        # wants a code. Pulled out while off: nothing, the reader sleeps on.
        self.card = present
        if self.state == "idle" or (self.state == "off" and present):
            self._idle(now)
        elif self.state in ("pin", "input", "lasttry") and not present:
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
        elif self.page_at is not None and now - self.page_at >= 0:
            self._turn(now)
        return self._take()

    def last_try(self, now):
        # The card has one PIN try left: warn, and wait for OK (or CLEAR) again.
        if self.state == "busy":
            self._go("lasttry", "LASt try", now, self.auto_off_ms)
        return self._take()

    def finished(self, code, now):
        if self.state in ("idle", "off", "message"):  # cancelled meanwhile: nothing to show
            self._wipe()
            return self._take()
        self._wipe()
        if len(code) <= 8:
            self._go("code", code[:4] + " " + code[4:], now, self.auto_off_ms)
        else:
            from sesame.reader.entry import code_pages

            self._go("code", None, now, self.auto_off_ms)
            self.pages = code_pages(code)
            self.page_at = now + _PAGE_MS
            self.out.append(("show", self.pages[0]))
        return self._take()

    def failed(self, err, now):
        self._wipe()
        if self.state in ("idle", "off", "message"):  # cancelled at the last-try warning: already shown
            return self._take()
        self._go("message", error_text(err), now, self.message_ms)
        return self._take()
