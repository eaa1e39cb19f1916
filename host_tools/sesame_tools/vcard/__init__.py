"""The virtual card: a byte-level ISO 7816 peer with an EMV CAP application."""
