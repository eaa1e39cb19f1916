"""Card-side cryptography of the virtual card and of the issuer check.

- ICC master key, EMV Book 2 A1.4.1 option A (from the issuer master key, PAN, PSN).
- Session key, EMV2000 tree (Book 2 A1.3, EMV 4.0; branch factor 4, height 8, IV 0).
- Application cryptogram: ISO/IEC 9797-1 MAC algorithm 3, padding method 2 (Book 2 A1.2).
"""

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes


def _ecb(key: bytes, data: bytes, decrypt: bool = False) -> bytes:
    if len(key) == 8:
        key = key * 3
    elif len(key) == 16:
        key = key + key[:8]
    c = Cipher(TripleDES(key), modes.ECB())
    op = c.decryptor() if decrypt else c.encryptor()
    return op.update(data) + op.finalize()


def tdes(key: bytes, data: bytes) -> bytes:
    """Triple DES (or single DES for an 8-byte key) in ECB mode."""
    return _ecb(key, data)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


def odd_parity(key: bytes) -> bytes:
    """Set each byte's least significant bit so it has odd parity (DES key convention)."""
    out = bytearray()
    for b in key:
        b &= 0xFE
        out.append(b | (bin(b).count("1") + 1) % 2)
    return bytes(out)


def icc_mk_option_a(issuer_mk: bytes, pan: str, psn: str = "00") -> bytes:
    """EMV Book 2 A1.4.1: Y = rightmost 16 digits of PAN || PSN; MK = 3DES(Y) || 3DES(Y xor FF..)."""
    y = bytes.fromhex((pan + psn)[-16:].rjust(16, "0"))
    return odd_parity(tdes(issuer_mk, y) + tdes(issuer_mk, _xor(y, b"\xff" * 8)))


def emv2000_tree_sk(icc_mk: bytes, atc: int, height: int = 8, branch: int = 4,
                    iv: bytes = bytes(16)) -> bytes:
    """EMV2000 tree session key for transaction counter `atc` (Book 2 A1.3.1, EMV 4.0)."""

    def f(x: bytes, y: bytes, j: int) -> bytes:
        jb = (j % branch).to_bytes(8, "big")
        left = tdes(x, _xor(y[:8], jb))
        right = tdes(x, _xor(_xor(y[8:], jb), bytes(7) + b"\xf0"))
        return left + right

    # Walk down: level 0 is the master key with the IV as its "grandparent".
    path = [atc // branch ** (height - 1 - lvl) for lvl in range(height)]  # j at levels 1..H
    parent, grand = icc_mk, iv
    for j in path[:-1]:
        parent, grand = f(parent, grand, j), parent
    return odd_parity(_xor(f(parent, grand, path[-1]), grand))


def mac_alg3(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with padding method 2, 16-byte key (K1 || K2)."""
    data = data + b"\x80" + bytes((-len(data) - 1) % 8)
    k1, k2 = key[:8], key[8:16]
    h = bytes(8)
    for i in range(0, len(data), 8):
        h = tdes(k1, _xor(h, data[i:i + 8]))
    return tdes(k1, _ecb(k2, h, decrypt=True))


def des_cbc_mac_key(key: bytes, data: bytes) -> bytes:
    """Single-DES CBC with IV 0 (used by Mode-2 TDS); returns the last block."""
    h = bytes(8)
    for i in range(0, len(data), 8):
        h = tdes(key[:8], _xor(h, data[i:i + 8]))
    return h
