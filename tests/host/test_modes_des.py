"""The firmware's single DES (Mode-2 TDS) against an independent DES: the
`cryptography` package's TripleDES with a K||K||K key (= single DES)."""

from __future__ import annotations

import random

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from hypothesis import given, settings, strategies as st

from sesame.emv import cap, des


def ref_cbc(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    e = Cipher(TripleDES(key * 3), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=8, max_size=8), st.binary(min_size=8, max_size=8))
def test_block_matches_cryptography(key, block):
    assert des.encrypt(key, block) == ref_cbc(key, block)


def test_cbc_matches_cryptography():
    rnd = random.Random(4)
    for n in range(1, 6):
        key, iv = rnd.randbytes(8), rnd.randbytes(8)
        data = rnd.randbytes(8 * n)
        assert des.DES(key).cbc(data, iv) == ref_cbc(key, data, iv)


def test_weak_and_parity_keys():
    # parity bits are ignored; weak keys make encryption an involution
    key = bytes.fromhex("0123456789ABCDEF")
    flipped = bytes(b ^ 1 for b in key)
    assert des.encrypt(key, bytes(8)) == des.encrypt(flipped, bytes(8))
    weak = bytes.fromhex("0101010101010101")
    assert des.encrypt(weak, des.encrypt(weak, b"sesame!!")) == b"sesame!!"


def test_tds_against_reference():
    ac = bytes.fromhex("7F32A79FDA945643")
    fields = ("1234567890", "42", "7")
    data = bytes.fromhex("1234567890F42F7F" + "80" + "00" * 7)
    assert des.tds_data(fields) == data
    assert des.tds(ac, fields) == ref_cbc(ac, data)[-8:]
