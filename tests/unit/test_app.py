# The reader's state machine, driven with no hardware and no clock.
from sesame.reader.app import App
from sesame.reader import pcapp
from sesame import errors


def shows(actions):
    return [a for k, a in actions if k == "show"]


def started(card=True, off_ms=35000):
    app = App(auto_off_ms=off_ms)
    app.power_on(0, card)
    return app


def test_idle_text_depends_on_card():
    assert shows(App().power_on(0, True)) == ["rEAdY"]
    assert shows(App().power_on(0, False)) == ["InSErt"]


def test_code_without_card():
    app = started(card=False)
    assert shows(app.key("CODE", 10)) == ["no CArd"]
    assert app.state == "message"
    app.tick(10 + 5000)
    assert app.state == "idle"


def test_pin_entry_masked_clear_and_ok():
    app = started()
    assert shows(app.key("CODE", 1)) == ["PIn"]
    out = []
    for k in "123":
        out += shows(app.key(k, 2))
    assert out == ["-", "--", "---"]
    assert shows(app.key("CLEAR", 3)) == ["--"]
    assert app.key("OK", 4) == []  # fewer than 4 digits: OK ignored
    for k in "34":
        app.key(k, 5)
    acts = app.key("OK", 6)
    assert ("transact", "identify") in acts and app.state == "busy"
    assert bytes(app.pin[:app.npin]) == bytes([1, 2, 3, 4])
    assert app.key("5", 7) == []  # keys ignored while busy
    acts = app.finished("04226003", 8)
    assert shows(acts) == ["0422 6003"] and app.state == "code"
    assert app.npin == 0 and app.pin == bytearray(12)


def test_no_digit_ever_displayed_during_entry():
    app = started()
    app.key("CODE", 0)
    for k in "987654321098":
        for text in shows(app.key(k, 1)):
            assert set(text) == {"-"} and len(text) <= 8
    assert app.npin == 12
    assert app.key("7", 2) == []  # 12 digits at most


def test_clear_on_empty_cancels_and_wipes():
    app = started()
    app.key("CODE", 0)
    app.key("5", 0)
    app.key("CLEAR", 0)
    assert shows(app.key("CLEAR", 0)) == ["rEAdY"]
    assert app.state == "idle" and app.pin == bytearray(12)


def test_auto_off_after_code():
    app = started(off_ms=35000)
    app.key("CODE", 0)
    for k in "1234":
        app.key(k, 0)
    app.key("OK", 0)
    app.finished("12345678", 1000)
    assert app.tick(1000 + 34999) == []
    acts = app.tick(1000 + 35000)
    assert ("off", None) in acts and app.state == "off"
    # any key wakes it; CODE goes straight to PIN entry
    assert shows(app.key("CODE", 50000)) == ["rEAdY", "PIn"]


def test_auto_off_when_idle():
    app = started(off_ms=2000)
    assert app.tick(1999) == []
    assert ("off", None) in app.tick(2000)


def busy(app, now=0, pin="1234"):
    app.key("CODE", now)
    for k in pin:
        app.key(k, now)
    acts = app.key("OK", now)
    assert ("transact", "identify") in acts
    return app


def test_wrong_pin_message_then_idle():
    app = started()
    acts = busy(app).failed(errors.PinWrong(2), 10)
    assert shows(acts) == ["2 triES"]
    assert shows(busy(app).failed(errors.PinWrong(1), 10)) == ["1 triE"]
    assert shows(busy(app).failed(errors.PinBlocked("x"), 10)) == ["bLOCKEd"]
    assert shows(busy(app).failed(errors.CardTimeout("x"), 10)) == ["Err CArd"]
    assert shows(busy(app).failed(ValueError("bug"), 10)) == ["Err CArd"]
    assert shows(app.key("OK", 20)) == ["rEAdY"]


def test_card_removed_during_pin_entry():
    app = started()
    app.key("CODE", 0)
    app.key("1", 0)
    assert shows(app.card_event(False, 1)) == ["no CArd"]
    assert app.pin == bytearray(12)


def test_card_inserted_updates_idle():
    app = started(card=False)
    assert shows(app.card_event(True, 1)) == ["rEAdY"]


def test_a_card_inserted_while_off_turns_the_reader_on_until_auto_off():
    # the user wants a code: rEAdY, then off again after auto_off_ms without a key
    app = started(card=False, off_ms=2000)
    assert ("off", None) in app.tick(2000)
    acts = app.card_event(True, 5000)
    assert shows(acts) == ["rEAdY"] and app.state == "idle"
    assert app.tick(6999) == [] and ("off", None) in app.tick(7000)
    # pulled out while off: the reader stays off (and sleeps on)
    assert app.card_event(False, 8000) == [] and app.state == "off"
    # the waking key path is unchanged: a key while off shows rEAdY/InSErt
    assert shows(app.key("OK", 9000)) == ["InSErt"] and app.state == "idle"


def typed(app, keys, now=0):
    out = []
    for k in keys.split():
        out += app.key(k, now)
    return out


def test_respond_flow_challenge_after_pin():
    app = started()
    acts = typed(app, "RESPOND 1 2 3 4 OK")
    assert shows(acts)[-1] == "ChALLEnG" and app.state == "input"
    assert not [a for a in acts if a[0] == "transact"]
    assert app.pin[:4] == bytearray([1, 2, 3, 4]), "PIN kept for the transaction"
    assert shows(typed(app, "1 1 2 2")) == ["1", "11", "112", "1122"]
    assert typed(app, "3 3 4 4 5") and app.entry == "11223344", "8 digits at most"
    acts = app.key("OK", 1)
    assert ("transact", "respond") in acts and app.state == "busy"
    assert app.inputs() == {"challenge": "11223344", "amount": "", "data": ()}
    assert shows(app.finished("45233899", 2)) == ["4523 3899"]


def test_respond_needs_a_challenge_and_clear_cancels():
    app = started()
    typed(app, "RESPOND 1 2 3 4 OK")
    assert app.key("OK", 1) == [], "empty challenge not taken"
    assert shows(typed(app, "7 CLEAR")) == ["7", "ChALLEnG"]
    assert shows(app.key("CLEAR", 2)) == ["rEAdY"]
    assert app.pin == bytearray(12) and app.state == "idle"


def test_sign_flow_amount_then_reference():
    app = started()
    acts = typed(app, "SIGN 1 2 3 4 OK")
    assert shows(acts)[-1] == "AnnOUnt"
    assert shows(typed(app, "5 0 1 2 3 4 5 6")) == ["0.05", "0.50", "5.01", "50.12", "501.23",
                                                    "5012.34", "50123.45", "501234.56"]
    assert shows(app.key("OK", 1)) == ["rEF"]
    acts = typed(app, "4 4 5 5 6 6 OK")
    assert ("transact", "sign") in acts
    assert app.inputs() == {"challenge": "445566", "amount": "50123456", "data": ()}


def test_sign_mode2_tds_fields():
    app = started()
    typed(app, "SIGN 1 2 3 4 OK")
    assert shows(app.key("SIGN", 1)) == ["dAtA 1"], "SIGN at the empty amount: TDS"
    assert shows(typed(app, "1 2 3 4 5 6 7 8 9 0 1")) == [
        "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "23456789",
        "34567890"], "10 digits a field, the rightmost 8 shown"
    assert shows(app.key("OK", 2)) == ["dAtA 2"]
    assert shows(typed(app, "4 2 OK")) == ["4", "42", "dAtA 3"]
    acts = app.key("OK", 3)  # empty field: done
    assert ("transact", "sign") in acts
    assert app.inputs() == {"challenge": "", "amount": "", "data": ("1234567890", "42")}


def test_sign_tds_ten_fields_start_at_once():
    app = started()
    typed(app, "SIGN 1 2 3 4 OK SIGN")
    for i in range(9):
        assert shows(typed(app, "%d OK" % i))[-1] == "dAtA %d" % (i + 2)
    acts = typed(app, "9 OK")
    assert ("transact", "sign") in acts and len(app.inputs()["data"]) == 10


def test_last_try_warning_needs_ok_again():
    app = busy(started())
    acts = app.last_try(5)
    assert shows(acts) == ["LASt try"] and app.state == "lasttry"
    assert app.key("5", 6) == [] and app.npin == 4, "digits ignored, PIN kept"
    acts = app.key("OK", 7)
    assert shows(acts) == ["bUSY"] and app.state == "busy"
    assert not [a for a in acts if a[0] == "transact"], "the running transaction goes on"
    assert shows(app.finished("12345678", 8)) == ["1234 5678"]


def test_last_try_declined_or_timed_out():
    app = busy(started())
    app.last_try(0)
    assert shows(app.key("CLEAR", 1)) == ["rEAdY"] and app.pin == bytearray(12)
    assert app.failed(errors.CardError("x"), 2) == [], "the cancel is already shown"
    assert app.state == "idle"
    app = busy(started(off_ms=1000))
    app.last_try(0)
    assert ("off", None) in app.tick(1000)
    assert app.pin == bytearray(12) and app.failed(errors.CardError("x"), 2) == []
    app = busy(started())
    app.last_try(0)
    assert shows(app.card_event(False, 1)) == ["no CArd"] and app.pin == bytearray(12)


def test_long_code_pages():
    from sesame.reader.entry import code_pages
    assert code_pages("12345678") == ["1234 5678"]
    assert code_pages("1234567890") == ["1-123456", "2-7890"]
    assert code_pages("123456789012345") == ["1-123456", "2-789012", "3-345"]
    app = busy(started())
    assert shows(app.finished("1234567890", 100)) == ["1-123456"]
    assert app.tick(100 + 2499) == []
    assert shows(app.tick(100 + 2500)) == ["2-7890"]
    assert shows(app.tick(100 + 5000)) == ["1-123456"]
    assert shows(app.key("OK", 5100)) == ["2-7890"], "OK turns the page"
    assert ("off", None) in app.tick(100 + 35000), "auto-off still applies"
    app = busy(started())
    app.finished("1234567890", 0)
    assert shows(app.key("CLEAR", 1)) == ["rEAdY"]
    assert app.tick(10000) == [] or app.state == "idle"


def test_texts_are_seven_segment_friendly():
    from sesame.reader import app as a, entry as n
    from sesame.panel.segments import glyph
    for t in (a.T_IDLE, a.T_INSERT, a.T_PIN, a.T_BUSY, n.T_CHALLENGE, n.T_AMOUNT, n.T_REF,
              n.T_DATA % 10, "LASt try", "AbortEd", "5U CArd", "1.8U CArd", pcapp.T_PC,
              pcapp.T_PIN_OK, "OLd PIn", "nEU PIn", "AGAIn"):
        assert len(t.replace(".", "")) <= 8, t
        for ch in t:
            assert ch in " ." or glyph(ch), (t, ch)  # "." is the digit's decimal point


# -- PC/SC: a PC application holds the card (sesame.ccid)

def pc_started(off_ms=35000):
    app = started(off_ms=off_ms)
    pcapp.install(app)
    return app


def test_pc_hold_refuses_own_modes_and_never_switches_off():
    app = pc_started(off_ms=1000)
    assert shows(pcapp.hold(app, True, 10)) == ["PC USE"]
    assert app.tick(10_000_000) == []  # no auto-off while the PC holds the card
    assert shows(app.key("CODE", 20)) == ["PC USE"] and app.state == "message"
    assert not any(k == "transact" for k, _ in app.key("OK", 21))
    app.tick(20 + 5000)
    assert app.state == "idle" and app.deadline is None
    assert shows(pcapp.hold(app, False, 30)) == ["rEAdY"] and app.deadline == 30 + 1000
    assert shows(app.key("CODE", 40)) == ["PIn"]


def test_pc_pin_entry_masked_min_max_clear_ok():
    app = pc_started()
    pcapp.hold(app, True, 0)
    assert shows(pcapp.pin(app, "PIn", 4, 6, 30000, 1)) == ["PIn"] and app.state == "pcpin"
    out = []
    for k in "1234567":  # max 6 digits: the 7th is ignored
        out += shows(app.key(k, 2))
    assert out == ["-", "--", "---", "----", "-----", "------"]
    assert app.key("CODE", 3) == [] and app.state == "pcpin"  # mode keys do nothing here
    assert shows(app.key("CLEAR", 4)) == ["-----"]
    app.key("OK", 5)
    assert app.state == "busy" and app.pc_r == 5 and bytes(app.pin[:5]) == b"\x01\x02\x03\x04\x05"
    assert shows(pcapp.result(app, 0x63C1, 6)) == ["1 triE"]
    assert not any(app.pin)
    pcapp.pin(app, "PIn", 4, 12, 30000, 10)
    app.key("1", 11)
    assert app.key("OK", 12) == [] and app.state == "pcpin"  # fewer than the least asked
    app.key("CLEAR", 13)
    app.key("CLEAR", 14)  # on an empty entry: cancelled
    assert app.pc_r == 0 and app.state == "idle"


def test_pc_pin_timeout_and_card_out():
    app = pc_started()
    pcapp.hold(app, True, 0)
    pcapp.pin(app, "PIn", 4, 12, 1000, 0)
    app.key("1", 500)
    app.tick(1400)
    assert app.state == "pcpin"  # a key starts the timeout again
    app.tick(1500)
    assert app.pc_r == -1 and app.state == "idle" and not any(app.pin)
    pcapp.pin(app, "PIn", 4, 12, 1000, 2000)
    app.key("1", 2001)
    assert shows(app.card_event(False, 2002)) == ["no CArd"] and app.pc_r == -2
    assert not any(app.pin)


def test_pc_result_texts():
    app = pc_started()
    assert shows(pcapp.result(app, 0x9000, 0)) == ["PIn OK"]
    assert shows(pcapp.result(app, 0x63C2, 0)) == ["2 triES"]
    assert shows(pcapp.result(app, 0x6983, 0)) == ["bLOCKEd"]
    assert shows(pcapp.result(app, 0x6984, 0)) == ["PIn OFF"]
    assert shows(pcapp.result(app, -1, 0)) == ["rEAdY"]
