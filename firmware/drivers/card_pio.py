# The RP2040 PIO program of the card's I/O line (ISO/IEC 7816-3 section 7), the one
# source both the Pico loads and the host tests run in an emulator (tests/host/test_pio.py
# evaluates this same function with an rp2 stand-in that assembles it).
#
# One state machine, 8 cycles per etu, I/O open drain: the pin's output value stays 0 and
# only its direction changes (out = drive low, in = released, pulled up). in/set/out base
# and jmp pin are all the I/O pin. The program fills the whole instruction memory, so it
# sits at address 0 and the addresses below are absolute.
#
# Receive (default; CPU jumps to RX): wait for a start bit, sample 9 bits at 3/8 of each
# bit, tracking the parity in the program counter (E = even number of high levels so far,
# O = odd). Y selects the mode: bits 0-4 = E_LOOP (direct convention, a good character has
# an even number of high levels) or O_LOOP (inverse: odd), bit 5 = drive the error signal
# on a bad character (off while the ATR is read, as its convention is not known yet). Each
# character is pushed (9 levels in bits 31..23), good or bad: the CPU checks the parity
# again and drops a bad one, which the card repeats.
#
# Transmit (CPU executes "jmp TX"): each word put in the TX FIFO is
#   bits 0-8 = 1 where the line is driven low (start bit not included), bits 9-16 = extra
#   guard time N in etu, bits 17-21 = where to go next (TX for more characters, RX after
#   the last one).
# The character goes out, the line is released for the guard time and sampled at 11 etu:
# the pushed word's bit 31 is 1 when the card accepted it, 0 when it signalled an error,
# then the CPU puts the same character again. The next start bit is 13 + N etu after
# this one (ISO asks for at least 12 + N).
# mypy: disable-error-code="name-defined, call-overload"
# (the asm_pio instruction names exist only while the decorator runs the function)
from micropython import const
import rp2

CYCLES_PER_ETU = const(8)
E_LOOP = const(4)  # receive entry, direct convention
O_LOOP = const(11)  # receive entry, inverse convention
SIGNAL = const(32)  # Y bit: drive the error signal on a bad character
RX = const(0)
TX = const(20)
# Instructions the CPU executes on the state machine (sm.exec), pre-encoded; a "jmp"
# to an address is the address itself.
SET_PINS_0 = const(0xE000)  # set pins, 0
PULL_NOBLOCK = const(0x8080)  # pull noblock
MOV_Y_OSR = const(0xA047)  # mov y, osr
MOV_ISR_NULL = const(0xA0C3)  # mov isr, null


@rp2.asm_pio(set_init=rp2.PIO.IN_LOW, out_init=rp2.PIO.IN_LOW,
             in_shiftdir=rp2.PIO.SHIFT_RIGHT, out_shiftdir=rp2.PIO.SHIFT_RIGHT)
def card_io():
    # ---- receive ----
    wrap_target()
    label("rx")                       # 0
    wait(0, pin, 0)                   # start bit edge, t0
    mov(osr, y)                       # mode word
    set(x, 8)                         # 9 bits
    out(pc, 5)[7]                     # to E_LOOP / O_LOOP; first sample at t0 + 11
    label("e_loop")                   # 4: even number of high levels so far
    jmp(pin, "e_one")
    in_(pins, 1)
    jmp(x_dec, "e_loop")[5]
    jmp("good")
    label("e_one")                    # 8
    in_(pins, 1)
    jmp(x_dec, "o_loop")[5]
    jmp("bad")
    label("o_loop")                   # 11: odd number of high levels so far
    jmp(pin, "o_one")
    in_(pins, 1)
    jmp(x_dec, "o_loop")[5]
    label("bad")                      # 14: error signal at 10.5 etu for 1.5 etu if enabled
    out(pindirs, 1)[11]
    set(pindirs, 0)
    jmp("good")
    label("o_one")                    # 17
    in_(pins, 1)
    jmp(x_dec, "e_loop")[5]
    label("good")                     # 19
    push(block)
    wrap()
    # ---- transmit ----
    label("tx")                       # 20
    pull(block)
    set(pindirs, 1)[6]                # start bit
    set(x, 8)
    label("tx_bit")                   # 23
    out(pindirs, 1)[6]
    jmp(x_dec, "tx_bit")
    set(pindirs, 0)[7]                # release at 10 etu
    in_(pins, 1)                      # 11 etu: high = accepted, low = error signal
    push(block)[2]
    wait(1, pin, 0)                   # end of an error signal
    out(x, 8)                         # extra guard time
    label("guard")                    # 30
    jmp(x_dec, "guard")[7]
    out(pc, 5)                        # 31: TX or RX


def tx_word(lv, guard, nxt):
    # TX FIFO word for a character's 9 line levels (see the layout above).
    return ((~lv) & 0x1FF) | ((guard & 0xFF) << 9) | (nxt << 17)
