"""Messages built by the engine, read by the real engines: openssl cms, NSS cmsutil, gpgsm.

Where an engine does not support an option (NSS and gpgsm: no RSA-OAEP, no
AES-GCM; gpgsm: no RC2; OpenSSL 3's default provider: no RC2), the test
asserts that exact refusal: it is an interoperability finding.
"""

from __future__ import annotations

import email
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from smime_build_support import NOW, BuildPKI, Person, pki, run, seeded

from conformance.core.vocabulary import (
    CONTENT_CIPHERS,
    DIGESTS,
    KEY_TRANSPORTS,
    ContentCipher,
    Digest,
    KeyTransport,
)
from conformance.pki.export import P12_PASSWORD, pkcs12_bytes
from conformance.smime.compose import Headers, Operation, build_message
from conformance.smime.options import (
    EncryptOptions,
    MediaTypes,
    MimeOptions,
    Order,
    RecipientIdentifier,
    SendOptions,
    SignatureFormat,
    SignOptions,
)

__all__ = ["pki"]

pytestmark = pytest.mark.engines

LETTER = (
    "Content-Type: text/plain; charset=utf-8\n\n"
    "Cher confrère,\nVoici les résultats.\n\nBien à vous\n"
).encode()
OPENSSL_LEGACY = ["-provider", "legacy", "-provider", "default"]
PASS = P12_PASSWORD + b"\n"  # the PKCS#12 password, as gpgsm reads it on --passphrase-fd 0


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


def build(
    pki: BuildPKI,
    operation: Operation,
    options: SendOptions,
    recipients: tuple[str, ...] = ("bob",),
    content: bytes = LETTER,
) -> bytes:
    alice = pki.people["alice"]
    headers = Headers(
        from_addr=alice.email,
        from_name=alice.name,
        to=[pki.people[r].email for r in recipients],
        subject="Résultats",
        date=NOW,
    )
    return build_message(
        content,
        operation,
        options,
        alice.sign_key,
        [pki.intermediate],
        [pki.people[r].encrypt_key.certificate for r in recipients],
        headers,
        seeded(1),
        alice.encrypt_key.certificate,
    )


def canonical_content(options: SendOptions) -> bytes:
    from conformance.smime.mime_build import canonicalize, encode_content

    return canonicalize(encode_content(LETTER, options.mime.content_encoding))


@dataclass(frozen=True)
class Parts:
    der: bytes  # the CMS blob
    signed_part: bytes | None  # multipart/signed: the first part, exactly as written


def parts(message: bytes) -> Parts:
    parsed = email.message_from_bytes(message)
    if parsed.get_content_type() != "multipart/signed":
        der = parsed.get_payload(decode=True)
        assert isinstance(der, bytes)
        return Parts(der, None)
    boundary = parsed.get_boundary()
    assert boundary is not None
    dash = b"--" + boundary.encode()
    body = message.split(b"\r\n\r\n", 1)[1]
    start = body.index(dash + b"\r\n") + len(dash) + 2
    end = body.index(b"\r\n" + dash, start)
    payload = parsed.get_payload()
    assert isinstance(payload, list)
    signature = payload[1]
    assert isinstance(signature, Message)
    der = signature.get_payload(decode=True)
    assert isinstance(der, bytes)
    return Parts(der, body[start:end])


# --- OpenSSL ----------------------------------------------------------------------------


def openssl_verify(
    pki: BuildPKI, message: bytes, *extra: str
) -> subprocess.CompletedProcess[bytes]:
    command = ["openssl", "cms", "-verify", "-CAfile", str(pki.root_pem), *extra]
    return run(command, message)


def openssl_decrypt(
    person: Person, message: bytes, *extra: str
) -> subprocess.CompletedProcess[bytes]:
    command = ["openssl", "cms", "-decrypt", *extra]
    command += ["-recip", str(person.encrypt_pem), "-inkey", str(person.encrypt_key_pem)]
    return run(command, message)


SIGN_VARIANTS: list[SignOptions] = [
    *(SignOptions(format=f, digest=d) for f in ("multipart-signed", "opaque") for d in DIGESTS),
    *(SignOptions(algorithm="rsa-pss", digest=d) for d in DIGESTS),
    SignOptions(format="opaque", algorithm="rsa-pss"),
    SignOptions(certificates="signer"),
    SignOptions(certificates="none"),
    SignOptions(signer_identifier="ski"),
    SignOptions(format="opaque", signer_identifier="ski", certificates="signer"),
    SignOptions(signed_attributes=frozenset()),
    SignOptions(format="opaque", signed_attributes=frozenset()),
    SignOptions(signed_attributes=frozenset({"content-type", "message-digest"})),
    SignOptions(
        signed_attributes=frozenset({"content-type", "message-digest", "signing-certificate-v2"}),
        digest="sha512",
    ),
    SignOptions(micalg_case="upper"),
]


def _sign_id(options: SignOptions) -> str:
    default = SignOptions()
    changed = [
        f"{name}={getattr(options, name)}"
        for name in ("format", "digest", "algorithm", "certificates", "signer_identifier")
        if getattr(options, name) != getattr(default, name)
    ]
    if options.signed_attributes != default.signed_attributes:
        changed.append("attrs=" + "+".join(sorted(options.signed_attributes)) or "none")
    if options.micalg_case != default.micalg_case:
        changed.append(f"micalg={options.micalg_case}")
    return ",".join(changed) or "default"


@pytest.mark.parametrize("media_types", ["modern", "legacy"])
@pytest.mark.parametrize("sign", SIGN_VARIANTS, ids=_sign_id)
def test_openssl_verifies(pki: BuildPKI, sign: SignOptions, media_types: MediaTypes) -> None:
    need("openssl")
    options = SendOptions(sign=sign, mime=MimeOptions(media_types=media_types))
    message = build(pki, "sign", options)
    # openssl cms -verify does not build chains through -certfile certificates:
    # without the intermediate in the message, it must be among the trusted ones.
    bundle = pki.directory / "root-and-intermediate.pem"
    bundle.write_bytes(pki.root_pem.read_bytes() + pki.intermediate_pem.read_bytes())
    certfile = {
        "chain": [],
        "signer": ["-CAfile", str(bundle)],
        "none": ["-CAfile", str(bundle), "-certfile", str(pki.people["alice"].sign_pem)],
    }[sign.certificates]
    result = openssl_verify(pki, message, *certfile)
    assert result.returncode == 0, result.stderr.decode()
    assert b"Verification successful" in result.stderr
    assert result.stdout == canonical_content(options)
    tampered = message.replace(b"confr=C3=A8re", b"confr=C3=A9re")
    if sign.format == "multipart-signed":
        assert tampered != message
        assert openssl_verify(pki, tampered, *certfile).returncode != 0


def test_openssl_and_the_no_canonicalisation_quirk(pki: BuildPKI) -> None:
    """Signed LF bytes: OpenSSL's MIME reading (which canonicalises) fails, the raw
    signature over the part as written verifies."""
    need("openssl")
    options = SendOptions(
        sign=SignOptions(canonicalize=False), mime=MimeOptions(content_encoding="keep")
    )
    message = build(pki, "sign", options)
    assert openssl_verify(pki, message).returncode != 0
    found = parts(message)
    assert found.signed_part == LETTER
    sig, content = pki.directory / "lf.p7s", pki.directory / "lf.txt"
    sig.write_bytes(found.der)
    content.write_bytes(LETTER)
    result = openssl_verify(
        pki, b"", "-binary", "-inform", "DER", "-in", str(sig), "-content", str(content)
    )
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.parametrize("transport", KEY_TRANSPORTS)
@pytest.mark.parametrize("cipher", CONTENT_CIPHERS)
def test_openssl_decrypts(pki: BuildPKI, cipher: ContentCipher, transport: KeyTransport) -> None:
    need("openssl")
    identifier: RecipientIdentifier = "ski" if transport == "rsa-oaep-sha1" else "issuer-serial"
    options = SendOptions(
        encrypt=EncryptOptions(
            content=cipher,
            key_transport=transport,
            recipient_identifier=identifier,
        )
    )
    message = build(pki, "encrypt", options)
    kind = b"authEnveloped-data" if cipher.endswith("gcm") else b"enveloped-data"
    assert b"smime-type=" + kind in message
    bob = pki.people["bob"]
    if cipher.startswith("rc2"):
        refused = openssl_decrypt(bob, message)
        assert refused.returncode != 0 and b"RC2-CBC" in refused.stderr
        result = openssl_decrypt(bob, message, *OPENSSL_LEGACY)
    else:
        result = openssl_decrypt(bob, message)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == canonical_content(options)


def test_openssl_several_recipients_and_self(pki: BuildPKI) -> None:
    need("openssl")
    options = SendOptions(encrypt=EncryptOptions(recipient_identifier="ski"))
    message = build(pki, "encrypt", options, recipients=("bob", "carol"))
    for name in ("bob", "carol", "alice"):  # alice: encrypt to self
        result = openssl_decrypt(pki.people[name], message)
        assert result.returncode == 0, f"{name}: {result.stderr.decode()}"
        assert result.stdout == canonical_content(options)
    no_self = SendOptions(encrypt=EncryptOptions(encrypt_to_self=False))
    message = build(pki, "encrypt", no_self)
    assert openssl_decrypt(pki.people["alice"], message).returncode != 0


@pytest.mark.parametrize("fmt", ["multipart-signed", "opaque"])
@pytest.mark.parametrize("order", ["sign-then-encrypt", "encrypt-then-sign", "triple-wrap"])
@pytest.mark.parametrize("cipher", ["aes256-cbc", "aes256-gcm"])
def test_openssl_unwraps_orders(
    pki: BuildPKI, order: Order, fmt: SignatureFormat, cipher: ContentCipher
) -> None:
    need("openssl")
    options = SendOptions(
        sign=SignOptions(format=fmt),
        encrypt=EncryptOptions(content=cipher),
        order=order,
    )
    data = build(pki, "sign-encrypt", options)
    layers = {
        "sign-then-encrypt": ["decrypt", "verify"],
        "encrypt-then-sign": ["verify", "decrypt"],
        "triple-wrap": ["verify", "decrypt", "verify"],
    }[order]
    for layer in layers:
        if layer == "verify":
            result = openssl_verify(pki, data)
        else:
            result = openssl_decrypt(pki.people["bob"], data)
        assert result.returncode == 0, f"{layer}: {result.stderr.decode()}"
        data = result.stdout
    assert data == canonical_content(options)


# --- NSS cmsutil ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nss_db(pki: BuildPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    need("cmsutil")
    directory = tmp_path_factory.mktemp("nss")
    db = f"sql:{directory}"
    for command in (
        ["certutil", "-N", "-d", db, "--empty-password"],
        ["certutil", "-A", "-d", db, "-n", "root", "-t", "C,C,C", "-i", str(pki.root_pem)],
        ["certutil", "-A", "-d", db, "-n", "inter", "-t", ",,", "-i", str(pki.intermediate_pem)],
        ["pk12util", "-i", str(_p12(pki, "bob")), "-d", db, "-W", P12_PASSWORD.decode(), "-K", ""],
    ):
        result = run(command)
        assert result.returncode == 0, f"{command}: {result.stderr.decode()}"
    return directory


def _p12(pki: BuildPKI, name: str) -> Path:
    """The person's encryption key and certificate as the PKI export writes them.

    Through the export's own writer (legacy PBE, password P12_PASSWORD), which draws
    again any salt that gpgsm 2.2 would derive a wrong key from (p12_gpgsm.py):
    `openssl pkcs12 -legacy` with random salts failed the gpgsm import about
    once in thirty.
    """
    path = pki.directory / f"{name}.p12"
    if not path.exists():
        key = pki.people[name].encrypt_key
        path.write_bytes(pkcs12_bytes(key.label, key.private_key, key.certificate, []))
    return path


def cmsutil_decode(
    nss_db: Path, der: bytes, content: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    blob = nss_db / "in.der"
    blob.write_bytes(der)
    command = ["cmsutil", "-D", "-i", str(blob), "-d", f"sql:{nss_db}", "-u", "4", "-p", ""]
    if content is not None:
        (nss_db / "content.bin").write_bytes(content)
        command += ["-c", str(nss_db / "content.bin")]
    return run(command)


@pytest.mark.parametrize("fmt", ["multipart-signed", "opaque"])
@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_nss_verifies(pki: BuildPKI, nss_db: Path, fmt: SignatureFormat, digest: Digest) -> None:
    options = SendOptions(sign=SignOptions(format=fmt, digest=digest))
    found = parts(build(pki, "sign", options))
    result = cmsutil_decode(nss_db, found.der, found.signed_part)
    assert result.returncode == 0, result.stderr.decode()
    if found.signed_part is None:
        assert result.stdout == canonical_content(options)
    else:
        bad = cmsutil_decode(nss_db, found.der, found.signed_part + b" ")
        assert bad.returncode != 0 and b"DigestMismatch" in bad.stderr


@pytest.mark.parametrize("cipher", CONTENT_CIPHERS)
@pytest.mark.parametrize("transport", ["rsa-pkcs1v15", "rsa-oaep-sha1"])
def test_nss_decrypts_without_oaep_or_gcm(
    pki: BuildPKI, nss_db: Path, cipher: ContentCipher, transport: KeyTransport
) -> None:
    options = SendOptions(encrypt=EncryptOptions(content=cipher, key_transport=transport))
    result = cmsutil_decode(nss_db, parts(build(pki, "encrypt", options)).der)
    if transport != "rsa-pkcs1v15":
        assert result.returncode != 0
        assert b"SEC_ERROR_UNSUPPORTED_KEYALG" in result.stderr or (
            cipher.endswith("gcm") and b"SEC_ERROR_UNRECOGNIZED_OID" in result.stderr
        )
    elif cipher.endswith("gcm"):  # NSS 3.87 has no AuthEnvelopedData
        assert result.returncode != 0 and b"SEC_ERROR_UNRECOGNIZED_OID" in result.stderr
    else:
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout == canonical_content(options)


# --- gpgsm ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpgsm_home(pki: BuildPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    need("gpgsm")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    (home / "gpgsm.conf").write_text("disable-crl-checks\n")
    (home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
    fingerprint = pki.root.fingerprint(hashes.SHA1())
    (home / "trustlist.txt").write_text(":".join(f"{b:02X}" for b in fingerprint) + " S relax\n")
    try:
        result = gpgsm(home, "--import", str(pki.root_pem), str(pki.intermediate_pem))
        assert result.returncode == 0, result.stderr.decode()
        result = gpgsm(home, "--passphrase-fd", "0", "--import", str(_p12(pki, "bob")), stdin=PASS)
        assert b"secret keys imported: 1" in result.stderr, result.stderr.decode()
        yield home
    finally:
        run(["gpgconf", "--homedir", str(home), "--kill", "all"])


def gpgsm(home: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    base = ["gpgsm", "--homedir", str(home), "--batch", "--disable-dirmngr"]
    return run([*base, "--pinentry-mode", "loopback", "--status-fd", "1", *args], stdin)


@pytest.mark.parametrize("fmt", ["multipart-signed", "opaque"])
def test_gpgsm_verifies(pki: BuildPKI, gpgsm_home: Path, fmt: SignatureFormat) -> None:
    options = SendOptions(sign=SignOptions(format=fmt))
    found = parts(build(pki, "sign", options))
    sig = gpgsm_home / "sig.der"
    sig.write_bytes(found.der)
    if found.signed_part is None:
        result = gpgsm(gpgsm_home, "--verify", str(sig))
    else:
        content = gpgsm_home / "content.bin"
        content.write_bytes(found.signed_part)
        result = gpgsm(gpgsm_home, "--verify", str(sig), str(content))
        content.write_bytes(found.signed_part + b"x")
        bad = gpgsm(gpgsm_home, "--verify", str(sig), str(content))
        assert b"[GNUPG:] BADSIG" in bad.stdout
    assert b"[GNUPG:] GOODSIG" in result.stdout, result.stderr.decode()
    assert b"[GNUPG:] TRUST_FULLY" in result.stdout


@pytest.mark.parametrize(
    "cipher",
    ["des-ede3-cbc", "aes128-cbc", "aes256-cbc", "rc2-40-cbc", "rc2-128-cbc", "aes128-gcm"],
)
@pytest.mark.parametrize("transport", ["rsa-pkcs1v15", "rsa-oaep-sha1"])
def test_gpgsm_decrypts_without_oaep_gcm_or_rc2(
    pki: BuildPKI, gpgsm_home: Path, cipher: ContentCipher, transport: KeyTransport
) -> None:
    options = SendOptions(encrypt=EncryptOptions(content=cipher, key_transport=transport))
    blob = gpgsm_home / "env.der"
    blob.write_bytes(parts(build(pki, "encrypt", options)).der)
    result = gpgsm(gpgsm_home, "--passphrase-fd", "0", "--decrypt", str(blob), stdin=PASS)
    status = b"".join(
        line for line in result.stdout.splitlines(True) if line.startswith(b"[GNUPG:]")
    )
    content = result.stdout.replace(status, b"") if b"DECRYPTION_OKAY" in status else b""
    if cipher.startswith("rc2"):
        assert result.returncode != 0 and b"Unsupported algorithm" in result.stderr
    elif cipher.endswith("gcm") or transport != "rsa-pkcs1v15":
        assert result.returncode != 0
    else:
        # gpgsm decrypts, yet exits 2 because the sender's own (encrypt-to-self)
        # recipient certificate is unknown to it: judge by its status line.
        assert b"[GNUPG:] DECRYPTION_OKAY" in result.stdout, result.stderr.decode()
        assert content == canonical_content(options)
