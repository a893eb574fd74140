"""The token layer: SoftHSM2 and the software token sign and decrypt alike.

Keys and certificates here are throwaway ones made with `cryptography`, in the
export layout; tests against the project's test PKI are in test_token_pki.py.
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pki_support import authority, cert_pem, key_pem, leaf, rsa_key
from pki_support import name as pki_name

from conformance.core.vocabulary import Digest, KeyTransport, Role, SignatureAlgorithm
from conformance.errors import MissingComponent, UserError
from conformance.token import (
    KeyNotFound,
    PrivateKeyHandle,
    TokenError,
    UnsupportedMechanism,
    open_key,
    softhsm,
)
from conformance.token import pkcs11 as p11
from conformance.token.base import subject_key_identifier
from conformance.token.software import SoftwareKey, SoftwareToken

DIGESTS: tuple[Digest, ...] = ("sha1", "sha256", "sha384", "sha512")
SIGNATURES: tuple[SignatureAlgorithm, ...] = ("rsa-pkcs1v15", "rsa-pss")
TRANSPORTS: tuple[KeyTransport, ...] = ("rsa-pkcs1v15", "rsa-oaep-sha1", "rsa-oaep-sha256")
HASHES = {"sha1": hashes.SHA1(), "sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
          "sha512": hashes.SHA512()}  # fmt: skip

needs_softhsm = pytest.mark.skipif(
    not softhsm.available(),
    reason=f"SoftHSM2 not installed ({softhsm.module_path()}; Debian package softhsm2)",
)


def make_identities(root: Path, names: list[str]) -> list[Path]:
    """Identities in the export layout: <root>/identities/<id>/<role>{.pem,.key.pem}."""
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(days=3650)
    ca = authority(pki_name("Throwaway TEST CA"), rsa_key(), None, start, end)
    directories = []
    for name in names:
        directory = root / "identities" / name
        directory.mkdir(parents=True)
        role: Role
        for role in ("auth", "sign", "encrypt"):
            key = rsa_key()
            email = f"{name}@osm.test"
            cert = leaf(ca, pki_name(f"{name} {role}"), email, role, key, start, end)
            (directory / f"{role}.pem").write_bytes(cert_pem(cert))
            (directory / f"{role}.key.pem").write_bytes(key_pem(key))
        (directory / "identity.json").write_text(json.dumps({"id": name}), encoding="utf-8")
        directories.append(directory)
    return directories


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache of our own, so throwaway templates do not pile up in .cache."""
    path = tmp_path_factory.mktemp("token-cache")
    old = os.environ.get("OSM_CONFORMANCE_CACHE")
    os.environ["OSM_CONFORMANCE_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("OSM_CONFORMANCE_CACHE", None)
    else:
        os.environ["OSM_CONFORMANCE_CACHE"] = old


@pytest.fixture(scope="module")
def identities(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> list[Path]:
    return make_identities(tmp_path_factory.mktemp("pki"), ["alice", "bob"])


@pytest.fixture
def no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSM_CONFORMANCE_TOKEN", raising=False)


def software_key(directory: Path, role: str) -> PrivateKeyHandle:
    return SoftwareToken([directory]).key(directory.name, role)  # type: ignore[arg-type]


def softhsm_key(directory: Path, role: str) -> PrivateKeyHandle:
    os.environ.pop("OSM_CONFORMANCE_TOKEN", None)
    key = open_key(directory, role)  # type: ignore[arg-type]
    assert isinstance(key, p11.Pkcs11Key)
    return key


def verify(key: PrivateKeyHandle, data: bytes, signature: bytes, digest: str, algo: str) -> None:
    public = key.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    hash_ = HASHES[digest]
    pad: padding.AsymmetricPadding = (
        padding.PSS(padding.MGF1(hash_), hash_.digest_size)
        if algo == "rsa-pss"
        else padding.PKCS1v15()
    )
    public.verify(signature, data, pad, hash_)  # raises InvalidSignature


def encrypt(key: PrivateKeyHandle, data: bytes, transport: KeyTransport) -> bytes:
    public = key.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    if transport == "rsa-pkcs1v15":
        return public.encrypt(data, padding.PKCS1v15())
    hash_ = hashes.SHA1() if transport == "rsa-oaep-sha1" else hashes.SHA256()
    return public.encrypt(data, padding.OAEP(padding.MGF1(hash_), hash_, None))


# -- software token ------------------------------------------------------------


@pytest.mark.parametrize("digest", DIGESTS)
@pytest.mark.parametrize("algorithm", SIGNATURES)
def test_software_sign_round_trip(
    identities: list[Path], digest: Digest, algorithm: SignatureAlgorithm
) -> None:
    key = software_key(identities[0], "sign")
    data = b"Compte rendu \xe9 sign\xe9\r\n" * 10
    signature = key.sign(data, digest, algorithm)
    verify(key, data, signature, digest, algorithm)
    with pytest.raises(InvalidSignature):
        verify(key, data + b"!", signature, digest, algorithm)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_software_decrypt_round_trip(identities: list[Path], transport: KeyTransport) -> None:
    key = software_key(identities[1], "encrypt")
    content_key = bytes(range(32))
    assert key.decrypt(encrypt(key, content_key, transport), transport) == content_key


def test_software_errors(identities: list[Path]) -> None:
    token = SoftwareToken([identities[0]])
    assert token.identities() == ["alice"]
    with pytest.raises(KeyNotFound, match="no identity 'carol'"):
        token.key("carol", "sign")
    key = token.key("alice", "encrypt")
    with pytest.raises(TokenError, match="rsa-oaep-sha1 decryption failed"):
        key.decrypt(b"\x01" * 256, "rsa-oaep-sha1")
    with pytest.raises(TokenError, match="unknown digest 'md5'"):
        key.sign(b"x", "md5", "rsa-pss")  # type: ignore[arg-type]
    with pytest.raises(TokenError, match="unknown key transport"):
        key.decrypt(b"x", "rsa-oaep-md5")  # type: ignore[arg-type]
    uri_key = token.key_by_uri("pkcs11:object=alice-sign")
    assert uri_key.label == "alice-sign"
    with pytest.raises(UserError, match="unknown key role 'x'"):
        token.key_by_uri("pkcs11:object=alice-x")


def test_open_key_software_when_asked(
    identities: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    key = open_key(identities[0], "auth")
    assert isinstance(key, SoftwareKey) and key.label == "alice-auth"
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "tpm")
    with pytest.raises(UserError, match="'tpm': expected 'softhsm' or 'software'"):
        open_key(identities[0], "auth")


def test_open_key_bad_directory(tmp_path: Path, no_token_env: None) -> None:
    with pytest.raises(UserError, match="not an identity directory"):
        open_key(tmp_path / "missing", "sign")
    with pytest.raises(UserError, match="no sign certificate"):
        open_key(tmp_path, "sign")


def test_missing_module_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingComponent, match="Debian package softhsm2"):
        p11.load_library("/nonexistent/libsofthsm2.so")
    with pytest.raises(MissingComponent, match=r"^PKCS#11 module /nonexistent/cps\.so does not"):
        p11.load_library("/nonexistent/cps.so")
    monkeypatch.setenv(softhsm.MODULE_ENV, "/nonexistent/libsofthsm2.so")
    assert not softhsm.available()
    with pytest.raises(MissingComponent, match="apt-get install softhsm2"):
        softhsm.require()
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "softhsm")
    with pytest.raises(MissingComponent, match="softhsm2"):
        open_key("/nonexistent", "sign")


# -- SoftHSM -------------------------------------------------------------------


@needs_softhsm
@pytest.mark.softhsm
@pytest.mark.parametrize("digest", DIGESTS)
@pytest.mark.parametrize("algorithm", SIGNATURES)
def test_softhsm_sign_round_trip(
    identities: list[Path], digest: Digest, algorithm: SignatureAlgorithm
) -> None:
    key = softhsm_key(identities[0], "sign")
    data = b"HPRIM\r\nRES|glyc\xe9mie|5.2|mmol/l\r\n"
    signature = key.sign(data, digest, algorithm)
    verify(key, data, signature, digest, algorithm)
    if algorithm == "rsa-pkcs1v15":  # deterministic: the token and software agree bit for bit
        assert signature == software_key(identities[0], "sign").sign(data, digest, algorithm)


@needs_softhsm
@pytest.mark.softhsm
@pytest.mark.parametrize("transport", ["rsa-pkcs1v15", "rsa-oaep-sha1"])
def test_softhsm_decrypt_round_trip(identities: list[Path], transport: KeyTransport) -> None:
    key = softhsm_key(identities[1], "encrypt")
    content_key = bytes(range(24))
    assert key.decrypt(encrypt(key, content_key, transport), transport) == content_key


@needs_softhsm
@pytest.mark.softhsm
def test_softhsm_refuses_oaep_sha256(identities: list[Path]) -> None:
    """SoftHSM 2.6.1 accepts only hashAlg CKM_SHA_1 for OAEP (C_DecryptInit: CKR_ARGUMENTS_BAD)."""
    key = softhsm_key(identities[1], "encrypt")
    ciphertext = encrypt(key, b"k" * 16, "rsa-oaep-sha256")
    with pytest.raises(UnsupportedMechanism) as info:
        key.decrypt(ciphertext, "rsa-oaep-sha256")
    assert info.value.mechanism == "CKM_RSA_PKCS_OAEP with SHA-256"
    assert str(info.value) == (
        "token does not support mechanism CKM_RSA_PKCS_OAEP with SHA-256 "
        "(SoftHSM Implementation of PKCS11 2.6 returned CKR_ARGUMENTS_BAD)"
    )


@needs_softhsm
@pytest.mark.softhsm
def test_softhsm_errors_are_token_errors(identities: list[Path]) -> None:
    encrypt_key = softhsm_key(identities[1], "encrypt")
    with pytest.raises(TokenError, match=r"PKCS#1 v1\.5 decryption failed.*CKR_GENERAL_ERROR"):
        encrypt_key.decrypt(b"\x02" * 256, "rsa-pkcs1v15")
    refused = r"bob-encrypt: .* not allow this key to sign \(CKA_SIGN is false\)"
    with pytest.raises(TokenError, match=refused):
        encrypt_key.sign(b"x", "sha256", "rsa-pkcs1v15")
    token = softhsm.provision(identities).token()
    with pytest.raises(KeyNotFound, match="no private key with label 'carol-sign'"):
        token.key("carol", "sign")
    with pytest.raises(KeyNotFound, match="names token 'OTHER'"):
        token.key_by_uri("pkcs11:token=OTHER;object=alice-sign")


@needs_softhsm
@pytest.mark.softhsm
def test_softhsm_objects_match_certificates(identities: list[Path]) -> None:
    from pkcs11 import Attribute, ObjectClass

    token = softhsm.provision(identities).token()
    for directory in identities:
        for role in ("auth", "sign", "encrypt"):
            cert = x509.load_pem_x509_certificate((directory / f"{role}.pem").read_bytes())
            label = f"{directory.name}-{role}"
            key_id = subject_key_identifier(cert)
            key = token.session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
            stored = token.session.get_objects(
                {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}
            )
            (cert_obj,) = list(stored)
            assert bytes(key[Attribute.ID]) == key_id == bytes(cert_obj[Attribute.ID])
            assert bytes(cert_obj[Attribute.VALUE]) == cert.public_bytes(serialization.Encoding.DER)
            assert key[Attribute.PRIVATE] and key[Attribute.TOKEN]
            assert token.key(directory.name, role).certificate == cert  # type: ignore[arg-type]


@needs_softhsm
@pytest.mark.softhsm
def test_softhsm_keys_are_not_extractable(identities: list[Path]) -> None:
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11 import exceptions as ckr

    token = softhsm.provision(identities).token()
    key = token.session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="alice-sign")
    assert key[Attribute.SENSITIVE] is True
    assert key[Attribute.EXTRACTABLE] is False
    for secret in (Attribute.PRIVATE_EXPONENT, Attribute.PRIME_1, Attribute.COEFFICIENT):
        with pytest.raises(ckr.AttributeSensitive):
            key[secret]
    with pytest.raises(ckr.AttributeTypeInvalid):
        key[Attribute.VALUE]
    # Nor can it be wrapped out under a session key.
    wrapper = token.session.generate_key(KeyType.AES, 256, store=False)
    with pytest.raises((ckr.KeyUnextractable, ckr.KeyNotWrappable)):
        wrapper.wrap_key(key, mechanism=Mechanism.AES_KEY_WRAP_PAD)
    # And an attempt to make it extractable again is refused.
    with pytest.raises(ckr.PKCS11Error):
        key[Attribute.EXTRACTABLE] = True


@needs_softhsm
@pytest.mark.softhsm
def test_softhsm_uri_opens_the_key(identities: list[Path], no_token_env: None) -> None:
    key = softhsm_key(identities[0], "auth")
    assert isinstance(key, p11.Pkcs11Key)
    uri = key.uri(with_pin=True)
    assert uri.startswith("pkcs11:token=OSM-TEST;object=alice-auth;id=%")
    assert "pin-value=1234" in uri and "module-path=/usr/lib/softhsm/libsofthsm2.so" in uri
    by_uri = open_key(uri, "auth")
    signature = by_uri.sign(b"data", "sha256", "rsa-pss")
    verify(key, b"data", signature, "sha256", "rsa-pss")
    # by id alone, object label alone
    key_id = subject_key_identifier(key.certificate)
    hex_id = "".join(f"%{b:02X}" for b in key_id)
    assert open_key(f"pkcs11:id={hex_id}?pin-value=1234", "auth").label == "alice-auth"
    assert open_key("pkcs11:object=bob-sign;type=private", "sign").label == "bob-sign"
    with pytest.raises(KeyNotFound, match="type=cert is not a private key"):
        open_key("pkcs11:object=bob-sign;type=cert", "sign")


@needs_softhsm
@pytest.mark.softhsm
def test_wrong_pin_is_a_token_error(identities: list[Path], tmp_path: Path) -> None:
    """A fresh token in a child process (a login is per process), with a wrong PIN."""
    script = (
        "import sys\n"
        "from conformance.token import open_key, TokenError\n"
        "try:\n"
        "    open_key('pkcs11:object=alice-sign?pin-value=0000', 'sign')\n"
        "except TokenError as exc:\n"
        "    print(exc)\n"
    )
    setup = softhsm.provision(identities)
    env = {**os.environ, "SOFTHSM2_CONF": str(setup.conf)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "token 'OSM-TEST': PIN refused (CKR_PIN_INCORRECT)"


CHILD = """
import os, sys
from conformance.token import open_key
key = open_key(sys.argv[1], "sign")
for i in range(100):
    signature = key.sign(b"message %d" % i, "sha256", "rsa-pkcs1v15")
print(os.environ["SOFTHSM2_CONF"])
print(signature.hex())
"""


@needs_softhsm
@pytest.mark.softhsm
def test_two_processes_use_their_own_token(identities: list[Path], tmp_path: Path) -> None:
    """Two processes at once on a fresh cache: both race to build the template,
    then each signs on its own copy of the token."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOFTHSM2_CONF", "PYTEST_XDIST_WORKER")}
    env["OSM_CONFORMANCE_TOKEN"] = "softhsm"
    env["OSM_CONFORMANCE_CACHE"] = str(tmp_path)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(identities[0])],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [c.returncode for c in children] == [0, 0], [err for _, err in outputs]
    confs = [out.splitlines()[0] for out, _ in outputs]
    assert confs[0] != confs[1]
    assert all(conf.startswith(str(tmp_path / "softhsm" / "proc-main-")) for conf in confs)
    signer = software_key(identities[0], "sign")
    for out, _ in outputs:
        verify(signer, b"message 99", bytes.fromhex(out.splitlines()[1]), "sha256", "rsa-pkcs1v15")
    # one template survived the race; each child removed its own token directory on exit
    assert [p.name.startswith("template-") for p in (tmp_path / "softhsm").iterdir()] == [True]
    assert not any(Path(conf).exists() for conf in confs)


def _forked_child(directory: str, queue: Any) -> None:
    key = open_key(directory, "sign")
    queue.put((os.environ["SOFTHSM2_CONF"], key.sign(b"forked", "sha1", "rsa-pss")))


@needs_softhsm
@pytest.mark.softhsm
def test_forked_child_gets_its_own_token(identities: list[Path], no_token_env: None) -> None:
    """After fork the child re-initialises the already loaded library on its own copy."""
    parent_key = softhsm_key(identities[0], "sign")
    parent_conf = os.environ["SOFTHSM2_CONF"]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_forked_child, args=(str(identities[0]), queue))
    child.start()
    conf, signature = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert conf != parent_conf and f"-{child.pid}" in conf
    verify(parent_key, b"forked", signature, "sha1", "rsa-pss")
    # the parent's token still works
    verify(parent_key, b"after", parent_key.sign(b"after", "sha1", "rsa-pss"), "sha1", "rsa-pss")


@needs_softhsm
@pytest.mark.softhsm
def test_a_module_loaded_before_any_token_is_provisioned_is_pointed_at_it(
    identities: list[Path],
) -> None:
    """A Pkcs11Token opened first (the library then initialised on whatever SOFTHSM2_CONF
    said) does not leave the process blind to the token provisioned after: a fresh
    process, as the library is initialised once per process."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from conformance.token import pkcs11 as p11, softhsm\n"
        "from conformance.token.base import KeyNotFound\n"
        "try:\n"
        "    p11.Pkcs11Token(softhsm.module_path(), 'NO-SUCH-TOKEN', '0000')\n"
        "except KeyNotFound:\n"
        "    pass\n"
        "setup = softhsm.provision([Path(sys.argv[1])])\n"
        "print(setup.token().key('alice', 'sign').label)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(identities[0])],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "alice-sign", done.stderr
