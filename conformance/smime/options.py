"""Every choice the engine makes, as explicit options with no hidden defaults.

These dataclasses are the contract between the engine and the product
profiles: each field a product can differ on is here, with its closed set of
values, and the profile schema maps onto them one to one. The defaults are
those of the built-in modern `reference` agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from conformance.core.vocabulary import (
    CmsTransferEncoding,
    ContentCipher,
    Digest,
    KeyTransport,
    SignatureAlgorithm,
)

SignatureFormat = Literal["multipart-signed", "opaque"]
CertificatesIncluded = Literal["none", "signer", "chain"]
RecipientIdentifier = Literal["issuer-serial", "ski"]
SignedAttribute = Literal[
    "content-type", "message-digest", "signing-time", "smime-capabilities", "signing-certificate-v2"
]
Order = Literal["sign-then-encrypt", "encrypt-then-sign", "triple-wrap"]
MediaTypes = Literal["modern", "legacy"]  # application/pkcs7-* or application/x-pkcs7-*
TransferEncoding = Literal["base64", "quoted-printable", "7bit", "8bit"]
ContentEncoding = Literal["keep", "quoted-printable", "base64"]
Charset = Literal["iso-8859-1", "utf-8"]
MicalgCase = Literal["lower", "upper"]

SIGNATURE_FORMATS: tuple[SignatureFormat, ...] = get_args(SignatureFormat)
MEDIA_TYPES: tuple[MediaTypes, ...] = get_args(MediaTypes)
ALL_SIGNED_ATTRIBUTES: frozenset[SignedAttribute] = frozenset(get_args(SignedAttribute))
AEAD_CIPHERS: frozenset[ContentCipher] = frozenset({"aes128-gcm", "aes256-gcm"})


@dataclass(frozen=True)
class SignOptions:
    format: SignatureFormat = "multipart-signed"
    digest: Digest = "sha256"
    algorithm: SignatureAlgorithm = "rsa-pkcs1v15"
    certificates: CertificatesIncluded = "chain"
    # An empty set means no signed attributes at all (signature over the content digest).
    signed_attributes: frozenset[SignedAttribute] = ALL_SIGNED_ATTRIBUTES
    signer_identifier: RecipientIdentifier = "issuer-serial"
    # Canonicalise line endings to CRLF before signing (RFC 8551 3.1.1); False is a quirk.
    canonicalize: bool = True
    micalg_case: MicalgCase = "lower"


@dataclass(frozen=True)
class EncryptOptions:
    content: ContentCipher = "aes256-cbc"
    key_transport: KeyTransport = "rsa-oaep-sha256"
    recipient_identifier: RecipientIdentifier = "issuer-serial"
    encrypt_to_self: bool = True


@dataclass(frozen=True)
class MimeOptions:
    media_types: MediaTypes = "modern"
    # How the CMS blob is written in the message.
    cms_transfer_encoding: CmsTransferEncoding = "base64"
    # What the sender does to the content's text parts before signing:
    # keep them as given, or re-encode them (RFC 8551 asks for 7-bit data).
    content_encoding: ContentEncoding = "quoted-printable"
    charset: Charset = "utf-8"
    # Put the sender's chosen name parameter (smime.p7m / smime.p7s) on the CMS parts.
    name_parameters: bool = True


@dataclass(frozen=True)
class SendOptions:
    sign: SignOptions = field(default_factory=SignOptions)
    encrypt: EncryptOptions = field(default_factory=EncryptOptions)
    mime: MimeOptions = field(default_factory=MimeOptions)
    order: Order = "sign-then-encrypt"


@dataclass(frozen=True)
class ReceiveQuirks:
    """Documented deviations a receiver may have (profiles name them)."""

    strip_trailing_whitespace: bool = False  # strips trailing blanks before verifying
    no_canonicalize: bool = False  # verifies over LF lines instead of CRLF
    micalg_case_sensitive: bool = False  # refuses micalg=SHA-256 when it expects sha-256
    max_message_bytes: int | None = None  # refuses messages over this size


@dataclass(frozen=True)
class ReceiveOptions:
    """What a receiver accepts and requires. None means 'anything the engine reads'."""

    ciphers: frozenset[ContentCipher] | None = None
    key_transports: frozenset[KeyTransport] | None = None
    digests: frozenset[Digest] | None = None
    signature_algorithms: frozenset[SignatureAlgorithm] | None = None
    formats: frozenset[SignatureFormat] | None = None
    media_types: frozenset[MediaTypes] | None = None
    require_signature: bool = False
    require_encryption: bool = False
    require_chain: bool = True  # a chain to the trust anchors is required for authentication
    check_revocation: bool = True
    check_sender_address: bool = True  # From: must equal the signer certificate's address
    check_validity: bool = True  # the signer certificate must be valid at the validation time
    check_key_usage: bool = True  # key usage and extended key usage must allow S/MIME signing
    # Set by a policy: hashes refused in certificate and CRL signatures (pyhanko names), on
    # top of md2, md5 (always) and sha1 (when `digests` leaves it out), and the smallest
    # RSA key accepted.
    refused_certificate_digests: frozenset[str] = frozenset()
    min_rsa_bits: int = 2048
    quirks: ReceiveQuirks = field(default_factory=ReceiveQuirks)


# The reference receiver reads what the standard allows: imaging reports carry attachments
# of hundreds of megabytes, read in bounded memory (smime.spool), so its limit is 1 GiB.
REFERENCE_MAX_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile message from hanging or exhausting the reader.

    Over a size bound a message is TOO_LARGE (not read, whatever it holds); over a
    structure bound (depth, parts) it is MALFORMED."""

    max_message_bytes: int = REFERENCE_MAX_BYTES
    # nested S/MIME layers and multiparts together below the message itself (depth 0): 8
    # levels are read, a 9th is malformed, for the receiver and the validator alike
    max_depth: int = 8
    max_parts: int = 256
    max_cms_bytes: int = REFERENCE_MAX_BYTES
    # A message over `spool_above_bytes` is read from a spool in bounded memory
    # (`smime.receive_spooled`); there, a body over `spool_part_bytes` stays in the spool.
    spool_above_bytes: int = 4 * 1024 * 1024
    spool_part_bytes: int = 1024 * 1024
