# The app's PC/SC side (sesame.reader.app, for the CCID slot in sesame.ccid): pure like
# the app, and loaded only once a PC talks to the reader. install(app) hooks four of the
# App's methods on that one object (instance attributes over the class's: the app itself
# carries no PC/SC code, so a reader never plugged into pcscd keeps its heap):
#   _idle      while a PC application holds the card: "PC USE", and no auto-off
#   key        mode keys refused ("PC USE") while it holds it; the "pcpin" state's keys
#   tick       the PIN entry's timeout
#   card_event the card pulled out during the PIN entry
# and adds: hold(app, held, now) a PC application took the card (IccPowerOn) or let it
# go; pin(app, prompt, lo, hi, ms, now) the PC asks for a PIN of lo-hi digits, ms without
# a key cancels: digits (masked), CLEAR (a digit; on an empty entry: cancel), OK (once lo
# digits are in), mode keys do nothing; app.pc_r = digits typed / 0 / -1 timeout / -2 card
# out, the PIN in app.pin until the slot has used and wiped it; busy(), result(sw).
from sesame import errors
from sesame.reader.app import App, DIGITS, MODE_KEYS, T_BUSY, T_IDLE, T_INSERT, error_text

T_PC = "PC USE"
T_PIN_OK = "PIn OK"


def install(app, on_key=None):
    # on_key(k, now): told every key after the app (sesame.reader.pchost: leave the mode).
    app.pc = False  # a PC application holds the card
    app.pc_r = 0
    app.pc_lo, app.pc_hi, app.pc_ms = 4, 12, 30000

    def _idle(now):
        app._wipe()
        if app.pc:
            app._go("idle", T_PC, now, None)  # never off while the PC holds the card
        else:
            app._go("idle", T_IDLE if app.card else T_INSERT, now, app.auto_off_ms)

    def key(k, now):
        st = app.state
        if st == "pcpin":
            _pin_key(app, k, now)
            out = app._take()
        elif app.pc and k in MODE_KEYS and st not in ("busy", "lasttry"):
            app._wipe()
            app._go("message", T_PC, now, app.message_ms)
            out = app._take()
        else:
            out = App.key(app, k, now)
        if on_key is not None:
            on_key(k, now)
        return out

    def tick(now):
        d = app.deadline
        if app.state == "pcpin" and d is not None and now - d >= 0:
            app.pc_r = -1
            app._idle(now)
            return app._take()
        return App.tick(app, now)

    def card_event(present, now):
        if app.state == "pcpin" and not present:
            app.card = present
            app.pc_r = -2
            app._wipe()
            app._go("message", errors.CardAbsent.msg, now, app.message_ms)
            return app._take()
        return App.card_event(app, present, now)

    app._idle, app.key, app.tick, app.card_event = _idle, key, tick, card_event


def _pin_key(app, k, now):
    app.deadline = now + app.pc_ms
    if k in DIGITS:
        if app.npin < app.pc_hi:
            app.pin[app.npin] = ord(k) - 48
            app.npin += 1
            app.out.append(("show", app._pin_text()))
    elif k == "CLEAR":
        if app.npin:
            app.npin -= 1
            app.pin[app.npin] = 0
            app.out.append(("show", app._pin_text()))
        else:
            app.pc_r = 0
            app._idle(now)
    elif k == "OK" and app.npin >= app.pc_lo:
        app.pc_r = app.npin
        app._go("busy", T_BUSY, now, None)


def hold(app, held, now):
    app.pc = held
    if app.state in ("idle", "off", "message") or (not held and app.state == "pcpin"):
        app._idle(now)
    return app._take()


def pin(app, prompt, lo, hi, ms, now):
    app._wipe()
    app.pc_lo, app.pc_hi, app.pc_ms = lo, hi, ms
    app.pc_r = 0
    app._go("pcpin", prompt, now, ms)
    return app._take()


def busy(app, now):
    if app.state != "busy":
        app._go("busy", T_BUSY, now, None)
    return app._take()


def result(app, sw, now):
    # The card's answer to the PC's PIN command (-1: none), shown like the reader's own.
    app._wipe()
    text = None
    if sw == 0x9000:
        text = T_PIN_OK
    elif sw & 0xFFF0 == 0x63C0:
        text = error_text(errors.PinWrong(sw & 0x0F)) if sw & 0x0F else errors.PinBlocked.msg
    elif sw == 0x6983:
        text = errors.PinBlocked.msg
    elif sw == 0x6984:
        text = errors.PinInvalid.msg
    if text is None:
        app._idle(now)
    else:
        app._go("message", text, now, app.message_ms)
    return app._take()
