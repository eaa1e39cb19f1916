"""Board access over serial: the raw REPL (mpremote's transport), flashing, mpy-cross, the test link's host side."""
