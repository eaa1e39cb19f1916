# The app's PC/SC side (sesame.reader.app, for the CCID slot in sesame.ccid): functions of
# the App object, pure like it, loaded only once a PC talks to the reader.
#   hold(app, held, now)      a PC application took the card (IccPowerOn) or let it go
#   pin(app, prompt, lo, hi, ms, now)  the PC asks for a PIN of lo-hi digits; ms without
#                             a key cancels. Keys: digits (masked), CLEAR (a digit; on an
#                             empty entry: cancel), OK (once lo digits are in); mode keys
#                             do nothing. app.pc_r: digits typed / 0 / -1 (timeout) / -2
#   busy(app, now), result(app, sw, now)  the PIN command goes to the card; its answer
from sesame import errors
from sesame.reader.app import DIGITS, T_BUSY, T_PC, error_text

T_PIN_OK = "PIn OK"


def key(app, k, now):
    # A key while the PC holds the card: in its PIN entry, or a refused mode key.
    if app.state != "pcpin":
        app._wipe()
        app._go("message", T_PC, now, app.message_ms)
        return
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
