"""The reader itself: loop, app state machine, entries, test link, trace; imports emv, iso7816, sesame."""
