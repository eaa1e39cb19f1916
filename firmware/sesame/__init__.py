# Sésame reader firmware: pure layers, no `machine` import anywhere in this package.
# Layers, top down; each imports only the ones below it:
#   reader/   the reader's loop, app state machine and entries, test link, APDU trace
#   ccid/     the reader as a PC/SC reader: a CCID slot on a serial channel (pcscd's
#             GemPC driver), PIN entry for the PC; loaded at the channel's first byte
#   emv/      the EMV-CAP engine: TLV, application selection, GPO, records, VERIFY, codes
#   iso7816/  the card link: ATR, PPS, session, T=0, T=1 (ISO/IEC 7816-3)
#   panel/    front-panel pieces the boards' drivers use: keypad, fonts, layout, power
#   errors, clock (here): the typed errors and the millisecond clock every layer shares
VERSION = "0.1.0"
