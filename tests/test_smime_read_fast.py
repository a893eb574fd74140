"""The fast CMS walk against the asn1crypto reading; the fast header splitter against the stdlib.

The reader trusts the walk of `core.cms` only where it extracts exactly what
the asn1crypto reading (`core.cms.from_asn1crypto`) extracts: both readings
of the same bytes must agree, down to the read results (outcomes, error
codes and messages), on messages built with random send options, on mutated
bytes and on the RFC 4134 corpus (DER and BER, all the walk's). The
wider differential test over the golden corpus is tests/test_core_cms.py.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import asdict
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any, get_args

from asn1crypto import cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.core import certificates
from conformance.core.cms import (
    ContentInfo,
    EnvelopedParts,
    Parts,
    SignedParts,
    from_asn1crypto,
    walk,
)
from conformance.core.mime import _parse_headers
from conformance.core.vocabulary import ContentCipher
from conformance.paths import RFC4134_DIR
from conformance.pki.model import TestPKI, load_pki
from conformance.smime import cms_build, cms_read
from conformance.smime.options import (
    ALL_SIGNED_ATTRIBUTES,
    EncryptOptions,
    ReceiveOptions,
    SignOptions,
)
from conformance.smime.read_errors import ReadError
from conformance.status import Algorithms
from conformance.token.software import SoftwareKey

SETTINGS = settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CONTENT = b"Content-Type: text/plain\r\n\r\nfast walk\r\n"
MOMENT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
IDENTITIES = ("pro01", "pro02", "pro03", "pro04")
CIPHERS = get_args(ContentCipher)


@functools.cache
def _pki() -> TestPKI:
    return load_pki()


@functools.cache
def _key(identity: str, role: str) -> SoftwareKey:
    person = _pki().identities[identity]
    return SoftwareKey(person.private_key(role), person.certificate(role), f"{identity}-{role}")  # type: ignore[arg-type]


# --- the two readings -------------------------------------------------------------------


def _slow(der: bytes) -> ContentInfo:
    return from_asn1crypto(der)


def _agree(der: bytes) -> ContentInfo:
    fast = walk(der)
    assert fast is not None, "the fast walk refused DER it should read"
    assert fast == _slow(der)
    return fast


# --- reading both ways ---------------------------------------------------------------


def _signed_outcome(content: Any) -> Any:
    pool = cms_read.CertificatePool([], None, [certificates.asn1_certificate(_pki().root)])
    found = Algorithms()
    try:
        result = cms_read.read_signed_data(
            content, "m", detached=None, pool=pool, options=ReceiveOptions(), found=found
        )
    except ReadError as exc:
        return ("raised", exc.code, exc.message, asdict(found))
    signers = [
        (
            o.index,
            o.digest,
            o.signature,
            None if o.error is None else (o.error.code, o.error.message),
            None if o.certificate is None else bytes(o.certificate.dump()),
        )
        for o in result.signers
    ]
    return (result.content, result.content_type, len(result.certificates), signers, asdict(found))


def _decrypted_outcome(content: Any, keys: list[SoftwareKey]) -> Any:
    found = Algorithms()
    try:
        done = cms_read.decrypt_enveloped(
            content, "m", keys=keys, options=ReceiveOptions(), found=found
        )
    except ReadError as exc:
        return ("raised", exc.code, exc.message, asdict(found))
    return (asdict(done), asdict(found))


def _both_readings_agree(der: bytes, keys: list[SoftwareKey]) -> None:
    """When the fast walk reads `der`, reading its parts gives what reading asn1crypto's gives."""
    fast = walk(der)
    if fast is None:
        return
    slow_content: Parts = _slow(der).content
    if isinstance(fast[1], SignedParts):
        assert _signed_outcome(fast[1]) == _signed_outcome(slow_content)
    else:
        assert _decrypted_outcome(fast[1], keys) == _decrypted_outcome(slow_content, keys)


def _budget() -> Any:
    from conformance.smime.options import Limits
    from conformance.smime.read_errors import Budget

    return Budget(Limits())


# --- generated messages --------------------------------------------------------------

sign_options = st.builds(
    SignOptions,
    digest=st.sampled_from(["sha1", "sha256", "sha384", "sha512"]),
    algorithm=st.sampled_from(["rsa-pkcs1v15", "rsa-pss"]),
    certificates=st.sampled_from(["none", "signer", "chain"]),
    signed_attributes=st.sampled_from(
        [
            frozenset(),
            ALL_SIGNED_ATTRIBUTES,
            ContentCipher,
            frozenset({"content-type", "message-digest"}),
            frozenset({"content-type", "message-digest", "signing-time"}),
        ]
    ),
    signer_identifier=st.sampled_from(["issuer-serial", "ski"]),
)
encrypt_options = st.builds(
    EncryptOptions,
    content=st.sampled_from(CIPHERS),
    key_transport=st.sampled_from(["rsa-pkcs1v15", "rsa-oaep-sha1", "rsa-oaep-sha256"]),
    recipient_identifier=st.sampled_from(["issuer-serial", "ski"]),
)
recipient_lists = st.lists(st.sampled_from(IDENTITIES), min_size=1, max_size=4, unique=True)


def _signed(options: SignOptions, signer: str, detached: bool) -> bytes:
    return cms_build.build_signed_data(
        CONTENT,
        _key(signer, "sign"),
        options,
        detached=detached,
        chain=_pki().intermediates(),
        signing_time=MOMENT,
        capabilities=("aes256-cbc", "aes128-gcm"),
    )


@SETTINGS
@given(sign_options, st.sampled_from(IDENTITIES), st.booleans())
def test_signed_data_fast_and_asn1crypto_agree(
    options: SignOptions, signer: str, detached: bool
) -> None:
    der = _signed(options, signer, detached)
    content_type, parts, _ = _agree(der)
    assert content_type == "1.2.840.113549.1.7.2"
    assert isinstance(parts, SignedParts)
    assert (parts.content is None) == detached
    if not detached:
        _both_readings_agree(der, [])


@SETTINGS
@given(encrypt_options, recipient_lists, st.booleans(), st.integers(0, 3))
def test_enveloped_data_fast_and_asn1crypto_agree(
    options: EncryptOptions, recipients: list[str], auth_attrs: bool, me: int
) -> None:
    certificates = [_pki().identities[r].certificate("encrypt") for r in recipients]
    if options.content.endswith("gcm") and auth_attrs:
        attrs = cms.CMSAttributes([cms.CMSAttribute({"type": "content_type", "values": ["data"]})])
        der = cms_build.build_auth_enveloped_data(
            CONTENT, certificates, options, auth_attributes=attrs
        )
    else:
        der = cms_build.build_enveloped_data(CONTENT, certificates, options)
    _, parts, _ = _agree(der)
    assert isinstance(parts, EnvelopedParts)
    assert parts.aead == options.content.endswith("gcm")
    assert len(parts.recipients) == len(recipients)
    keys = [_key(IDENTITIES[me], "encrypt")]
    _both_readings_agree(der, keys)


@SETTINGS
@given(
    st.sampled_from(["signed", "enveloped", "gcm"]),
    st.data(),
)
def test_mutated_cms_reads_the_same_both_ways(kind: str, data: st.DataObject) -> None:
    """Flipped, cut or inserted bytes: the fast walk refuses, or reads what asn1crypto reads."""
    if kind == "signed":
        der = _signed(SignOptions(), "pro01", False)
    else:
        cipher = "aes128-gcm" if kind == "gcm" else "aes128-cbc"
        options = EncryptOptions(content=cipher)  # type: ignore[arg-type]
        der = cms_build.build_enveloped_data(
            CONTENT, [_pki().identities["pro02"].certificate("encrypt")], options
        )
    position = data.draw(st.integers(0, len(der) - 1))
    action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    if action == "flip":
        mutated = der[:position] + bytes([der[position] ^ data.draw(st.integers(1, 255))])
        mutated += der[position + 1 :]
    elif action == "cut":
        mutated = der[:position]
    else:
        mutated = der[:position] + bytes([data.draw(st.integers(0, 255))]) + der[position:]
    fast = walk(mutated)
    if fast is not None:
        assert fast == _slow(mutated)
        _both_readings_agree(mutated, [_key("pro02", "encrypt")])


def test_the_reader_takes_the_fast_path_for_plain_der() -> None:
    der = _signed(SignOptions(), "pro01", False)
    _, content, _ = cms_read.read_content_info(der, "m", _budget())
    assert isinstance(content, SignedParts)


# --- RFC 4134: DER and BER (3.1, 4.5) read by the walk alike -------------------------


def test_rfc4134_corpus() -> None:
    samples = sorted(RFC4134_DIR.glob("[0-9]*.bin"))
    ber = [p.name for p in samples if p.read_bytes()[1:2] == b"\x80"]  # indefinite length
    assert ber == ["3.1.bin", "4.5.bin"]
    for path in samples:
        der = path.read_bytes()
        fast = walk(der)
        assert fast is not None, path.name
        assert fast == _slow(der), path.name
        _, content, _ = cms_read.read_content_info(der, path.name, _budget())
        assert content is not None


# --- the header splitter -------------------------------------------------------------

_STDLIB = BytesHeaderParser(policy=compat32)
field_names = st.sampled_from(
    [b"Content-Type", b"content-transfer-encoding", b"From", b"X-A", b"Subject"]
)
values = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))
lines = st.one_of(
    st.tuples(field_names, st.sampled_from([b":", b": ", b" :", b":\t"]), values).map(b"".join),
    values.map(lambda v: b" " + v),
    values.map(lambda v: b"\t" + v),
    st.just(b"From someone"),
    st.just(b"From : x"),
    values.map(lambda v: b"Bad\rField: " + v),
)


@settings(derandomize=True, max_examples=300)
@given(st.lists(lines, max_size=6), st.sampled_from([b"\r\n", b"\n"]), st.booleans())
def test_header_splitter_matches_the_stdlib(
    header_lines: list[bytes], newline: bytes, final_newline: bool
) -> None:
    header = newline.join(header_lines) + (newline if final_newline and header_lines else b"")
    ours = _parse_headers(header)
    theirs = _STDLIB.parsebytes(header + b"\r\n")
    assert ours._headers == theirs._headers  # type: ignore[attr-defined]
    assert ours.get_unixfrom() == theirs.get_unixfrom()
    assert ours.get_content_type() == theirs.get_content_type()
    assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects]
