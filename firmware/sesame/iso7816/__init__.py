"""The card link (ISO/IEC 7816-3): ATR, PPS, session, T=0, T=1, EDC, conventions; imports sesame only."""
