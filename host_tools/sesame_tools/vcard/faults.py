"""Link-layer fault injection for the virtual card, from the card profile's "link" object:

  "parity_char": n      the n-th character the card sends after the ATR goes out with a
                        parity error once (T=0: the reader signals it, the card repeats;
                        T=1: the block is bad, the reader asks for it again)
  "corrupt_edc": n      the n-th T=1 block the card sends has a wrong EDC (once)
  "lose_block": n       the n-th T=1 block the card sends is lost (once)
  "null_bytes": k       T=0: k NULL procedure bytes (60) before every answer, slowly
  "null_delay_ms": t    pause after each NULL byte (default 5)
  "null_on": n          only the n-th T=0 command gets the NULL bytes (0: every one)
  "wtx": m              T=1: S(WTX request m) before every answer
  "wtx_on": n           only the answer to the n-th T=1 command asks for it (0: every one)
  "wtx_delay_ms": t     pause after the reader grants the WTX, before the answer
  "pps": "refuse"       the card stays silent on a PPS request; "wrong": answers garbage
  "remove_after": n     the card is pulled out after receiving n characters
  "bad_procedure": n    T=0: the n-th command gets the nonsense procedure byte 42
  "always_corrupt": true every T=1 block's EDC is wrong (unrecoverable)
  "reject_char": n      the n-th character the card receives after the ATR is rejected
                        once (T=0: error signal, the reader repeats it; T=1: garbled)
  "slow_bytes_ms": t    every character the card sends after the ATR comes t ms after the
                        one before (each within its waiting time when t is just under it);
                        the card stops sending when the reader deactivates or resets it
"""

from __future__ import annotations


class Faults:
    def __init__(self, link: dict):
        self.parity_char = int(link.get("parity_char", 0))
        self.corrupt_edc = int(link.get("corrupt_edc", 0))
        self.lose_block = int(link.get("lose_block", 0))
        self.null_bytes = int(link.get("null_bytes", 0))
        self.null_delay = float(link.get("null_delay_ms", 5)) / 1000
        self.null_on = int(link.get("null_on", 0))
        self.wtx = int(link.get("wtx", 0))
        self.wtx_on = int(link.get("wtx_on", 0))
        self.wtx_delay = float(link.get("wtx_delay_ms", 0)) / 1000
        self.pps = link.get("pps", "")
        self.remove_after = int(link.get("remove_after", 0))
        self.bad_procedure = int(link.get("bad_procedure", 0))
        self.always_corrupt = bool(link.get("always_corrupt", False))
        self.reject_char = int(link.get("reject_char", 0))
        self.slow_bytes = float(link.get("slow_bytes_ms", 0)) / 1000
        self.rx_chars = 0  # characters received (reject_char counts them)
        self.sent = 0  # characters sent after the ATR
        self.received = 0
        self.commands = 0
        self.fired: dict = {}  # what happened on this link: name -> count (tests read it)

    def note(self, what: str) -> None:
        self.fired[what] = self.fired.get(what, 0) + 1

    def t1_block(self, card, blk: bytes) -> bytes:
        n = card.blocks
        if self.lose_block and n == self.lose_block:
            self.note("lose_block")
            return b""
        if self.always_corrupt or (self.corrupt_edc and n == self.corrupt_edc):
            self.note("corrupt_edc")
            return blk[:-1] + bytes((blk[-1] ^ 0x5A,))
        return blk

    def t1_wtx(self, card) -> bool:
        """Called before the answer to the card's `card.apdus`-th command."""
        if not self.wtx or (self.wtx_on and card.apdus != self.wtx_on):
            return False
        self.note("wtx")
        return True

    def nulls(self) -> int:
        """NULL bytes before the answer to the current (self.commands-th) T=0 command."""
        if not self.null_bytes or (self.null_on and self.commands != self.null_on):
            return 0
        return self.null_bytes

    def parity(self) -> bool:
        """Called per character sent after the ATR: True = send it with a parity error."""
        self.sent += 1
        if self.sent == self.parity_char:
            self.note("parity_char")
            return True
        return False
