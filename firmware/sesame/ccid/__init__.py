"""The reader as a PC/SC reader (a CCID slot on a serial channel, see slot.py); imports sesame.iso7816."""
# Modules:
#   frame   the serial frame of pcscd's GemPC driver (SYNC, ACK/NAK, CCID message, LRC),
#           echo, time requests, slot changes
#   slot    the CCID messages: power, status, parameters, escapes, XfrBlock (TPDU level)
#   secure  PC_to_RDR_Secure: the VERIFY / CHANGE REFERENCE DATA built around a PIN typed
#           on the reader's keypad (the PIN never leaves the reader)
# Loaded only when bytes arrive on the board's PC/SC channel (board.pcsc): a reader that is
# never plugged into pcscd spends no heap on it.
