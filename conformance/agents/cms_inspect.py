"""What a CMS object declares: its algorithms and its signer's certificate.

The real tools say whether a message verified or decrypted, but not in one
common form which algorithms it used; reading them from the CMS structure
(asn1crypto, which also reads the BER that NSS writes) gives the same
`Algorithms` for every engine. Names are the option names of
conformance.smime.options; an algorithm without one is shown as its OID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from asn1crypto import cms, core
from asn1crypto import x509 as x509_asn1
from cryptography import x509
from cryptography.x509.oid import NameOID

from conformance.status import Algorithms, Signer

_DIGESTS = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512"}
_CIPHERS = {
    "1.2.840.113549.3.7": "des-ede3-cbc",
    "1.2.840.113549.3.2": "rc2-cbc",  # refined to rc2-40/128 from its parameters
    "2.16.840.1.101.3.4.1.2": "aes128-cbc",
    "2.16.840.1.101.3.4.1.22": "aes192-cbc",
    "2.16.840.1.101.3.4.1.42": "aes256-cbc",
    "2.16.840.1.101.3.4.1.6": "aes128-gcm",
    "2.16.840.1.101.3.4.1.46": "aes256-gcm",
}
_RSA_SIG = {"rsassa_pkcs1v15", "rsa", "sha1_rsa", "sha256_rsa", "sha384_rsa", "sha512_rsa"}
_IDNAT_OIDS = (NameOID.SERIAL_NUMBER, NameOID.USER_ID)


@dataclass
class CmsFacts:
    content_type: str
    algorithms: Algorithms = field(default_factory=Algorithms)
    signer_certificate: x509.Certificate | None = None


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


def _cipher_name(alg: cms.EncryptionAlgorithm) -> str:
    oid = str(alg["algorithm"].dotted)
    name = _CIPHERS.get(oid, oid)
    if name == "rc2-cbc":
        try:
            bits = int(alg.key_length) * 8
        except (ValueError, TypeError):
            return name
        return f"rc2-{bits}-cbc"
    return name


def _key_transport_name(alg: cms.KeyEncryptionAlgorithm) -> str:
    name = str(alg["algorithm"].native)
    if name == "rsaes_pkcs1v15":
        return "rsa-pkcs1v15"
    if name == "rsaes_oaep":
        digest = str(alg["parameters"]["hash_algorithm"]["algorithm"].native)
        return f"rsa-oaep-{digest}"
    return str(alg["algorithm"].dotted)


def _signature_name(alg: cms.SignedDigestAlgorithm) -> str:
    name = alg["algorithm"].native
    if name == "rsassa_pss":
        return "rsa-pss"
    if name in _RSA_SIG:
        return "rsa-pkcs1v15"
    return str(alg["algorithm"].dotted)


def _same_name(a: x509_asn1.Name, b: x509_asn1.Name) -> bool:
    # Equal encodings are equal names; only different ones need asn1crypto's
    # comparison (RFC 5280 s.7.1 preparation of every value), which is slow.
    return a.dump() == b.dump() or bool(a == b)


def _match_signer(signed: cms.SignedData, sid: cms.SignerIdentifier) -> x509.Certificate | None:
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            want = sid.chosen
            if cert.serial_number == want["serial_number"].native and _same_name(
                cert.issuer, want["issuer"]
            ):
                return x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert.dump())
    return None


def inspect(data: bytes) -> CmsFacts:
    """Facts about a CMS ContentInfo; raises ValueError when it is not one."""
    facts = _inspect(data)
    algs = facts.algorithms
    return CmsFacts(
        facts.content_type,
        Algorithms(
            list(algs.digest),
            list(algs.signature),
            list(algs.content_encryption),
            list(algs.key_transport),
        ),
        facts.signer_certificate,
    )


# A receiving agent reads each CMS layer twice (its algorithms, then its signer):
# the parse is kept for the last few objects (callers get their own copy).
@lru_cache(maxsize=16)
def _inspect(data: bytes) -> CmsFacts:
    info = cms.ContentInfo.load(data)
    ctype = info["content_type"].native
    facts = CmsFacts(str(ctype))
    algs = facts.algorithms
    content = info["content"]
    if ctype in ("enveloped_data", "authenticated_enveloped_data"):
        for ri in content["recipient_infos"]:
            if ri.name == "ktri":
                _add(algs.key_transport, _key_transport_name(ri.chosen["key_encryption_algorithm"]))
            else:
                _add(algs.key_transport, ri.name)
        eci = content[
            "auth_encrypted_content_info" if ctype != "enveloped_data" else "encrypted_content_info"
        ]
        _add(algs.content_encryption, _cipher_name(eci["content_encryption_algorithm"]))
    elif ctype == "signed_data":
        for si in content["signer_infos"]:
            _add(
                algs.digest,
                _DIGESTS.get(
                    si["digest_algorithm"]["algorithm"].native,
                    si["digest_algorithm"]["algorithm"].dotted,
                ),
            )
            _add(algs.signature, _signature_name(si["signature_algorithm"]))
            if facts.signer_certificate is None:
                facts.signer_certificate = _match_signer(content, si["sid"])
    else:
        raise ValueError(f"CMS content type {ctype} is not signed or enveloped data")
    # Force a full parse now, so that a truncated structure fails here, not later.
    if isinstance(content, core.Asn1Value):
        content.native  # noqa: B018
    return facts


def signer_of(cert: x509.Certificate) -> Signer:
    """The status's view of a signer certificate."""
    email: str | None = None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        emails = san.get_values_for_type(x509.RFC822Name)
        email = emails[0] if emails else None
    except x509.ExtensionNotFound:
        pass
    if email is None:
        attrs = cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)
        email = str(attrs[0].value) if attrs else None
    idnat: str | None = None
    for oid in _IDNAT_OIDS:
        attrs = cert.subject.get_attributes_for_oid(oid)
        if attrs:
            idnat = str(attrs[0].value)
            break
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        non_repudiation = usage.content_commitment
    except x509.ExtensionNotFound:
        non_repudiation = False
    return Signer(cert.subject.rfc4514_string(), email, idnat, non_repudiation)
