"""RC2 block cipher (RFC 2268) with any key length and effective key bits.

Hand-written because no library here does the job: cryptography's decrepit
RC2 accepts only 16-byte keys at 128 effective bits, and OpenSSL 3 refuses RC2
without its legacy provider, yet the 40-bit RC2-CBC of old S/MIME products
(RFC 8551 2.7, "rc2-40-cbc") must be written and read. `ciphers` uses
cryptography for the 128-bit case and this module for everything else; the
tests check it against the vectors of RFC 2268 section 5 and against
cryptography where both apply. Slow (pure Python) but messages are small.
"""

from __future__ import annotations

__all__ = ["BLOCK_SIZE", "RC2", "cbc_decrypt", "cbc_encrypt"]

BLOCK_SIZE = 8

# RFC 2268 section 2: PITABLE, a permutation of 0..255 derived from the digits of pi.
_PITABLE = bytes.fromhex(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2"
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82"
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626"
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7"
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec"
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731"
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9"
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad"
)
_MASK = 0xFFFF
_SHIFTS = (1, 2, 3, 5)


def _expand_key(key: bytes, effective_bits: int) -> list[int]:
    """RFC 2268 section 2: the 64 16-bit subkeys K[0..63]."""
    t = len(key)
    if not 1 <= t <= 128:
        raise ValueError(f"RC2 key must be 1 to 128 bytes, got {t}")
    if not 1 <= effective_bits <= 1024:
        raise ValueError(f"RC2 effective key bits must be 1 to 1024, got {effective_bits}")
    t8 = (effective_bits + 7) // 8
    tm = 255 % (1 << (8 + effective_bits - 8 * t8))
    buf = bytearray(128)
    buf[:t] = key
    for i in range(t, 128):
        buf[i] = _PITABLE[(buf[i - 1] + buf[i - t]) & 0xFF]
    buf[128 - t8] = _PITABLE[buf[128 - t8] & tm]
    for i in range(127 - t8, -1, -1):
        buf[i] = _PITABLE[buf[i + 1] ^ buf[i + t8]]
    return [buf[2 * i] | (buf[2 * i + 1] << 8) for i in range(64)]


class RC2:
    """One RC2 key schedule; encrypts and decrypts single 8-byte blocks."""

    def __init__(self, key: bytes, effective_bits: int) -> None:
        self._k = _expand_key(key, effective_bits)

    def encrypt_block(self, block: bytes) -> bytes:
        k = self._k
        r = [block[0] | block[1] << 8, block[2] | block[3] << 8,
             block[4] | block[5] << 8, block[6] | block[7] << 8]  # fmt: skip
        j = 0
        for rounds in (5, 6, 5):
            for _ in range(rounds):  # mixing rounds
                for i in range(4):
                    x = r[i] + k[j] + (r[i - 1] & r[i - 2]) + (~r[i - 1] & r[i - 3])
                    j += 1
                    x &= _MASK
                    s = _SHIFTS[i]
                    r[i] = ((x << s) | (x >> (16 - s))) & _MASK
            if j < 64:  # mashing round between the mixing groups
                for i in range(4):
                    r[i] = (r[i] + k[r[i - 1] & 63]) & _MASK
        return b"".join(w.to_bytes(2, "little") for w in r)

    def decrypt_block(self, block: bytes) -> bytes:
        k = self._k
        r = [block[0] | block[1] << 8, block[2] | block[3] << 8,
             block[4] | block[5] << 8, block[6] | block[7] << 8]  # fmt: skip
        j = 63
        for rounds in (5, 6, 5):
            for _ in range(rounds):  # reverse mixing rounds
                for i in (3, 2, 1, 0):
                    s = _SHIFTS[i]
                    x = ((r[i] >> s) | (r[i] << (16 - s))) & _MASK
                    x = x - k[j] - (r[i - 1] & r[i - 2]) - (~r[i - 1] & r[i - 3])
                    j -= 1
                    r[i] = x & _MASK
            if j >= 0:  # reverse mashing round
                for i in (3, 2, 1, 0):
                    r[i] = (r[i] - k[r[i - 1] & 63]) & _MASK
        return b"".join(w.to_bytes(2, "little") for w in r)


def cbc_encrypt(key: bytes, effective_bits: int, iv: bytes, data: bytes) -> bytes:
    """RC2-CBC over already padded data (a multiple of 8 bytes)."""
    if len(iv) != BLOCK_SIZE or len(data) % BLOCK_SIZE:
        raise ValueError("RC2-CBC needs an 8-byte IV and whole 8-byte blocks")
    cipher = RC2(key, effective_bits)
    out = bytearray()
    prev = iv
    for pos in range(0, len(data), BLOCK_SIZE):
        block = bytes(a ^ b for a, b in zip(data[pos : pos + BLOCK_SIZE], prev, strict=True))
        prev = cipher.encrypt_block(block)
        out += prev
    return bytes(out)


def cbc_decrypt(key: bytes, effective_bits: int, iv: bytes, data: bytes) -> bytes:
    """RC2-CBC decryption; the padding is left for the caller to check."""
    if len(iv) != BLOCK_SIZE or len(data) % BLOCK_SIZE:
        raise ValueError("RC2-CBC needs an 8-byte IV and whole 8-byte blocks")
    cipher = RC2(key, effective_bits)
    out = bytearray()
    prev = iv
    for pos in range(0, len(data), BLOCK_SIZE):
        block = data[pos : pos + BLOCK_SIZE]
        out += bytes(a ^ b for a, b in zip(cipher.decrypt_block(block), prev, strict=True))
        prev = block
    return bytes(out)
