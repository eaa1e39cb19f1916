# Character frames shared by the card lines: parity, conventions, TS, clock divider.
from sesame.iso7816 import cardchar


def test_parity_is_even_over_nine_bits():
    for b in range(256):
        n = bin(b).count("1") + cardchar.parity(b)
        assert n % 2 == 0


def test_direct_and_inverse_levels_round_trip():
    for b in range(256):
        for inv in (False, True):
            lv = cardchar.levels(b, inv)
            assert 0 <= lv < 512
            assert cardchar.decode(lv, inv) == b
            for bit in range(9):  # any single flipped level is a parity error
                assert cardchar.decode(lv ^ (1 << bit), inv) == -1


def test_inverse_convention_is_msb_first_low_is_one():
    # ISO 7816-3 7.1: TS 3F in inverse convention reads "AZZAAAAAAZ" after the start
    # bit... i.e. levels Z Z A A A A A A, parity Z
    assert cardchar.levels(0x3F, True) == 0b100000011
    assert cardchar.levels(0x3B) == 0b100111011  # "ZZAZZZAAZ"
    assert cardchar.convention(cardchar.levels(0x3B)) is False
    assert cardchar.convention(cardchar.levels(0x3F, True)) is True
    assert cardchar.convention(cardchar.levels(0x3F)) is None
    # an inverse TS read as direct is 03 with a bad parity
    assert cardchar.decode(cardchar.levels(0x3F, True)) == -1
    assert cardchar.levels(0x3F, True) & 0xFF == 0x03


def test_clkdiv_exact_or_refused():
    assert cardchar.clkdiv(372, 1, 30, 8) == (1395, 0)
    assert cardchar.clkdiv(372, 2, 30, 8) == (697, 128)
    try:
        cardchar.clkdiv(372, 1, 30, 7)
    except ValueError:
        pass
    else:
        raise AssertionError("inexact divider accepted")
