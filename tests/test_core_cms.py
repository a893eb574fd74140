"""The one CMS reader (`core.cms`), the OID registry and the certificate rules of `core`.

The differential test mutates a corpus of real CMS objects (every one carried
by the golden messages, plus engine-made signed, enveloped and
authEnveloped data) with byte flips, cuts, inserted bytes, changed lengths
and BER re-encodings, and requires of the two readings: the fast walk and
the asn1crypto reading give the same parts on every input both take; the
asn1crypto reading never rejects what the walk takes; nothing but CmsError
ever escapes.
"""

from __future__ import annotations

import ast
import base64
import datetime as dt
import email
import functools
import re
from collections.abc import Callable, Iterable
from email import policy

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.agents import cms_inspect
from conformance.core import certificates, oids
from conformance.core import cms as core_cms
from conformance.core.cms import (
    CmsError,
    ContentInfo,
    DataParts,
    EnvelopedParts,
    SignedParts,
    element_end,
    from_asn1crypto,
    parse,
    walk,
)
from conformance.core.vocabulary import ContentCipher, Role
from conformance.paths import REPO_DIR, RFC4134_DIR, VECTORS_DIR
from conformance.pki.model import TestPKI, load_pki
from conformance.smime import cms_build, der
from conformance.smime.options import EncryptOptions, Limits, ReceiveOptions, SignOptions
from conformance.smime.read_errors import Budget, ReadError
from conformance.smime.receive import describe_signer, read_message
from conformance.status import ErrorCode
from conformance.token.software import SoftwareKey

CONTENT = b"Content-Type: text/plain\r\n\r\none reader\r\n"
MOMENT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
DIFFERENTIAL = settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@functools.cache
def _pki() -> TestPKI:
    return load_pki()


def _key(identity: str, role: Role) -> SoftwareKey:
    person = _pki().identities[identity]
    return SoftwareKey(person.private_key(role), person.certificate(role), f"{identity}-{role}")


def _signed(detached: bool = False, options: SignOptions | None = None) -> bytes:
    return cms_build.build_signed_data(
        CONTENT,
        _key("pro01", "sign"),
        options if options is not None else SignOptions(),
        detached=detached,
        chain=_pki().intermediates(),
        signing_time=MOMENT,
    )


def _enveloped(cipher: ContentCipher) -> bytes:
    certificate = _pki().identities["pro02"].certificate("encrypt")
    return cms_build.build_enveloped_data(
        CONTENT,
        [certificate],
        EncryptOptions(content=cipher),
    )


def _golden_cms() -> list[bytes]:
    """Every CMS object carried by a golden message (outer layers: nothing is decrypted)."""
    found: list[bytes] = []
    for path in sorted((VECTORS_DIR / "golden").glob("*/*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.compat32)
        for part in message.walk():
            if "pkcs7" in part.get_content_type():
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes) and payload:
                    found.append(payload)
    return found


@functools.cache
def corpus() -> tuple[bytes, ...]:
    made = [
        _signed(),
        _signed(detached=True),
        _signed(options=SignOptions(algorithm="rsa-pss", signer_identifier="ski")),
        _enveloped("aes128-cbc"),
        _enveloped("aes256-gcm"),
        _enveloped("rc2-40-cbc"),
    ]
    data = der.sequence(der.oid(oids.DATA), der.tlv(0xA0, der.octet_string(CONTENT)))
    # RFC 4134 adds DigestedData, EncryptedData, DSA signers and NSS-style BER when present.
    rfc4134 = [p.read_bytes() for p in sorted(RFC4134_DIR.glob("[0-9]*.bin"))]
    return tuple(dict.fromkeys([*_golden_cms(), *rfc4134, data, *made]))


# --- BER re-encoding ------------------------------------------------------------------


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the definite-length DER element at `pos`."""
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return data[pos], start, start + length


def _children(data: bytes) -> list[bytes]:
    found = []
    pos = 0
    while pos < len(data):
        _, _, end = _tlv(data, pos)
        found.append(data[pos:end])
        pos = end
    return found


def _indefinite(tag: int, children: list[bytes]) -> bytes:
    return bytes([tag, 0x80]) + b"".join(children) + b"\x00\x00"


def _chunked(tag: int, value: bytes, size: int, definite: bool) -> bytes:
    """A string as a constructed one: primitive OCTET STRING chunks of `size` bytes."""
    chunks = [der.tlv(0x04, value[i : i + size]) for i in range(0, len(value), size)] or [
        der.tlv(0x04, b"")
    ]
    if definite:
        return der.tlv(tag | 0x20, b"".join(chunks))
    return _indefinite(tag | 0x20, chunks)


def to_ber(data: bytes, chunk: int, definite_chunks: bool = False) -> bytes:
    """The BER NSS writes: indefinite lengths down the content path, the content in chunks.

    ContentInfo, the SignedData / EnvelopedData, the EncapsulatedContentInfo or
    EncryptedContentInfo and its [0] become indefinite-length; the content
    string becomes a constructed string. Certificates and signed attributes
    are left as they are (the parts must come out equal).
    """
    top = _children(data)[0]
    _, a, b = _tlv(top, 0)
    content_type, explicit = _children(top[a:b])
    _, a, b = _tlv(explicit, 0)
    inner = explicit[a:b]
    if content_type == der.oid(oids.DATA):
        _, a, b = _tlv(inner, 0)
        body = _chunked(0x04, inner[a:b], chunk, definite_chunks)
        return _indefinite(0x30, [content_type, _indefinite(0xA0, [body])])
    _, a, b = _tlv(inner, 0)
    fields = _children(inner[a:b])
    for index, element in enumerate(fields):
        tag, start, end = _tlv(element, 0)
        if tag != 0x30:
            continue
        items = _children(element[start:end])
        if len(items) >= 2 and items[0][0] == 0x06 and items[1][0] in (0xA0, 0x30):
            if items[1][0] == 0xA0:  # EncapsulatedContentInfo: [0] EXPLICIT OCTET STRING
                _, s, e = _tlv(items[1], 0)
                _, s2, e2 = _tlv(items[1][s:e], 0)
                string = _chunked(0x04, items[1][s:e][s2:e2], chunk, definite_chunks)
                items[1] = _indefinite(0xA0, [string])
            elif len(items) == 3 and items[2][0] == 0x80:  # EncryptedContentInfo
                _, s, e = _tlv(items[2], 0)
                items[2] = _chunked(0x80, items[2][s:e], chunk, definite_chunks)
            fields[index] = _indefinite(0x30, items)
    return _indefinite(0x30, [content_type, _indefinite(0xA0, [_indefinite(0x30, fields)])])


# --- the differential test ------------------------------------------------------------


def _mutate(data: bytes, source: st.DataObject, kind: str) -> bytes:
    draw = source.draw
    position = draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        return (
            data[:position]
            + bytes([data[position] ^ draw(st.integers(1, 255))])
            + data[position + 1 :]
        )
    if kind == "cut":
        return data[:position]
    if kind == "insert":
        return data[:position] + bytes([draw(st.integers(0, 255))]) + data[position:]
    if kind == "length":  # a length octet one more or one less
        lengths = [m.start() + 1 for m in re.finditer(rb"[\x02\x04\x06\x30\x31\xa0\xa1]", data)]
        if not lengths:
            return data
        at = lengths[draw(st.integers(0, len(lengths) - 1))]
        if at >= len(data):
            return data
        delta = draw(st.sampled_from([1, 255]))
        return data[:at] + bytes([(data[at] + delta) & 0xFF]) + data[at + 1 :]
    return to_ber(data, draw(st.integers(1, 64)), draw(st.booleans()))


def _reading(data: bytes, read: Callable[[bytes], ContentInfo | None]) -> object:
    try:
        return read(data)
    except CmsError as exc:
        return ("rejected", exc.where, exc.detail)


MUTATIONS = ["flip", "cut", "insert", "length", "ber"]


@DIFFERENTIAL
@given(st.data())
def test_the_two_readings_agree_on_a_mutated_corpus(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(corpus()))
    kinds = data.draw(
        st.lists(
            st.sampled_from(["flip", "cut", "insert", "length", "ber"]), min_size=1, max_size=3
        )
    )
    mutated = seed
    for kind in kinds:
        if not mutated:
            break
        if kind == "ber":
            try:
                mutated = _mutate(mutated, data, kind)
            except (ValueError, IndexError):
                continue  # no longer DER enough to re-encode
        else:
            mutated = _mutate(mutated, data, kind)
    fast = walk(mutated)
    slow = _reading(mutated, from_asn1crypto)  # anything but CmsError fails the test
    if fast is not None:
        assert slow == fast, "the asn1crypto reading differs from the fast walk"
    whole = _reading(mutated, parse)
    expected = fast if fast is not None else slow
    if not (isinstance(expected, tuple) and expected[0] == "rejected"):
        try:
            element_end(mutated, 0, len(mutated))
        except CmsError as exc:  # damage inside a part neither reading opens (a name)
            expected = ("rejected", exc.where, exc.detail)
    assert whole == expected


@pytest.mark.parametrize("index", range(6))
def test_ber_reads_into_the_parts_of_the_der(index: int) -> None:
    """NSS-style BER is read by the walk, and by asn1crypto, into the parts of the DER."""
    original = corpus()[-6 + index]
    for chunk, definite in ((7, False), (1, True), (4096, False)):
        ber = to_ber(original, chunk, definite)
        assert ber != original
        assert walk(ber) == walk(original)
        assert from_asn1crypto(ber) == walk(original)


def _first_signed(seeds: Iterable[bytes]) -> bytes:
    """The first signed data among `seeds` with a certificate."""
    for data in seeds:
        read = walk(data)
        if read is not None and isinstance(read.content, SignedParts) and read.content.certificates:
            return data
    raise AssertionError("no signed data with a certificate in the corpus")


def _indefinite_certificate(data: bytes) -> bytes:
    """`data` (DER signed data) with its first certificate of indefinite length: the same
    size, so no enclosing length changes."""
    read = walk(data)
    assert read is not None and isinstance(read.content, SignedParts)
    certificate = read.content.certificates[0]
    assert certificate[1] == 0x82  # a four-octet header, as long as "30 80" and "00 00"
    return data.replace(certificate, b"\x30\x80" + certificate[4:] + b"\x00\x00", 1)


@pytest.mark.parametrize("where", ["top", "certificate", "primitive"])
def test_the_walk_leaves_to_asn1crypto_the_indefinite_lengths_it_does_not_take(
    where: str,
) -> None:
    """An indefinite length the walk does not take goes to asn1crypto: on a part handed
    on whole (a certificate), on a primitive element, or one never closed."""
    original = _first_signed(corpus())
    if where == "top":
        mutated = to_ber(original, 7)[:-2]  # the outermost end-of-contents missing
    elif where == "certificate":
        mutated = _indefinite_certificate(original)
    else:
        mutated = b"\x30\x80\x04\x80\x00\x00\x00\x00"  # X.690 8.1.3.2: primitive, definite
    assert walk(mutated) is None
    whole = _reading(mutated, parse)
    assert whole == _reading(mutated, from_asn1crypto)


def test_asn1crypto_runs_only_on_what_the_walk_does_not_take(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bytes] = []
    real = core_cms._asn1crypto_parts

    def counting(data: bytes, at: core_cms._At) -> ContentInfo:
        calls.append(data)
        return real(data, at)

    monkeypatch.setattr(core_cms, "_asn1crypto_parts", counting)
    for data in corpus():
        calls.clear()
        parse(data)
        assert len(calls) == (0 if walk(data) is not None else 1)
    # Every DER seed is the walk's: the golden messages' CMS and the engine's.
    calls.clear()
    for data in [*_golden_cms(), *corpus()[-6:]]:
        parse(data)
    assert calls == []
    for data in corpus()[-6:]:  # NSS-style BER: the walk's too
        parse(to_ber(data, 5))
    assert calls == []
    _reading(_indefinite_certificate(_first_signed(corpus()[-6:])), parse)
    assert len(calls) == 1
    # The receiver reads the golden corpus without the fallback, too.
    calls.clear()
    for path in sorted((VECTORS_DIR / "golden").glob("*/*.eml"))[:8]:
        read_message(
            path.read_bytes(),
            keys=[],
            trust=[_pki().root],
            crls=[],
            directory=None,
            options=ReceiveOptions(),
        )
    assert calls == []


def _constructed_econtent(original: bytes) -> bytes:
    """`original` SignedData with its eContent as a constructed, definite-length string."""
    top = _children(original)[0]
    _, a, b = _tlv(top, 0)
    content_type, explicit = _children(top[a:b])
    _, a, b = _tlv(explicit, 0)
    _, a2, b2 = _tlv(explicit[a:b], 0)
    fields = _children(explicit[a:b][a2:b2])
    _, s, e = _tlv(fields[2], 0)
    econtent_type, wrapper = _children(fields[2][s:e])
    _, s, e = _tlv(wrapper, 0)
    _, s2, e2 = _tlv(wrapper[s:e], 0)
    string = _chunked(0x04, wrapper[s:e][s2:e2], 9, definite=True)
    fields[2] = der.tlv(0x30, econtent_type + der.tlv(0xA0, string))
    signed_data = der.tlv(0x30, b"".join(fields))
    return der.tlv(0x30, content_type + der.tlv(0xA0, signed_data))


@pytest.mark.parametrize("where", ["fast", "asn1crypto"])
def test_constructed_definite_length_econtent_is_accepted(where: str) -> None:
    """BER allows a constructed definite-length OCTET STRING: both readings accept it."""
    original = _signed()
    message = _constructed_econtent(original)
    assert message != original
    read = walk(message) if where == "fast" else from_asn1crypto(message)
    assert read is not None
    assert isinstance(read.content, SignedParts)
    assert read.content.content == CONTENT
    assert read == walk(original)


def test_the_receiver_verifies_a_constructed_econtent() -> None:
    der_message = _constructed_econtent(_signed())
    message = (
        b"From: pro01@test\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(der_message).replace(b"\n", b"\r\n")
    )
    content, status = read_message(
        message,
        keys=[],
        trust=[_pki().root],
        crls=list(_pki().crls),
        directory=None,
        options=ReceiveOptions(check_sender_address=False),
        validation_time=MOMENT,
    )
    assert content == CONTENT
    assert status.signature_valid is True and status.errors == []


def test_errors_are_one_type_with_where_and_detail() -> None:
    with pytest.raises(CmsError) as empty:
        parse(b"")
    assert empty.value.detail == "empty CMS object"
    signed = _signed()
    with pytest.raises(CmsError) as cut:
        parse(signed[: len(signed) // 2])
    assert cut.value.where and cut.value.detail.startswith("invalid CMS/ASN.1")
    no_content = der.sequence(der.oid(oids.SIGNED_DATA))
    with pytest.raises(CmsError, match="has no content"):
        parse(no_content)


def test_the_smime_layer_maps_a_parse_error_to_malformed() -> None:
    from conformance.smime import cms_read

    with pytest.raises(ReadError) as raised:
        cms_read.read_content_info(_signed()[:300], "part 2", Budget(Limits()))
    assert raised.value.code == ErrorCode.MALFORMED
    assert raised.value.message.startswith("part 2: ")


def test_parts_carry_what_every_judge_reads() -> None:
    info = parse(_signed())
    assert info.content_type == oids.SIGNED_DATA
    signed = info.content
    assert isinstance(signed, SignedParts)
    assert signed.content == CONTENT and signed.digest_algorithms == (oids.SHA256,)
    assert len(signed.certificates) >= 2 and signed.crls == ()
    (signer,) = signed.signers
    assert signer.content_types == ((oids.DATA,),)
    assert core_cms.signing_time(signer.signing_times[0][0]) == MOMENT
    enveloped = parse(_enveloped("aes256-gcm")).content
    assert isinstance(enveloped, EnvelopedParts) and enveloped.aead and enveloped.mac
    assert enveloped.cipher_oid == oids.AES256_GCM
    data = parse(der.sequence(der.oid(oids.DATA), der.tlv(0xA0, der.octet_string(b"x"))))
    assert data == ContentInfo(oids.DATA, DataParts(b"x"))


# --- the OID registry -------------------------------------------------------------------


def test_one_name_per_oid() -> None:
    values = {k: v for k, v in vars(oids).items() if k.isupper() and isinstance(v, str)}
    assert len(values) >= 40
    assert len(set(values.values())) == len(values), "an OID registered under two names"


def test_no_dotted_oid_literal_outside_the_registry() -> None:
    dotted = re.compile(r"^[0-2](\.\d+){3,}$")
    found = []
    for path in sorted((REPO_DIR / "conformance").rglob("*.py")):
        if path.name == "oids.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and dotted.match(node.value)
            ):
                found.append(f"{path.relative_to(REPO_DIR)}: {node.value}")
    assert found == []


def test_core_imports_nothing_above_it() -> None:
    for path in sorted((REPO_DIR / "conformance" / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
            elif isinstance(node, ast.Import):
                module = node.names[0].name
            else:
                continue
            if module.startswith("conformance"):
                assert module.startswith("conformance.core"), f"{path.name} imports {module}"


# --- the signer shown in a status: one rule -------------------------------------------


def _certificate(subject: list[x509.NameAttribute[str]]) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(subject)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(MOMENT)
        .not_valid_after(MOMENT + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name("Doc@Example.test")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize(
    ("attributes", "idnat"),
    [
        ([(NameOID.SERIAL_NUMBER, "899700001"), (NameOID.USER_ID, "uid-1")], "899700001"),
        ([(NameOID.USER_ID, "899700002")], "899700002"),
        ([], None),
    ],
)
def test_receive_and_the_tool_agents_describe_a_signer_alike(
    attributes: list[tuple[x509.ObjectIdentifier, str]], idnat: str | None
) -> None:
    cert = _certificate(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Dr Test")]
        + [x509.NameAttribute(oid, value) for oid, value in attributes]
    )
    engine = describe_signer(certificates.asn1_certificate(cert))
    agents = cms_inspect.signer_of(cert)
    assert engine == agents
    assert engine.idnat == idnat
    assert engine.email == "doc@example.test"


def test_signer_matching_compares_names_not_only_bytes() -> None:
    cert = _certificate([x509.NameAttribute(NameOID.COMMON_NAME, "Speed Test")])
    asn1 = certificates.asn1_certificate(cert)
    issuer = certificates.identifiers(certificates.loaded_der(asn1))[0]
    other_spelling = issuer.replace(b"Speed Test", b"SPEED TEST")
    assert other_spelling != issuer
    assert certificates.matches(core_cms.Identifier(None, other_spelling, 7), asn1)
    assert not certificates.matches(core_cms.Identifier(None, issuer, 8), asn1)


def test_octets_after_the_content_info_are_counted_not_refused() -> None:
    """Readers ignore what follows the ContentInfo, as OpenSSL does; the count is kept
    for the validator (CMS-001)."""
    original = _signed()
    read = parse(original + b"\x00" * 9)
    assert read.trailing == 9
    assert read.content == parse(original).content
    assert parse(original).trailing == 0
