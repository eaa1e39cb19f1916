# The reader's state machine, driven with no hardware and no clock.
from sesame.app import App
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


def test_wrong_pin_message_then_idle():
    app = started()
    app.key("CODE", 0)
    acts = app.failed(errors.PinWrong(2), 10)
    assert shows(acts) == ["2 triES"]
    assert shows(app.failed(errors.PinWrong(1), 10)) == ["1 triE"]
    assert shows(app.failed(errors.PinBlocked("x"), 10)) == ["bLOCKEd"]
    assert shows(app.failed(errors.CardTimeout("x"), 10)) == ["Err CArd"]
    assert shows(app.failed(ValueError("bug"), 10)) == ["Err CArd"]
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
