# The Respond and Sign entries of the app (sesame.reader.app), and the paging of long codes:
# loaded only when first needed, so a reader used for Identify keeps them off its heap.
# Functions of the App object; pure like it (no clock, no hardware). Flows: see app.py.
from micropython import const

T_CHALLENGE = "ChALLEnG"
T_AMOUNT = "AnnOUnt"  # "nn" reads as an m on 7 segments
T_REF = "rEF"
T_DATA = "dAtA %d"  # "dAtA 1" .. "dAtA10"

# entry fields, and the most digits each takes (index = field)
_F_CHALLENGE = const(1)
_F_AMOUNT = const(2)  # = sesame.reader.app._F_AMOUNT
_F_REF = const(3)
_F_DATA = const(4)
_MOST = b"\x00\x08\x0c\x08\x0a"
_MAX_FIELDS = const(10)
_PAGE = const(6)  # digits on one page of a long code
_DIGITS = "0123456789"


def code_pages(code):
    # Display pages for a code: ["1234 5678"] or ["1-123456", "2-7890", ...].
    if len(code) <= 8:
        return [code[:4] + " " + code[4:]]
    return ["%d-%s" % (i // _PAGE + 1, code[i:i + _PAGE]) for i in range(0, len(code), _PAGE)]


def amount_text(d):
    # "1234" -> "12.34", "5" -> "0.05" (cents typed, a decimal point shown).
    d = "0" * (3 - len(d)) + d if len(d) < 3 else d
    s = d[:-2] + "." + d[-2:]
    return s[-9:]


def entry_text(app):
    # What the display shows for the entry being typed: its prompt while empty.
    f, e = app.field, app.entry
    if not e:
        if f == _F_DATA:
            return T_DATA % (len(app.data) + 1)
        return (T_CHALLENGE, T_AMOUNT, T_REF)[f - 1]
    return amount_text(e) if f == _F_AMOUNT else e[-8:]


def ask(app, now, field=0):
    # Start an entry; after the PIN: the challenge (Respond) or the amount (Sign).
    app.field = field or (_F_CHALLENGE if app.mode == "respond" else _F_AMOUNT)
    app.entry = ""
    app._go("input", entry_text(app), now, app.auto_off_ms)


def input_key(app, k, now):
    # A key in the "input" state (mode keys other than the TDS switch excluded).
    app.deadline = now + app.auto_off_ms
    f = app.field
    if k == "SIGN":  # at the empty amount prompt: Mode-2 TDS instead of amount + ref
        app.data = []
        ask(app, now, _F_DATA)
    elif k in _DIGITS:
        if len(app.entry) < _MOST[f]:
            app.entry += k
            app.out.append(("show", entry_text(app)))
    elif k == "CLEAR":
        if app.entry:
            app.entry = app.entry[:-1]
            app.out.append(("show", entry_text(app)))
        else:
            app._idle(now)
    elif k == "OK":
        e = app.entry
        if f == _F_DATA:
            if e:
                app.data.append(e)
            if (not e and app.data) or len(app.data) == _MAX_FIELDS:
                app._start(now)
            elif e:
                ask(app, now, _F_DATA)
        elif not e:
            pass  # an empty challenge, amount or reference is not taken
        elif f == _F_CHALLENGE:
            app.challenge = e
            app._start(now)
        elif f == _F_AMOUNT:
            app.amount = e
            ask(app, now, _F_REF)
        else:
            app.challenge = e  # the reference goes to UN
            app._start(now)
