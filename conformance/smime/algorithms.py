"""Names of the engine options <-> OIDs and asn1crypto algorithm structures.

One table per kind (digest, signature, content cipher, key transport), used
both ways: the send side turns an option name into the AlgorithmIdentifier it
writes, the read side turns what it found back into an option name, or raises
`UnsupportedAlgorithm` carrying the OID so that the status can say exactly
what was not understood.

Importing this module also teaches asn1crypto the structures it lacks:
GCMParameters (RFC 5084) for the AES-GCM identifiers, and, through
`asn1crypto.tsp`, the ESS signing-certificate-v2 attribute (RFC 5035).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import ClassVar, Literal

import asn1crypto.tsp  # noqa: F401  (registers signing_certificate(_v2) attributes)
from asn1crypto import algos, cms, core
from cryptography.hazmat.primitives import hashes

from conformance.core import oids
from conformance.core.bilingual import Facts
from conformance.core.vocabulary import ContentCipher, Digest, KeyTransport, SignatureAlgorithm
from conformance.smime import der
from conformance.smime.options import AEAD_CIPHERS, MicalgCase
from conformance.token.base import HASH_ALGORITHMS

__all__ = [
    "AEAD_CIPHERS",
    "GCMParameters",
    "SignatureInfo",
    "UnsupportedAlgorithm",
    "UnsupportedCode",
    "block_size",
    "capability_identifier",
    "content_cipher_algorithm",
    "content_cipher_from_algorithm",
    "content_cipher_from_capability",
    "content_cipher_oid",
    "digest_algorithm",
    "digest_algorithm_der",
    "digest_from_micalg",
    "digest_from_oid",
    "digest_name_from_oid",
    "digest_oid",
    "digest_size",
    "hash_algorithm",
    "is_aead",
    "key_length",
    "key_transport_algorithm",
    "key_transport_algorithm_der",
    "key_transport_from_algorithm",
    "key_transport_from_der",
    "micalg_name",
    "oaep_digest",
    "rc2_effective_bits",
    "rc2_parameter_version",
    "signature_algorithm",
    "signature_algorithm_der",
    "signature_from_algorithm",
    "smime_capabilities_der",
]


# What `UnsupportedAlgorithm.detail` says, for a caller wording it in another language than
# its English ("" : no detail; "other": only the detail says).
UnsupportedCode = Literal[
    "",
    "other",
    "mask-generation",  # mgf: the OID of a mask generation function other than MGF1
    "pss-trailer",
    "pss-salt",  # salt, max
    "bad-parameters",  # structure, said: the parameters do not parse (the parser's words)
    "rc2-no-parameters",
    "rc2-bits",  # bits: an RC2 strength without an option name
    "rc2-version",  # version: an rc2ParameterVersion that names no strength
    "oaep-mgf1-digest",  # digest, mgf_digest: MGF1's hash not OAEP's
    "oaep-label",
    "oaep-digest",  # digest
    "no-gcm-parameters",
]


class UnsupportedAlgorithm(ValueError):
    """An algorithm identifier the engine does not implement (or malformed parameters).

    `kind` is one of "digest", "signature", "content-cipher", "key-transport";
    `oid` is the dotted OID found (or the option name asked for); `code` and `values` say
    what `detail` says, for a report in another language than its English.
    """

    def __init__(
        self,
        kind: str,
        oid: str,
        detail: str = "",
        *,
        code: UnsupportedCode | None = None,
        values: Facts = (),
    ) -> None:
        self.kind = kind
        self.oid = oids.shown(oid)  # only ever shown or recorded: short, whatever was read
        self.detail = detail
        self.code: UnsupportedCode = ("other" if detail else "") if code is None else code
        self.values = values
        message = f"unsupported {kind} algorithm {oid}"
        super().__init__(f"{message}: {detail}" if detail else message)


# --- asn1crypto additions -----------------------------------------------------------


class GCMParameters(core.Sequence):  # type: ignore[misc]
    """RFC 5084 section 3.2: GCMParameters ::= SEQUENCE { aes-nonce, aes-ICVlen DEFAULT 12 }."""

    _fields: ClassVar[list[tuple[str, type, dict[str, int]] | tuple[str, type]]] = [
        ("aes_nonce", core.OctetString),
        ("aes_icvlen", core.Integer, {"default": 12}),
    ]


for _gcm in ("aes128_gcm", "aes192_gcm", "aes256_gcm"):
    algos.EncryptionAlgorithm._oid_specs.setdefault(_gcm, GCMParameters)


# --- digests --------------------------------------------------------------------------

_DIGEST_OIDS: dict[Digest, str] = {
    "sha1": oids.SHA1,
    "sha256": oids.SHA256,
    "sha384": oids.SHA384,
    "sha512": oids.SHA512,
}
_DIGEST_BY_OID: dict[str, Digest] = {oid: name for name, oid in _DIGEST_OIDS.items()}
_DIGEST_SIZES: dict[Digest, int] = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}
# RFC 5751 / 8551 section 3.5.3.2 names; RFC 3851 wrote "sha1", still accepted on reading.
_MICALG: dict[Digest, str] = {
    "sha1": "sha-1",
    "sha256": "sha-256",
    "sha384": "sha-384",
    "sha512": "sha-512",
}
_MICALG_READ: dict[str, Digest] = {**{v: k for k, v in _MICALG.items()}, "sha1": "sha1"}


def digest_oid(name: Digest) -> str:
    return _DIGEST_OIDS[name]


def digest_name_from_oid(oid: str) -> Digest | None:
    """The option name of a digest OID, or None when the engine does not know it."""
    return _DIGEST_BY_OID.get(oid)


def digest_from_oid(oid: str) -> Digest:
    name = _DIGEST_BY_OID.get(oid)
    if name is None:
        raise UnsupportedAlgorithm("digest", oid)
    return name


def digest_size(name: Digest) -> int:
    return _DIGEST_SIZES[name]


def digest_algorithm(name: Digest) -> algos.DigestAlgorithm:
    """AlgorithmIdentifier for a digest (asn1crypto writes NULL parameters, RFC 5754 allows it)."""
    return algos.DigestAlgorithm({"algorithm": _DIGEST_OIDS[name]})


@cache
def digest_algorithm_der(name: Digest) -> bytes:
    """DER of `digest_algorithm(name)`, cached (the send side writes it in every message)."""
    return bytes(digest_algorithm(name).dump())


def hash_algorithm(name: Digest) -> hashes.HashAlgorithm:
    """The cryptography hash object for a digest name (the token's table; here an
    unknown name is an unsupported algorithm of the message, not a token error)."""
    try:
        return HASH_ALGORITHMS[name]
    except KeyError:
        raise UnsupportedAlgorithm("digest", str(name)) from None


def micalg_name(digest: Digest, case: MicalgCase = "lower") -> str:
    """The multipart/signed `micalg` value (RFC 8551 3.5.3.2); "upper" is a product quirk."""
    value = _MICALG[digest]
    return value.upper() if case == "upper" else value


def digest_from_micalg(value: str) -> Digest | None:
    """Digest named by a micalg value, case-insensitively; None for unknown values."""
    return _MICALG_READ.get(value.strip().lower())


# --- signatures -----------------------------------------------------------------------

_RSA_WITH: dict[str, Digest] = {
    oids.SHA1_WITH_RSA: "sha1",
    oids.SHA1_WITH_RSA_OIW: "sha1",
    oids.SHA256_WITH_RSA: "sha256",
    oids.SHA384_WITH_RSA: "sha384",
    oids.SHA512_WITH_RSA: "sha512",
}


@dataclass(frozen=True)
class SignatureInfo:
    """What a SignerInfo's signatureAlgorithm says.

    `digest` is the hash the signature scheme itself names (PSS hash, or the
    hash of sha256WithRSAEncryption); None for plain rsaEncryption, where the
    SignerInfo's digestAlgorithm decides. For PSS, `salt_length` and
    `mgf_digest` are the parameters found.
    """

    algorithm: SignatureAlgorithm
    digest: Digest | None
    salt_length: int | None = None
    mgf_digest: Digest | None = None


def signature_algorithm(
    algorithm: SignatureAlgorithm, digest: Digest
) -> algos.SignedDigestAlgorithm:
    """signatureAlgorithm of a SignerInfo.

    PKCS#1 v1.5 is written as rsaEncryption (what OpenSSL, NSS and gpgsm write,
    and what old readers expect; RFC 3370 2.2). PSS carries RSASSA-PSS-params
    (RFC 4056): the hash, MGF1 with the same hash, salt = hash length.
    """
    if algorithm == "rsa-pkcs1v15":
        return algos.SignedDigestAlgorithm({"algorithm": oids.RSA_ENCRYPTION})
    if algorithm == "rsa-pss":
        params = algos.RSASSAPSSParams(
            {
                "hash_algorithm": digest_algorithm(digest),
                "mask_gen_algorithm": {
                    "algorithm": "mgf1",
                    "parameters": digest_algorithm(digest),
                },
                "salt_length": _DIGEST_SIZES[digest],
            }
        )
        return algos.SignedDigestAlgorithm({"algorithm": oids.RSASSA_PSS, "parameters": params})
    raise UnsupportedAlgorithm("signature", str(algorithm))


@cache
def signature_algorithm_der(algorithm: SignatureAlgorithm, digest: Digest) -> bytes:
    """DER of `signature_algorithm(algorithm, digest)`, cached."""
    return bytes(signature_algorithm(algorithm, digest).dump())


def _hash_and_mgf1(
    params: algos.RSASSAPSSParams | algos.RSAESOAEPParams, kind: str, oid: str
) -> tuple[Digest, Digest]:
    """(hash, MGF1 hash) of RSASSA-PSS or RSAES-OAEP parameters (RFC 8017 A.2.1, A.2.3);
    UnsupportedAlgorithm for a mask generation function other than MGF1."""
    digest = digest_from_oid(params["hash_algorithm"]["algorithm"].dotted)
    mgf = params["mask_gen_algorithm"]
    if mgf["algorithm"].dotted != oids.MGF1:
        found = oids.shown(mgf["algorithm"].dotted)
        raise UnsupportedAlgorithm(
            kind, oid, f"mask generation {found}", code="mask-generation", values=(("mgf", found),)
        )
    return digest, digest_from_oid(mgf["parameters"]["algorithm"].dotted)


# No RSA key the engine verifies with (up to 8192 bits) leaves room for a longer salt.
_MAX_SALT = 1024


def signature_from_algorithm(value: algos.SignedDigestAlgorithm) -> SignatureInfo:
    """Option name (and PSS parameters) of a signatureAlgorithm; raises UnsupportedAlgorithm."""
    oid = value["algorithm"].dotted
    if oid == oids.RSA_ENCRYPTION:
        return SignatureInfo("rsa-pkcs1v15", None)
    if oid in _RSA_WITH:
        return SignatureInfo("rsa-pkcs1v15", _RSA_WITH[oid])
    if oid == oids.RSASSA_PSS:
        try:
            params = value["parameters"]
            if not isinstance(params, algos.RSASSAPSSParams):
                params = algos.RSASSAPSSParams()  # absent parameters: all defaults (SHA-1)
            digest, mgf_digest = _hash_and_mgf1(params, "signature", oid)
            salt = int(params["salt_length"].native)
            if not 0 <= salt <= _MAX_SALT:  # RFC 4055 3.1 says INTEGER; a length is not that
                raise UnsupportedAlgorithm(
                    "signature",
                    oid,
                    f"bad RSASSA-PSS-params: salt length {salt} outside 0..{_MAX_SALT}",
                    code="pss-salt",
                    values=(("salt", salt), ("max", _MAX_SALT)),
                )
            if params["trailer_field"].native not in ("trailer_field_bc", 1):
                raise UnsupportedAlgorithm(
                    "signature", oid, "trailer field other than 1", code="pss-trailer"
                )
        except UnsupportedAlgorithm:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise _bad_parameters("signature", oid, "RSASSA-PSS-params", exc) from exc
        return SignatureInfo("rsa-pss", digest, salt, mgf_digest)
    raise UnsupportedAlgorithm("signature", oid)


def _bad_parameters(
    kind: str, oid: str, structure: str, exc: BaseException
) -> UnsupportedAlgorithm:
    """Parameters that do not parse: the parser's own words, with the structure they are."""
    return UnsupportedAlgorithm(
        kind,
        oid,
        f"bad {structure}: {exc}",
        code="bad-parameters",
        values=(("structure", structure), ("said", str(exc))),
    )


# --- content ciphers ------------------------------------------------------------------

_CIPHER_OIDS: dict[ContentCipher, str] = {
    "des-ede3-cbc": oids.DES_EDE3_CBC,
    "rc2-40-cbc": oids.RC2_CBC,
    "rc2-128-cbc": oids.RC2_CBC,
    "aes128-cbc": oids.AES128_CBC,
    "aes192-cbc": oids.AES192_CBC,
    "aes256-cbc": oids.AES256_CBC,
    "aes128-gcm": oids.AES128_GCM,
    "aes256-gcm": oids.AES256_GCM,
}
_CIPHER_BY_OID: dict[str, ContentCipher] = {
    oid: name for name, oid in _CIPHER_OIDS.items() if oid != oids.RC2_CBC
}
# The same, keyed on the OBJECT IDENTIFIER's encoding: read from an algorithm
# identifier's bytes without asn1crypto parsing its fields (the read side's case).
_CIPHER_BY_OID_DER: dict[bytes, ContentCipher] = {
    der.oid(oid): name for oid, name in _CIPHER_BY_OID.items()
}
_KEY_LENGTHS: dict[ContentCipher, int] = {
    "des-ede3-cbc": 24,
    "rc2-40-cbc": 5,
    "rc2-128-cbc": 16,
    "aes128-cbc": 16,
    "aes192-cbc": 24,
    "aes256-cbc": 32,
    "aes128-gcm": 16,
    "aes256-gcm": 32,
}
_RC2_BITS: dict[ContentCipher, int] = {"rc2-40-cbc": 40, "rc2-128-cbc": 128}
# RFC 2268 section 6: rc2ParameterVersion for the effective key bits below 256
# (the values the S/MIME world uses; 256 and above are written as themselves).
_RC2_VERSIONS: dict[int, int] = {40: 160, 64: 120, 128: 58}
_RC2_BITS_BY_VERSION: dict[int, int] = {v: k for k, v in _RC2_VERSIONS.items()}


def content_cipher_oid(cipher: ContentCipher) -> str:
    return _CIPHER_OIDS[cipher]


def key_length(cipher: ContentCipher) -> int:
    """Content-encryption key length in bytes."""
    return _KEY_LENGTHS[cipher]


def block_size(cipher: ContentCipher) -> int:
    """Cipher block size in bytes (the CBC IV length); 12 for GCM means the nonce length."""
    if cipher in AEAD_CIPHERS:
        return 12
    return 8 if cipher.startswith(("des", "rc2")) else 16


def is_aead(cipher: ContentCipher) -> bool:
    """True for ciphers carried in AuthEnvelopedData (RFC 5083)."""
    return cipher in AEAD_CIPHERS


def rc2_parameter_version(effective_bits: int) -> int:
    if effective_bits >= 256:
        return effective_bits
    try:
        return _RC2_VERSIONS[effective_bits]
    except KeyError:
        raise _rc2_bits_unsupported(oids.RC2_CBC, effective_bits) from None


def _rc2_bits_unsupported(oid: str, bits: int) -> UnsupportedAlgorithm:
    return UnsupportedAlgorithm(
        "content-cipher",
        oid,
        f"RC2 with {bits} effective bits",
        code="rc2-bits",
        values=(("bits", bits),),
    )


def rc2_effective_bits(version: int | None) -> int:
    """Effective key bits of an rc2ParameterVersion (RFC 2268 section 6; absent = 32)."""
    if version is None:
        return 32
    if version >= 256:
        return version
    try:
        return _RC2_BITS_BY_VERSION[version]
    except KeyError:
        detail = f"rc2ParameterVersion {version}"
        raise UnsupportedAlgorithm(
            "content-cipher",
            oids.RC2_CBC,
            detail,
            code="rc2-version",
            values=(("version", version),),
        ) from None


def content_cipher_algorithm(
    cipher: ContentCipher, iv: bytes, tag_length: int = 16
) -> algos.EncryptionAlgorithm:
    """contentEncryptionAlgorithm for a cipher: the IV (CBC) or nonce and tag length (GCM).

    AES and 3DES are written as DER and loaded (lazily parsed): the same bytes as
    building the asn1crypto tree, at a fifth of the cost, once per message.
    """
    oid = _CIPHER_OIDS[cipher]
    if cipher in _RC2_BITS:
        params = algos.Rc2Params(
            {"rc2_parameter_version": rc2_parameter_version(_RC2_BITS[cipher]), "iv": iv}
        )
        return algos.EncryptionAlgorithm({"algorithm": oid, "parameters": params})
    if cipher in AEAD_CIPHERS:
        # GCMParameters; aes-ICVlen DEFAULT 12 is left out when 12 (DER, X.690 11.5).
        icv = der.integer(tag_length) if tag_length != 12 else b""
        encoded = der.sequence(der.octet_string(iv), icv)
    else:
        encoded = der.octet_string(iv)
    return algos.EncryptionAlgorithm.load(der.sequence(der.oid(oid), encoded))


def content_cipher_from_algorithm(value: algos.EncryptionAlgorithm) -> ContentCipher:
    """Option name of a contentEncryptionAlgorithm; raises UnsupportedAlgorithm.

    RC2 maps by its effective key bits (rc2ParameterVersion 160 -> 40, 58 -> 128);
    other RC2 strengths have no option name and are unsupported.
    """
    contents = value.contents
    if contents and len(contents) > 2 and contents[0] == 0x06 and not contents[1] & 0x80:
        # Every cipher but RC2 is named by its OID alone.
        found = _CIPHER_BY_OID_DER.get(contents[: 2 + contents[1]])
        if found is not None:
            return found
    oid = value["algorithm"].dotted
    if oid == oids.RC2_CBC:
        params = value["parameters"]
        if not isinstance(params, algos.Rc2Params):
            raise UnsupportedAlgorithm(
                "content-cipher", oid, "missing RC2-CBCParameter", code="rc2-no-parameters"
            )
        try:
            bits = rc2_effective_bits(params["rc2_parameter_version"].native)
        except UnsupportedAlgorithm as exc:  # its English wrapped, its code kept
            raise UnsupportedAlgorithm(
                "content-cipher", oid, str(exc), code=exc.code, values=exc.values
            ) from exc
        except ValueError as exc:
            raise UnsupportedAlgorithm(
                "content-cipher",
                oid,
                str(exc),
                code="bad-parameters",
                values=(("structure", "RC2-CBCParameter"), ("said", str(exc))),
            ) from exc
        for name, cipher_bits in _RC2_BITS.items():
            if cipher_bits == bits:
                return name
        raise _rc2_bits_unsupported(oid, bits)
    found = _CIPHER_BY_OID.get(oid)
    if found is None:
        raise UnsupportedAlgorithm("content-cipher", oid)
    return found


def capability_identifier(cipher: ContentCipher) -> cms.SMIMECapabilityIdentifier:
    """SMIMECapability for a cipher (RFC 8551 2.7.1; RC2 carries its key bits as INTEGER)."""
    entry: dict[str, object] = {"capability_id": _CIPHER_OIDS[cipher]}
    if cipher in _RC2_BITS:
        entry["parameters"] = core.Integer(_RC2_BITS[cipher])
    return cms.SMIMECapabilityIdentifier(entry)


@lru_cache(maxsize=64)
def smime_capabilities_der(ciphers: tuple[ContentCipher, ...]) -> bytes:
    """DER of the SMIMECapabilities SEQUENCE listing `ciphers` in order, cached."""
    return bytes(cms.SMIMECapabilites([capability_identifier(c) for c in ciphers]).dump())


def content_cipher_from_capability(value: cms.SMIMECapabilityIdentifier) -> ContentCipher | None:
    """Cipher named by an SMIMECapability, or None (not a cipher we know)."""
    oid = value["capability_id"].dotted
    if oid == oids.RC2_CBC:
        raw = value["parameters"]
        try:
            bits = core.Integer.load(raw.dump()).native if raw.native is not None else None
        except (ValueError, TypeError):
            return None
        rc2: dict[int | None, ContentCipher] = {40: "rc2-40-cbc", 128: "rc2-128-cbc"}
        return rc2.get(bits)
    return _CIPHER_BY_OID.get(oid)


# --- key transport --------------------------------------------------------------------

_OAEP_DIGEST: dict[KeyTransport, Digest] = {"rsa-oaep-sha1": "sha1", "rsa-oaep-sha256": "sha256"}
_OAEP_BY_DIGEST: dict[Digest, KeyTransport] = {v: k for k, v in _OAEP_DIGEST.items()}


def oaep_digest(key_transport: KeyTransport) -> Digest | None:
    """Hash (and MGF1 hash) of an OAEP key transport; None for PKCS#1 v1.5."""
    return _OAEP_DIGEST.get(key_transport)


def key_transport_algorithm(key_transport: KeyTransport) -> cms.KeyEncryptionAlgorithm:
    """keyEncryptionAlgorithm: rsaEncryption (NULL) or id-RSAES-OAEP with RSAES-OAEP-params.

    For OAEP-SHA1 every parameter is the default, so the params are an empty
    SEQUENCE (RFC 4055 section 4.1; what OpenSSL writes); for SHA-256 they name
    SHA-256 for both the hash and MGF1, with the empty default label.
    """
    if key_transport == "rsa-pkcs1v15":
        return cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"})
    digest = _OAEP_DIGEST.get(key_transport)
    if digest is None:
        raise UnsupportedAlgorithm("key-transport", str(key_transport))
    if digest == "sha1":
        params = algos.RSAESOAEPParams.load(b"\x30\x00")  # all defaults
    else:
        params = algos.RSAESOAEPParams(
            {
                "hash_algorithm": digest_algorithm(digest),
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": digest_algorithm(digest)},
            }
        )
    return cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_oaep", "parameters": params})


@cache
def key_transport_algorithm_der(key_transport: KeyTransport) -> bytes:
    """DER of `key_transport_algorithm(key_transport)`, cached."""
    return bytes(key_transport_algorithm(key_transport).dump())


def key_transport_from_algorithm(value: cms.KeyEncryptionAlgorithm) -> KeyTransport:
    """Option name of a keyEncryptionAlgorithm; raises UnsupportedAlgorithm.

    OAEP: the hash comes from RSAES-OAEP-params (absent parameters = SHA-1);
    an MGF1 hash different from it, or a non-empty label, has no option name.
    Cached on the encoding: parsing the OAEP parameters is slow, and they repeat.
    """
    return key_transport_from_der(bytes(value.dump()))


@lru_cache(maxsize=64)
def key_transport_from_der(encoded: bytes) -> KeyTransport:
    """`key_transport_from_algorithm` of a KeyEncryptionAlgorithm's DER (results cached)."""
    value = cms.KeyEncryptionAlgorithm.load(encoded)
    oid = value["algorithm"].dotted
    if oid == oids.RSA_ENCRYPTION:
        return "rsa-pkcs1v15"
    if oid != oids.RSAES_OAEP:
        raise UnsupportedAlgorithm("key-transport", oid)
    try:
        params = value["parameters"]
        if not isinstance(params, algos.RSAESOAEPParams):
            params = algos.RSAESOAEPParams.load(b"\x30\x00")
        digest, mgf_digest = _hash_and_mgf1(params, "key-transport", oid)
        label = params["p_source_algorithm"]["parameters"].native
    except UnsupportedAlgorithm:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise _bad_parameters("key-transport", oid, "RSAES-OAEP-params", exc) from exc
    if mgf_digest != digest:
        raise UnsupportedAlgorithm(
            "key-transport",
            oid,
            f"OAEP {digest} with MGF1-{mgf_digest}",
            code="oaep-mgf1-digest",
            values=(("digest", digest), ("mgf_digest", mgf_digest)),
        )
    if label:
        raise UnsupportedAlgorithm(
            "key-transport", oid, "OAEP with a non-empty label", code="oaep-label"
        )
    name = _OAEP_BY_DIGEST.get(digest)
    if name is None:
        raise UnsupportedAlgorithm(
            "key-transport",
            oid,
            f"OAEP with {digest}",
            code="oaep-digest",
            values=(("digest", digest),),
        )
    return name
