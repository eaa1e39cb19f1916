# The reader as a PC/SC reader: a USB-CCID slot on a serial channel, as pcscd's serial
# driver for GemPC readers (libccid's libccidtwin.so, reader type GemPCPinPad) speaks it.
#   frame   the serial frame (SYNC, ACK/NAK, the CCID message, LRC), echo, time requests
#   slot    the CCID messages: power, status, parameters, escapes, XfrBlock (TPDU level)
#   secure  PC_to_RDR_Secure: the VERIFY / CHANGE REFERENCE DATA built around a PIN typed
#           on the reader's keypad (the PIN never leaves the reader)
# Loaded only when bytes arrive on the board's PC/SC channel (board.pcsc): a reader that is
# never plugged into pcscd spends no heap on it.
