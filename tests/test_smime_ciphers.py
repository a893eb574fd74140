"""Content-encryption parameters a receiver refuses before any key is used."""

from __future__ import annotations

import pytest
from asn1crypto import algos

from conformance.smime.ciphers import GCM_NONCE_BYTES, DecryptionError, prepare_decryption


def _gcm(nonce: bytes) -> algos.EncryptionAlgorithm:
    return algos.EncryptionAlgorithm(
        {"algorithm": "aes128_gcm", "parameters": {"aes_nonce": nonce, "aes_icvlen": 16}}
    )


@pytest.mark.parametrize("size", [1, GCM_NONCE_BYTES[0] - 1, GCM_NONCE_BYTES[1] + 1])
def test_a_gcm_nonce_the_library_cannot_take_is_a_decryption_error(size: int) -> None:
    """Found by the fuzzer: a 4-byte nonce raised the library's ValueError (internal)."""
    with pytest.raises(DecryptionError, match=f"GCM nonce of {size} bytes"):
        prepare_decryption(_gcm(b"\x01" * size), b"x" * 16, b"t" * 16)


def test_a_twelve_byte_nonce_is_read() -> None:
    decryption = prepare_decryption(_gcm(b"\x01" * 12), b"x" * 16, b"t" * 16)
    assert decryption.iv == b"\x01" * 12
