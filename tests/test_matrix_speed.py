"""What the matrix's speed-ups must not change: cell order, CMS facts, cached files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from asn1crypto import x509 as asn1x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from conformance import pem_files
from conformance.agents import cms_inspect
from conformance.core.certificates import same_name
from conformance.core.vocabulary import REAL_TOOLS
from conformance.matrix.spec import MatrixSpec
from conformance.pytest_plugin import slow_first


def _self_signed() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Speed Test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_cells_with_external_tools_come_first_in_a_stable_order() -> None:
    spec = MatrixSpec()
    profiles = spec.profiles()
    keys = spec.cells()
    ordered = slow_first(keys, profiles)
    assert sorted(ordered) == sorted(keys)
    real = {i for i, p in profiles.items() if p.engine.type in REAL_TOOLS}
    assert real, "the shipped profiles include the real engines"
    caps = {i: p.capabilities() for i, p in profiles.items()}

    def supported(key: tuple[str, str, str]) -> bool:
        return key[2] in caps[key[0]].send and key[2] in caps[key[1]].receive

    done = [k for k in ordered if supported(k)]
    never = [k for k in ordered if not supported(k)]
    assert never, "the shipped profiles have cells one side does not do"
    assert ordered == done + never  # the cells with no exchange make the run's tail
    tools = [sum(side in real for side in key[:2]) for key in done]
    assert tools == sorted(tools, reverse=True)
    assert tools[0] == 2 and tools[-1] == 0
    # Within one rank, the order of spec.cells() is kept (every worker collects the same).
    builtin_only = [k for k in keys if not (set(k[:2]) & real) and supported(k)]
    assert [k for k in done if not (set(k[:2]) & real)] == builtin_only
    assert never == [k for k in keys if not supported(k)]


def test_inspect_gives_each_caller_its_own_facts() -> None:
    key, cert = _self_signed()
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(b"hello")
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
    )
    first = cms_inspect.inspect(der)
    assert first.content_type == "signed_data"
    assert first.algorithms.digest == ["sha256"]
    assert first.signer_certificate == cert
    first.algorithms.digest.append("tampered")
    again = cms_inspect.inspect(der)
    assert again.algorithms.digest == ["sha256"]
    assert again.signer_certificate == cert


def test_names_equal_in_another_encoding_still_match() -> None:
    printable = asn1x509.Name.build({"common_name": "Speed Test"}, use_printable=True)
    utf8 = asn1x509.Name.build({"common_name": "speed  test"})
    other = asn1x509.Name.build({"common_name": "Other"})
    assert printable.dump() != utf8.dump()
    assert same_name(printable.dump(), utf8.dump())
    assert not same_name(printable.dump(), other.dump())


def test_pem_certificates_follow_the_file(tmp_path: Path) -> None:
    _, one = _self_signed()
    _, two = _self_signed()
    path = tmp_path / "cert.pem"
    path.write_bytes(one.public_bytes(serialization.Encoding.PEM))
    assert pem_files.certificates(path) == (one,)
    path.write_bytes(
        one.public_bytes(serialization.Encoding.PEM) + two.public_bytes(serialization.Encoding.PEM)
    )
    assert pem_files.certificates(path) == (one, two)
