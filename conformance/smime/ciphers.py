"""Content encryption and decryption for every `ContentCipher`.

CBC ciphers use PKCS#7 padding (RFC 5652 6.3); AES-GCM follows RFC 5084
(12-byte nonce, tag of `aes_ICVlen` bytes, the tag kept apart for the `mac`
field of AuthEnvelopedData). Randomness (keys, IVs, nonces) comes from an
injected `rng` so that a seeded generator gives byte-identical messages.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from asn1crypto import algos
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2 as _CryptographyRC2
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES

from conformance.core.bilingual import Facts
from conformance.core.spool import Region, Spool
from conformance.core.vocabulary import ContentCipher
from conformance.smime import rc2
from conformance.smime.algorithms import (
    GCMParameters,
    UnsupportedAlgorithm,
    block_size,
    content_cipher_algorithm,
    content_cipher_from_algorithm,
    is_aead,
    key_length,
    rc2_effective_bits,
)

__all__ = [
    "ContentDecryption",
    "DecryptionCode",
    "DecryptionError",
    "Encrypted",
    "Rng",
    "block_cipher",
    "decrypt_content",
    "encrypt_content",
    "generate_key",
    "key_length",
    "prepare_decryption",
]

Rng = Callable[[int], bytes]


# What a `DecryptionError` says, for a caller wording it in another language than its English.
DecryptionCode = Literal[
    "not-whole-blocks",
    "bad-padding",
    "key-length",  # cipher, length, expected
    "rc2-key-length",  # length: RC2 takes 1 to 128 bytes
    "tag-mismatch",
    "tag-length",  # length, expected: the GCM tag against the parameters' aes-ICVlen
    "nonce-length",  # length, minimum, maximum
    "iv-length",  # cipher, length, expected
]


class DecryptionError(ValueError):
    """Content decryption failed: wrong key, bad padding, bad GCM tag, truncated data.
    `code` and `values` say what the English message says."""

    def __init__(self, message: str, code: DecryptionCode, values: Facts = ()) -> None:
        self.code = code
        self.values = values
        super().__init__(message)


_NOT_WHOLE_BLOCKS = "ciphertext is not a whole number of cipher blocks"
_TAG_MISMATCH = "GCM authentication tag does not match"


@dataclass(frozen=True)
class Encrypted:
    """Result of content encryption: the contentEncryptionAlgorithm to write, and the data.

    `tag` is the GCM authentication tag (the `mac` of AuthEnvelopedData), None for CBC.
    """

    algorithm: algos.EncryptionAlgorithm
    ciphertext: bytes
    tag: bytes | None = None


def _set_odd_parity(key: bytes) -> bytes:
    """DES keys carry odd parity in each byte's low bit (FIPS 46-3); readers may check it."""
    return bytes((b & 0xFE) | ((bin(b >> 1).count("1") + 1) & 1) for b in key)


def generate_key(cipher: ContentCipher, rng: Rng = os.urandom) -> bytes:
    """A fresh content-encryption key of the right length (odd parity for 3DES)."""
    key = rng(key_length(cipher))
    return _set_odd_parity(key) if cipher == "des-ede3-cbc" else key


def _pad(data: bytes, size: int) -> bytes:
    n = size - len(data) % size
    return data + bytes([n]) * n


def _unpad(data: bytes, size: int) -> bytes:
    if not data or len(data) % size:
        raise DecryptionError(_NOT_WHOLE_BLOCKS, "not-whole-blocks")
    n = data[-1]
    if not 1 <= n <= size or data[-n:] != bytes([n]) * n:
        raise DecryptionError("bad padding (wrong key or corrupted ciphertext)", "bad-padding")
    return data[:-n]


def block_cipher(cipher: ContentCipher, key: bytes) -> CipherAlgorithm:
    if cipher == "des-ede3-cbc":
        return TripleDES(key)
    return AES(key)


def _rc2_bits(cipher: ContentCipher) -> int:
    return 40 if cipher == "rc2-40-cbc" else 128


def _cbc(
    encrypt: bool, cipher: ContentCipher, key: bytes, iv: bytes, data: bytes, bits: int
) -> bytes:
    """Raw CBC over whole blocks, for every CBC cipher (RC2 by hand unless 128/128)."""
    if cipher.startswith("rc2"):
        if len(key) == 16 and bits == 128:
            algorithm: CipherAlgorithm = _CryptographyRC2(key)
        else:
            run = rc2.cbc_encrypt if encrypt else rc2.cbc_decrypt
            return run(key, bits, iv, data)
    else:
        algorithm = block_cipher(cipher, key)
    context = Cipher(algorithm, modes.CBC(iv))
    worker = context.encryptor() if encrypt else context.decryptor()
    return worker.update(data) + worker.finalize()


def _check_key(cipher: ContentCipher, key: bytes) -> None:
    if cipher.startswith("rc2"):
        if not 1 <= len(key) <= 128:
            values = (("length", len(key)),)
            raise DecryptionError(f"RC2 key of {len(key)} bytes", "rc2-key-length", values)
    elif len(key) != key_length(cipher):
        expected = key_length(cipher)
        raise DecryptionError(
            f"{cipher} needs a {expected}-byte key, got {len(key)}",
            "key-length",
            (("cipher", cipher), ("length", len(key)), ("expected", expected)),
        )


def encrypt_content(
    cipher: ContentCipher,
    key: bytes,
    plaintext: bytes,
    rng: Rng = os.urandom,
    *,
    tag_length: int = 16,
    aad: bytes = b"",
) -> Encrypted:
    """Encrypt `plaintext` under `key`, drawing the IV or nonce from `rng`.

    `aad` (GCM only) is the DER of the authAttrs of AuthEnvelopedData, if any.
    """
    _check_key(cipher, key)
    iv = rng(block_size(cipher))
    if is_aead(cipher):
        if tag_length not in (12, 13, 14, 15, 16):
            raise ValueError(f"GCM tag length must be 12 to 16 bytes (RFC 5084), got {tag_length}")
        encryptor = Cipher(AES(key), modes.GCM(iv)).encryptor()
        if aad:
            encryptor.authenticate_additional_data(aad)
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        return Encrypted(
            content_cipher_algorithm(cipher, iv, tag_length),
            ciphertext,
            encryptor.tag[:tag_length],
        )
    size = len(iv)
    ciphertext = _cbc(True, cipher, key, iv, _pad(plaintext, size), _rc2_bits(cipher))
    return Encrypted(content_cipher_algorithm(cipher, iv), ciphertext)


def _plain_iv(contents: bytes | None) -> bytes | None:
    """The IV of an AlgorithmIdentifier whose contents are exactly a short OID and a
    short primitive OCTET STRING, the common case, read without asn1crypto parsing
    the parameters (a third of the decryption time); None for anything else, which
    asn1crypto then reads and judges as before."""
    if not contents or len(contents) < 4 or contents[0] != 0x06 or contents[1] & 0x80:
        return None
    pos = 2 + contents[1]
    if pos + 2 > len(contents) or contents[pos] != 0x04 or contents[pos + 1] & 0x80:
        return None
    start = pos + 2
    if start + contents[pos + 1] != len(contents):
        return None
    return contents[start:]


# The GCM nonce lengths the cryptography library accepts (bytes).
GCM_NONCE_BYTES = (8, 128)


@dataclass(frozen=True)
class ContentDecryption:
    """Content decryption with everything but the key read and checked.

    What `prepare_decryption` refuses (parameters, IV, tag and ciphertext
    lengths) is public; what `run` refuses (a key of the wrong length, bad
    CBC padding, a GCM tag that does not match) depends on the content key a
    private-key operation gave, so the reader reports it without detail.
    """

    cipher: ContentCipher
    iv: bytes  # the CBC IV or the GCM nonce
    bits: int  # RC2 effective key bits, 0 for the other ciphers
    ciphertext: bytes | Region  # a Region: a large content, decrypted by `run_spooled`
    tag: bytes | None = None
    aad: bytes = b""

    @property
    def key_length(self) -> int:
        return key_length(self.cipher)

    def key_fits(self, key: bytes) -> bool:
        try:
            _check_key(self.cipher, key)
        except DecryptionError:
            return False
        return True

    def run(self, key: bytes) -> bytes:
        """The plaintext; DecryptionError for a wrong key length, bad padding or tag."""
        assert isinstance(self.ciphertext, bytes), "a Region is decrypted by run_spooled"
        _check_key(self.cipher, key)
        if is_aead(self.cipher):
            decryptor = Cipher(
                AES(key), modes.GCM(self.iv, self.tag, min_tag_length=12)
            ).decryptor()
            if self.aad:
                decryptor.authenticate_additional_data(self.aad)
            try:
                return decryptor.update(self.ciphertext) + decryptor.finalize()
            except InvalidTag:
                raise DecryptionError(_TAG_MISMATCH, "tag-mismatch") from None
        plain = _cbc(False, self.cipher, key, self.iv, self.ciphertext, self.bits)
        return _unpad(plain, block_size(self.cipher))

    def run_spooled(self, key: bytes) -> Region:
        """`run` for a large ciphertext, chunk by chunk into a spool of its own: the
        plaintext's region, given only once the GCM tag or the CBC padding was checked
        (the spool is removed on failure: nothing of it is released)."""
        source = self.ciphertext
        assert isinstance(source, Region)
        _check_key(self.cipher, key)
        out = Spool(os.path.dirname(source.spool.path))
        try:
            if is_aead(self.cipher):
                decryptor = Cipher(
                    AES(key), modes.GCM(self.iv, self.tag, min_tag_length=12)
                ).decryptor()
                if self.aad:
                    decryptor.authenticate_additional_data(self.aad)
                source.feed(lambda view: out.write(decryptor.update(view)))
                try:
                    out.write(decryptor.finalize())
                except InvalidTag:
                    raise DecryptionError(_TAG_MISMATCH, "tag-mismatch") from None
                return out.seal().whole()
            size = block_size(self.cipher)
            last = _cbc_stream(self, key, source, out, size)
            if not last or len(last) % size:
                raise DecryptionError(_NOT_WHOLE_BLOCKS, "not-whole-blocks")
            out.write(_unpad(last, size))
            return out.seal().whole()
        except BaseException:
            out.close()
            raise


def _cbc_stream(
    decryption: ContentDecryption, key: bytes, source: Region, out: Spool, size: int
) -> bytes:
    """CBC decryption of a region into `out`, all but the last block (returned, for the
    padding to be checked and removed)."""
    held = b""
    iv = decryption.iv
    by_hand = decryption.cipher.startswith("rc2") and not (
        len(key) == 16 and decryption.bits == 128
    )
    worker = None
    if not by_hand:
        algorithm: CipherAlgorithm = (
            _CryptographyRC2(key)
            if decryption.cipher.startswith("rc2")
            else block_cipher(decryption.cipher, key)
        )
        worker = Cipher(algorithm, modes.CBC(iv)).decryptor()
    for view in source.chunks():
        data = held + bytes(view)
        whole = len(data) - len(data) % size
        keep = max(whole - size, 0)  # the last whole block (and any part) waits: padding
        ready, held = data[:keep], data[keep:]
        if not ready:
            continue
        if worker is not None:
            out.write(worker.update(ready))
        else:
            out.write(rc2.cbc_decrypt(key, decryption.bits, iv, ready))
            iv = ready[-size:]
    if len(held) % size:
        return held
    if worker is not None:
        return worker.update(held) + worker.finalize()
    return rc2.cbc_decrypt(key, decryption.bits, iv, held) if held else b""


def prepare_decryption(
    algorithm: algos.EncryptionAlgorithm,
    ciphertext: bytes | Region,
    tag: bytes | None = None,
    *,
    aad: bytes = b"",
    cipher: ContentCipher | None = None,
) -> ContentDecryption:
    """Read a contentEncryptionAlgorithm's parameters and check the public lengths.

    Raises UnsupportedAlgorithm for an algorithm without an option name, and
    DecryptionError for parameters that cannot decrypt (IV, nonce or tag length,
    ciphertext not whole blocks), before any key is used.
    `cipher`, when the caller already has it, is `content_cipher_from_algorithm(algorithm)`
    (not derived again: it reads the parameters through asn1crypto).
    """
    if cipher is None:
        cipher = content_cipher_from_algorithm(algorithm)
    if is_aead(cipher):
        params = algorithm["parameters"]
        if not isinstance(params, GCMParameters):
            raise UnsupportedAlgorithm(
                "content-cipher",
                algorithm["algorithm"].dotted,
                "no GCM params",
                code="no-gcm-parameters",
            )
        nonce = bytes(params["aes_nonce"].native)
        icv_len = int(params["aes_icvlen"].native)
        if tag is None or len(tag) != icv_len or not 12 <= icv_len <= 16:
            length = 0 if tag is None else len(tag)
            raise DecryptionError(
                f"GCM tag of {length} bytes, parameters say {icv_len}",
                "tag-length",
                (("length", length), ("expected", icv_len)),
            )
        if not GCM_NONCE_BYTES[0] <= len(nonce) <= GCM_NONCE_BYTES[1]:
            # RFC 5084 3.2 recommends 12 octets; the library takes 8 to 128 and raises
            # ValueError outside, which must read as a refused parameter, not a crash.
            low, high = GCM_NONCE_BYTES
            raise DecryptionError(
                f"GCM nonce of {len(nonce)} bytes (readable: {low} to {high})",
                "nonce-length",
                (("length", len(nonce)), ("minimum", low), ("maximum", high)),
            )
        return ContentDecryption(cipher, nonce, 0, ciphertext, tag, aad)
    if cipher.startswith("rc2"):
        params = algorithm["parameters"]
        iv = bytes(params["iv"].native)
        bits = rc2_effective_bits(params["rc2_parameter_version"].native)
    else:
        plain = _plain_iv(algorithm.contents)
        if plain is not None:
            iv = plain
        else:
            params = algorithm["parameters"]
            iv = bytes(params.native) if params.native is not None else b""
        bits = 0
    size = block_size(cipher)
    if len(iv) != size:
        raise DecryptionError(
            f"{cipher} IV of {len(iv)} bytes, expected {size}",
            "iv-length",
            (("cipher", cipher), ("length", len(iv)), ("expected", size)),
        )
    if not ciphertext or len(ciphertext) % size:
        raise DecryptionError(_NOT_WHOLE_BLOCKS, "not-whole-blocks")
    return ContentDecryption(cipher, iv, bits, ciphertext)


def decrypt_content(
    algorithm: algos.EncryptionAlgorithm,
    key: bytes,
    ciphertext: bytes,
    tag: bytes | None = None,
    *,
    aad: bytes = b"",
    cipher: ContentCipher | None = None,
) -> bytes:
    """Decrypt content described by a contentEncryptionAlgorithm, under a known key.

    Raises UnsupportedAlgorithm for an algorithm without an option name, and
    DecryptionError for a wrong key length, bad parameters, bad padding or a bad
    GCM tag. RC2 uses the key as given (any length) at the parameters' effective bits.
    """
    if cipher is None:
        cipher = content_cipher_from_algorithm(algorithm)
    _check_key(cipher, key)
    return prepare_decryption(algorithm, ciphertext, tag, aad=aad, cipher=cipher).run(key)
