"""`check --lang fr` words in French what the decryption, the path validator, the key reader
and the runner's fallbacks found (ENC-004's note and errors, ENC-001's bad parameters,
CERT-001's path failures, a key that does not read, a rule or a parse that broke): no
English sentence of the suite's is left in a French report, a library's own words are
quoted in « », and the English report and the JSON keep the English."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

import pytest
from check_support import signed_letter
from cryptography import x509
from test_check_french_defects import _ENGLISH, _QUOTED

from conformance.check import CheckReport, catalogue, run_checks, runner
from conformance.check import context as check_context
from conformance.check.catalogue import Outcome, get_rule
from conformance.check.certs import _key_facts
from conformance.check.context import Context
from conformance.check.i18n import CHAIN_FR, TOKEN_FR, chain_text, token_error_text
from conformance.check.layers import SignerFacts, _verify_dsa
from conformance.check.render import text_table
from conformance.core.bilingual import Bilingual
from conformance.core.vocabulary import Digest, KeyTransport, SignatureAlgorithm
from conformance.errors import UserError
from conformance.paths import REPO_DIR
from conformance.pki.model import load_pki
from conformance.smime.validate import ChainReason, ChainResult
from conformance.token import softhsm
from conformance.token.base import KeyNotFound, TokenError, TokenErrorCode, UnsupportedMechanism
from conformance.token.files import intermediates
from conformance.token.software import SoftwareKey

PKI = load_pki()
TRUST: dict[str, Any] = {"trust": PKI.trust_paths(), "crls": PKI.crl_paths()}
ENCRYPTED = (REPO_DIR / "vectors" / "golden" / "reference" / "encrypt.eml").read_bytes()
PRO01 = PKI.identities["pro01"]
REFUSAL = "SoftHSM Implementation of PKCS11 2.6 returned CKR_ARGUMENTS_BAD"


def _french(report: CheckReport, rule_id: str) -> list[str]:
    """The rule's French findings, each checked to hold no English outside quotations."""
    said = [c.found_fr or c.found for c in report.by_id(rule_id)]
    assert said, report.by_id(rule_id)
    for text in said:
        assert not _ENGLISH.search(_QUOTED.sub("", text)), (rule_id, text)
    return said


class _Key:
    """pro01's encryption key as a token that refuses the mechanism (SoftHSM 2.6 and
    OAEP-SHA256), or fails as a token does on a bad ciphertext."""

    label = "pro01-encrypt"

    def __init__(self, error: Exception) -> None:
        self.certificate: x509.Certificate = PRO01.certificate("encrypt")
        self.error = error

    def sign(self, data: bytes, digest: Digest, algorithm: SignatureAlgorithm) -> bytes:
        raise self.error

    def decrypt(self, ciphertext: bytes, key_transport: KeyTransport) -> bytes:
        raise self.error


def _software() -> SoftwareKey:
    return SoftwareKey(PRO01.private_key("encrypt"), PRO01.certificate("encrypt"), "pro01")


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setattr(check_context, "_software_key", lambda directory: _software())
    yield monkeypatch


def test_the_token_refusal_note_is_french(token: pytest.MonkeyPatch) -> None:
    refused = _Key(UnsupportedMechanism("CKM_RSA_PKCS_OAEP with SHA-256", REFUSAL))
    token.setattr(check_context, "_open_key", lambda directory: (refused, None))
    report = run_checks(ENCRYPTED, identity_dir=PRO01.directory, **TRUST)
    (check,) = report.by_id("ENC-004")
    assert check.status == "SUCCESS"
    assert "the token refused" in check.found and "decrypted with the software key" in check.found
    (french,) = _french(report, "ENC-004")
    assert "le jeton a refusé" in french and "déchiffré avec la clé logicielle" in french
    assert f"« {REFUSAL} »" in french  # the PKCS#11 library's words, quoted
    assert "the token refused" not in " ".join(text_table(report, width=200, lang="fr").split())


def test_an_undecryptable_envelope_is_french(token: pytest.MonkeyPatch) -> None:
    failing = _Key(TokenError("CKR_ENCRYPTED_DATA_INVALID"))
    token.setattr(check_context, "_open_key", lambda directory: (failing, None))
    report = run_checks(ENCRYPTED, identity_dir=PRO01.directory, **TRUST)
    (check,) = report.by_id("ENC-004")
    assert check.status == "ERROR" and "cannot decrypt with my key" in check.found
    (french,) = _french(report, "ENC-004")
    assert french.startswith("non déchiffré : le déchiffrement avec la clé de l'identité échoue")


def test_an_envelope_for_others_is_french() -> None:
    report = run_checks(ENCRYPTED, identity_dir=PKI.identities["pro03"].directory, **TRUST)
    (check,) = report.by_id("ENC-004")
    assert check.status == "ERROR" and "not for me" in check.found
    (french,) = _french(report, "ENC-004")
    assert "pas pour cette identité : aucun des 2 destinataire(s)" in french


def test_a_key_that_does_not_open_is_french(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from conformance import token

    def broken(directory: Path, role: str) -> None:
        raise TokenError("CKR_PIN_INCORRECT")

    monkeypatch.setattr(token, "open_key", broken)
    identity = shutil.copytree(PRO01.directory, tmp_path / "pro01")  # not in the key cache
    report = run_checks(ENCRYPTED, identity_dir=identity, **TRUST)
    (check,) = report.by_id("ENC-004")
    # Not checked, never an error of the message: the suite could not open its own key.
    assert check.status == "INFO" and "cannot open the encryption key" in check.found
    (french,) = _french(report, "ENC-004")
    assert "impossible d'ouvrir la clé de chiffrement" in french
    assert "« CKR_PIN_INCORRECT »" in french


def _bad_cipher_parameters() -> bytes:
    """The reference envelope, its AES-256-CBC identifier made RC2 with an OCTET STRING for
    parameters (the same length): RC2-CBCParameter is a SEQUENCE, so it does not parse."""
    head, _, body = ENCRYPTED.partition(b"\r\n\r\n")
    der = base64.b64decode(b"".join(body.split()))
    aes = bytes.fromhex("301d060960864801650304012a0410")  # then the 16-byte IV
    rc2 = bytes.fromhex("301d06082a864886f70d03020411")  # then 17 bytes
    at = der.index(aes)
    iv = der[at + len(aes) : at + len(aes) + 16]
    der = der[:at] + rc2 + iv + b"\x00" + der[at + len(aes) + 16 :]
    return head + b"\r\n\r\n" + base64.encodebytes(der).replace(b"\n", b"\r\n")


def test_bad_cipher_parameters_are_french() -> None:
    report = run_checks(_bad_cipher_parameters(), identity_dir=PRO01.directory, **TRUST)
    (check,) = report.by_id("ENC-001")
    assert check.status == "ERROR" and "(bad parameters: " in check.found
    for rule_id in ("ENC-001", "ENC-004", "ENC-005"):
        for french in _french(report, rule_id):
            assert "bad parameters" not in french
    (french,) = _french(report, "ENC-001")
    assert french.startswith("1.2.840.113549.3.2 (paramètres incorrects : « ")
    (french,) = _french(report, "ENC-004")
    assert french.startswith("non déchiffré : chiffrement du contenu : 1.2.840.113549.3.2 (")


def test_a_path_failure_is_french() -> None:
    directory = PKI.identities["defect-unknown-root"].directory
    report = run_checks(signed_letter("defect-unknown-root", intermediates(directory)), **TRUST)
    (check,) = report.by_id("CERT-001")
    assert check.status == "ERROR" and "unknown issuer: no path to a trust anchor" in check.found
    (french,) = _french(report, "CERT-001")
    assert "émetteur inconnu : aucun chemin jusqu'à une ancre de confiance (« " in french


def test_every_reason_of_the_path_validator_has_its_french() -> None:
    assert set(CHAIN_FR) == set(get_args(ChainReason))
    values = (("algorithm", "RSA"), ("bits", 1024), ("minimum", 2048), ("tried", 16))
    for reason in get_args(ChainReason):
        result = ChainResult(
            False, None, "english", reason=reason, subject="CN=x", detail="pyhanko", values=values
        )
        said = chain_text(result)
        assert said.en == "english" and "{" not in said.fr, reason
        assert not _ENGLISH.search(_QUOTED.sub("", said.fr)), (reason, said.fr)


def _spki(algorithm_oid: str, key: bytes) -> bytes:
    """A SubjectPublicKeyInfo of `algorithm_oid` (no parameters) and BIT STRING `key`."""
    parts = [int(p) for p in algorithm_oid.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        encoded = [part & 0x7F]
        while part > 0x7F:
            part >>= 7
            encoded.insert(0, 0x80 | (part & 0x7F))
        body += bytes(encoded)
    oid = b"\x06" + bytes([len(body)]) + body
    algorithm = b"\x30" + bytes([len(oid)]) + oid
    bits = b"\x03" + bytes([len(key) + 1, 0]) + key
    inner = algorithm + bits
    return b"\x30" + bytes([len(inner)]) + inner


@pytest.mark.parametrize(
    ("oid", "english", "french"),
    [
        ("1.2.840.113549.1.1.1", "RSA public key does not parse", "la clé publique RSA"),
        ("1.2.3.4", "public key algorithm 1.2.3.4 is not readable", "n'est pas lisible"),
    ],
)
def test_a_key_that_does_not_read_is_french(oid: str, english: str, french: str) -> None:
    facts = _key_facts(_spki(oid, b"\x01\x02\x03"))
    assert facts.error is not None and facts.error.en.startswith(english)
    assert french in facts.error.fr and "« " in facts.error.fr
    assert not _ENGLISH.search(_QUOTED.sub("", facts.error.fr)), facts.error.fr


def test_the_runners_fallbacks_are_french(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = get_rule("HDR-001")
    assert rule is not None

    def broken(context: Context) -> Iterator[Outcome]:
        raise RuntimeError("boom")

    monkeypatch.setitem(catalogue._RULES, rule.id, replace(rule, function=broken))
    report = run_checks(signed_letter("pro01", [PKI.intermediate]), **TRUST)
    (check,) = report.by_id("HDR-001")
    assert check.found.startswith("the validator failed on this rule: RuntimeError: boom")
    (french,) = _french(report, "HDR-001")
    assert french.startswith("le validateur a échoué sur cette règle : « RuntimeError: boom »")
    assert check.expected_fr == "la règle s'exécute jusqu'au bout"

    def unparsable(message: bytes, **options: object) -> None:
        raise ValueError("bad input")

    monkeypatch.setattr(runner, "build_context", unparsable)
    report = run_checks(b"x", **TRUST)
    (check,) = report.checks
    assert check.found == "the validator failed while parsing: ValueError: bad input"
    (french,) = _french(report, "MIME-004")
    assert french == "le validateur a échoué en analysant le message : « ValueError: bad input »"
    in_french = " ".join(text_table(report, width=200, lang="fr").split())
    assert "the validator failed" not in in_french and "can walk" not in in_french


# --- the unsupported algorithm's detail, the token's refusal, the decryption error, the
# recipients, the parse failure's title and the signer's unreadable DSA key (the lower layers
# record codes and values; the check layer words them)


def _envelope_der() -> tuple[bytes, bytes]:
    head, _, body = ENCRYPTED.partition(b"\r\n\r\n")
    return head, base64.b64decode(b"".join(body.split()))


def _enveloped(der: bytes) -> bytes:
    head, _ = _envelope_der()
    return head + b"\r\n\r\n" + base64.encodebytes(der).replace(b"\n", b"\r\n")


_AES256_CBC = bytes.fromhex("301d060960864801650304012a0410")  # then the 16-byte IV
_SHA256 = bytes.fromhex("0609608648016503040201")


def _cipher_replaced(algorithm: bytes) -> bytes:
    """The reference envelope, its AES-256-CBC AlgorithmIdentifier (31 bytes) replaced."""
    _, der = _envelope_der()
    at = der.index(_AES256_CBC)
    assert len(algorithm) == 31
    return _enveloped(der[:at] + algorithm + der[at + 31 :])


def _english_free(text: str) -> None:
    assert not _ENGLISH.search(_QUOTED.sub("", text)), text


def test_an_rc2_strength_without_a_name_is_french() -> None:
    # RC2-CBCParameter { rc2ParameterVersion 120 (64 effective bits), iv (12 bytes) }
    rc2 = bytes.fromhex("301d06082a864886f70d03023011020178040c") + bytes(12)
    report = run_checks(_cipher_replaced(rc2), identity_dir=PRO01.directory, **TRUST)
    (check,) = report.by_id("ENC-001")
    assert check.status == "ERROR"
    assert check.found == "1.2.840.113549.3.2 (RC2 with 64 effective bits)"  # the JSON's
    (french,) = _french(report, "ENC-001")
    assert french == "1.2.840.113549.3.2 (RC2 à 64 bits effectifs)"
    (french,) = _french(report, "ENC-004")
    assert french == (
        "non déchiffré : algorithme de chiffrement du contenu non pris en charge : "
        "1.2.840.113549.3.2 (RC2 à 64 bits effectifs)"
    )
    for rule_id in ("ENC-001", "ENC-004", "ENC-005"):
        for text in _french(report, rule_id):
            assert "effective" not in text and "«" not in text, text


@pytest.mark.parametrize(
    ("replaced", "english", "french"),
    [
        (1, "OAEP with sha384", "OAEP avec sha384"),  # the hash and MGF1's: SHA-384
        (2, "OAEP sha384 with MGF1-sha256", "OAEP sha384 avec MGF1-sha256"),
    ],
)
def test_an_oaep_without_a_name_is_french(replaced: int, english: str, french: str) -> None:
    _, der = _envelope_der()
    sha384 = _SHA256[:-1] + b"\x02"
    if replaced == 1:
        der = der.replace(_SHA256, sha384)
    else:  # the first of each recipient's pair: the OAEP hash, not MGF1's
        mgf1 = bytes.fromhex("0500a11c")  # the hash's NULL parameters, then [1] maskGenAlgorithm
        der = der.replace(_SHA256 + mgf1, sha384 + mgf1)
    report = run_checks(_enveloped(der), identity_dir=PRO01.directory, **TRUST)
    oaep = "1.2.840.113549.1.1.7"
    checks = report.by_id("ENC-002")
    assert [c.found for c in checks] == [f"recipient {i}: {oaep} ({english})" for i in (1, 2)], (
        checks
    )
    assert _french(report, "ENC-002") == [f"destinataire {i} : {oaep} ({french})" for i in (1, 2)]
    (said,) = _french(report, "ENC-004")
    assert said == (
        f"non déchiffré : algorithme de transport de clé non pris en charge : {oaep} ({french})"
    )


def test_every_unsupported_detail_has_its_french() -> None:
    from conformance.check.i18n import UNSUPPORTED_FR, unsupported_text
    from conformance.smime.algorithms import UnsupportedAlgorithm, UnsupportedCode

    assert set(UNSUPPORTED_FR) == set(get_args(UnsupportedCode))
    values = (
        ("mgf", "1.2.3"),
        ("salt", 2000),
        ("max", 1024),
        ("structure", "RSAES-OAEP-params"),
        ("said", "asn1crypto"),
        ("bits", 64),
        ("version", 7),
        ("digest", "sha384"),
        ("mgf_digest", "sha1"),
    )
    for code in get_args(UnsupportedCode):
        exc = UnsupportedAlgorithm("key-transport", "1.2.3", "english", code=code, values=values)
        said = unsupported_text(exc)
        assert said.en == "english" and "{" not in said.fr, code
        _english_free(said.fr)


def test_every_decryption_error_has_its_french() -> None:
    from conformance.check.i18n import DECRYPTION_FR, decryption_text
    from conformance.smime.ciphers import DecryptionCode, DecryptionError

    assert set(DECRYPTION_FR) == set(get_args(DecryptionCode))
    values = (
        ("cipher", "aes256-cbc"),
        ("length", 17),
        ("expected", 16),
        ("minimum", 8),
        ("maximum", 128),
    )
    for code in get_args(DecryptionCode):
        said = decryption_text(DecryptionError("english", code, values))
        assert said.en == "english" and "{" not in said.fr, code
        _english_free(said.fr)
    rc2 = DecryptionError("RC2 key of 0 bytes", "rc2-key-length", (("length", 0),))
    assert decryption_text(rc2).fr == "clé RC2 de 0 octet(s) (RC2 en prend de 1 à 128)"


def test_content_that_cannot_decrypt_says_why_in_french() -> None:
    # des-ede3-cbc with a 17-byte IV: refused before the key is used (RFC 3218 2.3)
    des3 = bytes.fromhex("301d06082a864886f70d03070411") + bytes(17)
    report = run_checks(_cipher_replaced(des3), identity_dir=PRO01.directory, **TRUST)
    (check,) = report.by_id("ENC-004")
    assert check.status == "ERROR" and "des-ede3-cbc IV of 17 bytes, expected 8" in check.found
    (french,) = _french(report, "ENC-004")
    assert french == (
        "non déchiffré : le contenu chiffré ne convient pas à des-ede3-cbc : "
        "IV des-ede3-cbc de 17 octets, 8 attendus ; refusé avant tout usage de la clé"
    )


def test_the_token_refusals_are_french(token: pytest.MonkeyPatch) -> None:
    library = "SoftHSM Implementation of PKCS11 2.6"
    for refusal, english, said in (
        (
            UnsupportedMechanism.refused(
                "CKM_RSA_PKCS_OAEP", "SHA-256", library, "CKR_ARGUMENTS_BAD"
            ),
            f"CKM_RSA_PKCS_OAEP with SHA-256 ({library} returned CKR_ARGUMENTS_BAD)",
            f"CKM_RSA_PKCS_OAEP avec SHA-256 (« {library} » répond CKR_ARGUMENTS_BAD)",
        ),
        (
            UnsupportedMechanism.refused("CKM_RSA_PKCS", "", library),
            f"CKM_RSA_PKCS ({library} does not list it)",
            f"CKM_RSA_PKCS (« {library} » ne le liste pas)",
        ),
    ):
        # the English, as the matrix and the JSON show it, is the one it always was
        assert str(refusal) == f"token does not support mechanism {english}"
        token.setattr(check_context, "_open_key", lambda directory, r=refusal: (_Key(r), None))
        report = run_checks(ENCRYPTED, identity_dir=PRO01.directory, **TRUST)
        (check,) = report.by_id("ENC-004")
        assert check.status == "SUCCESS"
        assert f"token does not support mechanism {english}); decrypted with" in check.found
        (french,) = _french(report, "ENC-004")
        assert f"le jeton ne prend pas en charge le mécanisme {said}" in french
        stand_in = refusal.held_by("CPS-card stand-in (softhsm)")
        assert stand_in.values == refusal.values and str(stand_in).startswith(
            f"CPS-card stand-in (softhsm) does not support mechanism {english}"
        )


def test_the_recipients_are_named_in_french() -> None:
    report = run_checks(ENCRYPTED, identity_dir=PRO01.directory, **TRUST)
    (check,) = report.by_id("ENC-003")
    assert check.found.startswith("2 recipient(s): issuer ") and ", serial 0x" in check.found
    (french,) = _french(report, "ENC-003")
    assert french.startswith("2 destinataire(s) : émetteur ")
    assert ", numéro de série 0x" in french and " ; émetteur " in french
    assert "issuer" not in french and "serial" not in french


def test_an_identifier_is_french() -> None:
    from conformance.check.i18n import identifier_text
    from conformance.core.cms import Identifier

    by_key = identifier_text(Identifier(b"\x01\xab", b"", 0))
    assert by_key.en == "subject key identifier 01ab"
    assert by_key.fr == "identifiant de clé du sujet 01ab"
    unreadable = identifier_text(Identifier(None, b"\x30\x03\x02\x01", 16))
    assert unreadable.en == "issuer an unreadable name (4 bytes), serial 0x10"
    assert unreadable.fr == "émetteur illisible (4 octets), numéro de série 0x10"


def test_the_parse_failure_has_a_title_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    def unparsable(message: bytes, **options: object) -> None:
        raise ValueError("bad input")

    monkeypatch.setattr(runner, "build_context", unparsable)
    report = run_checks(b"x", **TRUST)
    (check,) = report.checks
    assert check.title == "the message could not be parsed"  # the JSON's
    in_french = " ".join(text_table(report, width=200, lang="fr").split())
    assert "le message n'a pas pu être analysé" in in_french
    assert get_rule("MIME-004") is not None
    from conformance.check.i18n import TITLES_FR

    assert TITLES_FR["MIME-004"] not in in_french  # not the boundaries' rule's title
    assert "the message could not be parsed" in text_table(report, width=200, lang="en")


_ALICE_DSA = REPO_DIR / "vectors" / "rfc4134" / "AliceDSSSignByCarlNoInherit.cer"


def _dsa_spki(key: bytes, *, parameters: bool) -> bytes:
    """A DSA SubjectPublicKeyInfo of BIT STRING `key`: with RFC 4134 Alice's parameters,
    or none (RFC 3279 2.3.2: inherited from the issuer)."""
    from asn1crypto import x509 as asn1_x509

    if not parameters:
        return _spki("1.2.840.10040.4.1", key)
    alice = asn1_x509.Certificate.load(_ALICE_DSA.read_bytes())
    algorithm = bytes(alice["tbs_certificate"]["subject_public_key_info"]["algorithm"].dump())
    inner = algorithm + b"\x03" + bytes([len(key) + 1, 0]) + key
    return b"\x30\x82" + len(inner).to_bytes(2, "big") + inner


def _dsa_signer(spki: bytes) -> SignerFacts:
    """RFC 4134's DSA signer (Alice), her SubjectPublicKeyInfo replaced by `spki`."""
    from asn1crypto import keys
    from asn1crypto import x509 as asn1_x509

    cert = asn1_x509.Certificate.load(_ALICE_DSA.read_bytes())
    tbs = cert["tbs_certificate"].copy()
    tbs["subject_public_key_info"] = keys.PublicKeyInfo.load(spki)
    changed = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": cert["signature_algorithm"],
            "signature_value": cert["signature_value"],
        }
    )
    signer = SignerFacts(1, Bilingual.same("x"), "sha1", True, "1.2.840.10040.4.3", None)
    signer.certificate = asn1_x509.Certificate.load(changed.dump())
    return signer


@pytest.mark.parametrize(
    ("spki", "english", "french"),
    [
        (  # no DSA parameters, and no issuer in the message to take them of
            _dsa_spki(b"\x02\x01\x05", parameters=False),
            "signer: DSA key without parameters and no issuer certificate to inherit them from",
            "clé DSA sans paramètres et aucun certificat d'émetteur dont les hériter "
            "(RFC 3279 2.3.2)",
        ),
        (  # the parameters kept, the key an OCTET STRING: cryptography refuses it
            _dsa_spki(b"\x04\x01\x00", parameters=True),
            "signer: signer public key algorithm 1.2.840.10040.4.1 is not readable: ",
            "l'algorithme de clé publique 1.2.840.10040.4.1 du signataire n'est pas lisible : « ",
        ),
    ],
)
def test_an_unreadable_dsa_key_is_french(spki: bytes, english: str, french: str) -> None:
    ok, why = _verify_dsa(_dsa_signer(spki), [], b"\x30\x00", b"data", "sha1")
    assert ok is None and why is not None
    assert why.en.startswith(english)
    assert why.fr.startswith(french)
    _english_free(why.fr)


# --- a key that does not open, the author problems, a SignerInfo that does not parse (the
# token, `core.author` and the CMS reader record codes, values and places; the check layer
# words them), and a raw 8-bit From: shown as what its bytes are

# English words the texts of this section would leave in a French report
_MORE_ENGLISH = re.compile(
    r"\b(holds|mailbox(es)?|none|field|there|signer|token|refused|expected|installed|"
    r"missing|cannot|log|private|key|labelled|failed|directory|layout)\b"
)


def _no_english(text: str) -> None:
    bare = _QUOTED.sub("", text)
    assert not _ENGLISH.search(bare) and not _MORE_ENGLISH.search(bare), text


def _token_error(code: TokenErrorCode) -> TokenError:
    values: tuple[tuple[str, str | int], ...] = (
        ("variable", "OSM_CONFORMANCE_TOKEN"),
        ("value", "bogus"),
        ("missing", "/usr/lib/softhsm/libsofthsm2.so"),
        ("package", "softhsm2"),
        ("directory", "/tmp/x"),
        ("path", "/tmp/x/encrypt.pem"),
        ("role", "encrypt"),
        ("token", "OSM-TEST"),
        ("ckr", "CKR_PIN_INCORRECT"),
        ("label", ""),
        ("module", "/usr/lib/softhsm/libsofthsm2.so"),
        ("id", "01ab"),
        ("pin", 0),
        ("said", "ERROR: the token is full"),
    )
    return TokenError("the English of it", code=code, values=values)


def test_every_token_error_has_its_french() -> None:
    assert set(TOKEN_FR) == set(get_args(TokenErrorCode))
    for code in get_args(TokenErrorCode):
        said = token_error_text(_token_error(code))
        assert said.en == "the English of it", code
        _no_english(said.fr)
    assert token_error_text(_token_error("other")).fr == "« the English of it »"
    # an error that records no code of the token's is quoted as it is
    assert token_error_text(UserError("the user's", code="elsewhere")).fr == "« the user's »"
    assert token_error_text(RuntimeError("boom")).fr == "« boom »"


def _enc004(report: CheckReport) -> tuple[str, str]:
    """ENC-004 of a key that did not open: not checked (the suite's setup, not the message)."""
    (check,) = report.by_id("ENC-004")
    assert check.status == "INFO" and check.found.startswith("not checked: ")
    (french,) = _french(report, "ENC-004")
    _no_english(french)
    return check.found, french


def test_a_token_setting_that_names_no_token_is_french(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    identity = shutil.copytree(PRO01.directory, tmp_path / "pro01")  # not in the key cache
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "bogus")
    english, french = _enc004(run_checks(ENCRYPTED, identity_dir=identity, **TRUST))
    assert english == "not checked: OSM_CONFORMANCE_TOKEN='bogus': expected 'softhsm' or 'software'"
    assert french == (
        "non vérifié : aucun jeton utilisable : OSM_CONFORMANCE_TOKEN='bogus' ne désigne aucun "
        "jeton (« softhsm » ou « software »)"
    )
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "softhsm")
    monkeypatch.setenv("OSM_CONFORMANCE_SOFTHSM_MODULE", str(tmp_path / "libsofthsm2.so"))
    english, french = _enc004(run_checks(ENCRYPTED, identity_dir=identity, **TRUST))
    assert english.startswith("not checked: SoftHSM2 is not installed (")
    assert french.startswith("non vérifié : aucun jeton utilisable : SoftHSM2 n'est pas installé")


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("bogus", "OSM_CONFORMANCE_TOKEN='bogus': expected 'softhsm' or 'software'"),
        ("softhsm", "SoftHSM2 is not installed ("),  # asked for, and missing: not exit 3
    ],
)
def test_check_refuses_a_token_setting_that_names_no_token(
    value: str,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from conformance.cli import main

    message = str(REPO_DIR / "vectors" / "golden" / "reference" / "encrypt.eml")
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", value)
    monkeypatch.setenv("OSM_CONFORMANCE_SOFTHSM_MODULE", str(tmp_path / "libsofthsm2.so"))
    assert main(["check", message, "--identity", str(PRO01.directory)]) == 2
    captured = capsys.readouterr()
    assert not captured.out  # no report: the setting is the user's to fix
    assert f"error: --identity {PRO01.directory}: no token to open its key: {said}" in captured.err
    # without --identity no key is opened: the setting does not matter
    assert main(["check", message, "--lang", "en"]) == 3
    assert "Verdict: incomplete" in capsys.readouterr().out


def test_a_missing_key_file_is_french(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    identity = shutil.copytree(PRO01.directory, tmp_path / "pro01")
    (identity / "encrypt.key.pem").unlink()
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    english, french = _enc004(run_checks(ENCRYPTED, identity_dir=identity, **TRUST))
    assert english.endswith(
        f"{identity}/encrypt.key.pem: no encrypt private key in this identity directory"
    )
    assert french.endswith(
        f"{identity}/encrypt.key.pem : pas de clé privée de chiffrement dans ce répertoire "
        "d'identité"
    )


needs_softhsm = pytest.mark.skipif(not softhsm.available(), reason="SoftHSM2 not installed")


@needs_softhsm
@pytest.mark.softhsm
def test_what_softhsm_says_when_a_key_does_not_open_is_french(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from conformance import token
    from conformance.token import pkcs11 as p11

    setup = softhsm.provision([PRO01.directory])
    with pytest.raises(KeyNotFound) as no_token:
        p11.Pkcs11Token(setup.module, "NO-SUCH-TOKEN", setup.pin)
    with pytest.raises(KeyNotFound) as no_key:
        setup.token().key_by_id(b"\x01\xab")
    # a wrong PIN in a child process: a login is per process
    script = (
        "from conformance.check.i18n import token_error_text\n"
        "from conformance.token import open_key, TokenError\n"
        "try:\n"
        "    open_key('pkcs11:object=pro01-encrypt?pin-value=0000', 'encrypt')\n"
        "except TokenError as exc:\n"
        "    print(exc.code, token_error_text(exc).fr, sep='|')\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(setup.conf)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert (
        done.stdout.strip()
        == "pin-refused|jeton « OSM-TEST » : code PIN refusé (CKR_PIN_INCORRECT)"
    )
    for caught, english, french in (
        (
            no_token.value,
            "no token labelled 'NO-SUCH-TOKEN' in PKCS#11 module ",
            "aucun jeton nommé « NO-SUCH-TOKEN » dans le module PKCS#11 ",
        ),
        (
            no_key.value,
            "token 'OSM-TEST': no private key with id 01ab",
            "jeton « OSM-TEST » : aucune clé privée d'identifiant 01ab",
        ),
    ):
        assert str(caught).startswith(english)  # the English it always was
        monkeypatch.setattr(token, "open_key", lambda directory, role, e=caught: _raise(e))
        identity = shutil.copytree(PRO01.directory, tmp_path / english[:8].replace(" ", "-"))
        found, said = _enc004(run_checks(ENCRYPTED, identity_dir=identity, **TRUST))
        assert found.endswith(f"cannot open the encryption key of {identity}: {caught}")
        assert said.startswith(
            f"non vérifié : impossible d'ouvrir la clé de chiffrement de {identity} : {french}"
        )


def _raise(exc: Exception) -> None:
    raise exc


_SIGNED = signed_letter("pro01", [PKI.intermediate])


def _from(field: bytes, sender: bytes | None = None) -> bytes:
    """The signed message with its From: field replaced (it is outside the signature), and a
    Sender: field added."""
    head, _, body = _SIGNED.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"from:")]
    if field:
        lines.insert(0, b"From: " + field)
    if sender is not None:
        lines.insert(1, b"Sender: " + sender)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


_PRO01 = PRO01.email.encode()
_PRO03 = PKI.identities["pro03"].email.encode()


@pytest.mark.parametrize(
    ("message", "code", "french"),
    [
        (_from(b""), "no-from", "aucun champ From"),
        (_from(_PRO01 + b"\r\nFrom: " + _PRO03), "from-fields", "2 champs From"),
        (_from(b"(" * 65 + b")" * 65 + _PRO01), "unreadable", "le champ From est illisible"),
        (
            _from(_PRO03 + b", " + _PRO01),
            "no-sender",
            "From: contient 2 adresses et aucun champ Sender n'en désigne une",
        ),
        (
            _from(_PRO03 + b", " + _PRO01, _PRO01 + b"\r\nSender: " + _PRO03),
            "sender-fields",
            "From: contient 2 adresses et il y a 2 champs Sender",
        ),
        (
            _from(_PRO03 + b", " + _PRO01, _PRO01 + b", " + _PRO03),
            "sender-mailboxes",
            "From: contient 2 adresses et Sender: 2 adresse(s) au lieu d'une",
        ),
    ],
)
def test_the_author_problems_are_french(message: bytes, code: str, french: str) -> None:
    report = run_checks(message, expected_sender=PRO01.email, **TRUST)
    checks = {rule_id: report.by_id(rule_id) for rule_id in ("HDR-008", "CERT-007")}
    for rule_id, (check,) in checks.items():
        assert check.status != "SUCCESS", (rule_id, check.found)
        (said,) = _french(report, rule_id)
        _no_english(said)
        assert french in said, (rule_id, said)
        assert "From: none" not in said
    (check,) = checks["HDR-008"]
    assert code != "no-from" or check.found_fr == "From: aucune (aucun champ From)"


def test_hdr001_words_the_author_problem_in_french() -> None:
    report = run_checks(_from(_PRO03 + b", " + _PRO01), **TRUST)
    (check,) = report.by_id("HDR-001")
    shown = f"{PKI.identities['pro03'].email}, {PRO01.email}"
    assert check.found == f"From: holds 2 mailboxes and there is no Sender: field: {shown}"
    (french,) = _french(report, "HDR-001")
    _no_english(french)
    assert french == (f"From: contient 2 adresses et aucun champ Sender n'en désigne une : {shown}")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("J\u00e9r\u00f4me".encode(), "From: Jérôme BERNARD"),  # UTF-8: read as such
        ("J\u00e9r\u00f4me".encode("latin-1"), "From: J\\xe9r\\xf4me BERNARD"),  # not: each byte
    ],
)
def test_a_raw_8bit_from_says_what_its_bytes_are(name: bytes, shown: str) -> None:
    report = run_checks(_from(name + b" BERNARD <" + _PRO01 + b">"), **TRUST)
    (check,) = report.by_id("HDR-001")
    assert check.found == f"{shown} <{PRO01.email}>" and check.found_fr is None
    assert "\ufffd" not in text_table(report, width=200, lang="fr")
    assert report.by_id("HDR-006")[0].status == "ERROR"  # the raw bytes still named there
    # The JSON summary says the same octets: U+FFFD there lost them too.
    assert "From: " + report.message["headers"]["from"] == f"{shown} <{PRO01.email}>"


def _signer_unparsable() -> bytes:
    """The signed message, its SignerInfo's sid an [5] (neither of SignerIdentifier's two
    alternatives): the SignedData reads up to its first signer, which does not parse."""
    from asn1crypto import cms as asn1_cms

    head, _, rest = _SIGNED.rpartition(b'filename="smime.p7s"\r\n\r\n')
    encoded, _, tail = rest.partition(b"\r\n--")
    der = base64.b64decode(b"".join(encoded.split()))
    info = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0].dump()
    sid = der.index(info) + len(info) - len(asn1_cms.SignerInfo.load(info).contents) + 3
    assert der[sid] == 0x30  # after version INTEGER 1
    broken = der[:sid] + b"\xa5" + der[sid + 1 :]
    encoded = base64.encodebytes(broken).replace(b"\n", b"\r\n")
    return head + b'filename="smime.p7s"\r\n\r\n' + encoded + b"\r\n--" + tail


def test_a_signer_that_does_not_parse_is_named_in_french() -> None:
    report = run_checks(_signer_unparsable(), **TRUST)
    (check,) = report.by_id("CMS-001")
    assert check.status == "ERROR"
    assert check.found.startswith("part 1.2: signer 1 does not parse: invalid CMS/ASN.1: ")
    (french,) = _french(report, "CMS-001")
    _no_english(french)
    assert french.startswith("partie 1.2 : SignerInfo 1 ne s'analyse pas : CMS/ASN.1 non valide")
