# The RP2040 PIO program of the card's I/O line (ISO/IEC 7816-3 section 7), the one
# source both the Pico loads and the host tests run in an emulator (tests/host/test_pio.py
# evaluates this same function with an rp2 stand-in that assembles it).
#
# One state machine, 16 cycles per etu, I/O open drain: the pin's output value stays 0 and
# only its direction changes (out = drive low, in = released, pulled up). in/set/out base
# and jmp pin are all the I/O pin. The program fills the whole instruction memory, so it
# sits at address 0 and the addresses below are absolute. Times below are cycles after
# c0, the cycle `wait` first sees the start bit low (0 to 1 cycle after its edge); a pin
# change shows on the pad the cycle after the instruction that makes it.
#
# Receive (default; the CPU jumps to RX):
#   c0 + 8   the start bit is checked again at half a bit: a glitch shorter than that is
#            no character (back to waiting);
#   c0 + 22  first data bit sampled, then every 16 cycles (3/8 into each bit): one `jmp
#            pin` per bit decides both the level stored (`in y, 1` stores a 1: Y's bit 0 is
#            always 1, `in null, 1` a 0) and the parity, tracked in the program counter
#            (E = an even number of high levels so far, O = odd), so the verdict and the
#            levels the CPU gets never disagree;
#   c0 + 166 the parity is known. A good character is pushed at once (re-armed by 10.5
#            etu: T=1 characters may follow 11 etu apart). A bad one goes where Y's bits
#            5-9 say: SIG (the error signal, shown from c0 + 168 = 10.5 etu for 1.5 etu,
#            then pushed: the card repeats it 13 etu or more after its start) or GOOD
#            (no signal: while the ATR is read, as its convention is not known yet, and in
#            T=1), which costs no time either.
#   Y = entry | bad target << 5 (rx_mode()): entry E_LOOP (direct convention: a good
#   character has an even number of high levels) or O_LOOP (inverse: odd); both entries
#   are odd addresses, which is the 1 that `in y, 1` stores. Every character is pushed
#   (9 levels in bits 31..23), good or bad: the CPU decodes it and drops a bad one, which
#   the card repeats when it was signalled.
#
# Transmit (the CPU executes "jmp TX"): each word put in the TX FIFO is
#   bits 0-7 = guard: (guard + 1) etu of idle line before the start bit (the CPU gives 0
#   for a write's first character, the extra guard time N for the next ones, N + 1 for a
#   repetition: 2 etu after the error signal, 7.3), bits 8-18 = 1 where the line is
#   driven low: the start bit, the 9 levels, then 0 (released at 10 etu), bits 19-23 =
#   where to go next (TX for more characters, RX after the last one).
# The line is sampled at 11 etu: the pushed word's bit 31 is 1 when the card accepted the
# character, 0 when it signalled an error (the CPU puts it again). After the last
# character the program listens at once (once any error signal has ended): N applies only
# to what the reader sends, and the card may answer 16 etu after our last start bit.
# Successive start bits are at least 12.4 + N etu apart (ISO: 12 + N).
# mypy: disable-error-code="name-defined, call-overload"
# (the asm_pio instruction names exist only while the decorator runs the function)
from micropython import const
import rp2

CYCLES_PER_ETU = const(16)
RX = const(0)
O_LOOP = const(5)  # receive entry, inverse convention
E_LOOP = const(9)  # receive entry, direct convention
GOOD = const(18)
SIG = const(19)
TX = const(22)
# Instructions the CPU executes on the state machine (sm.exec), pre-encoded; a "jmp"
# to an address is the address itself.
SET_PINS_0 = const(0xE000)  # set pins, 0
SET_PINDIRS_0 = const(0xE080)  # set pindirs, 0
PULL_NOBLOCK = const(0x8080)  # pull noblock
MOV_Y_OSR = const(0xA047)  # mov y, osr
MOV_ISR_NULL = const(0xA0C3)  # mov isr, null


@rp2.asm_pio(set_init=rp2.PIO.IN_LOW, out_init=rp2.PIO.IN_LOW,
             in_shiftdir=rp2.PIO.SHIFT_RIGHT, out_shiftdir=rp2.PIO.SHIFT_RIGHT)
def card_io():
    # ---- receive ----
    wrap_target()
    label("rx")                       # 0
    wait(0, pin, 0)                   # start bit edge: c0
    mov(osr, y)[6]                    # mode word
    jmp(pin, "rx")                    # c0 + 8: high again, a glitch
    set(x, 8)                         # 9 levels
    out(pc, 5)[11]                    # to O_LOOP / E_LOOP; first sample at c0 + 22
    label("o_loop")                   # 5: odd number of high levels so far
    jmp(pin, "o_one")
    in_(null, 1)
    jmp(x_dec, "o_loop")[13]
    out(pc, 5)                        # odd: bad -> SIG or GOOD
    label("e_loop")                   # 9: even number of high levels so far
    jmp(pin, "e_one")
    in_(null, 1)
    jmp(x_dec, "e_loop")[13]
    jmp("good")
    label("e_one")                    # 13
    in_(y, 1)
    jmp(x_dec, "o_loop")[13]
    out(pc, 5)                        # odd: bad -> SIG or GOOD
    label("o_one")                    # 16
    in_(y, 1)
    jmp(x_dec, "e_loop")[13]
    label("good")                     # 18
    push(block)
    wrap()
    label("sig")                      # 19: error signal, 1.5 etu
    set(pindirs, 1)[23]
    set(pindirs, 0)
    jmp("good")
    # ---- transmit ----
    label("tx")                       # 22
    pull(block)
    out(x, 8)                         # guard
    label("guard")
    jmp(x_dec, "guard")[15]
    set(x, 10)                        # 11 levels: start, 9, release
    label("tx_bit")                   # 26
    out(pindirs, 1)[14]
    jmp(x_dec, "tx_bit")
    in_(pins, 1)                      # 11 etu: high = accepted, low = error signal
    push(block)
    wait(1, pin, 0)                   # end of an error signal
    out(pc, 5)                        # 31: TX or RX


def rx_mode(inverse, signal):
    # Receive mode word (Y) for a convention, with or without the error signal.
    return (O_LOOP if inverse else E_LOOP) | ((SIG if signal else GOOD) << 5)


def tx_word(lv, guard, nxt):
    # TX FIFO word for a character's 9 line levels (see the layout above).
    return (guard & 0xFF) | (1 << 8) | (((~lv) & 0x1FF) << 9) | (nxt << 19)
