"""The token layer on the project's test PKI (vectors/pki): every identity's keys
on SoftHSM under the certificate's label and subject key identifier."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conformance import paths
from conformance.core.vocabulary import ROLES
from conformance.pki.model import TestPKI, load_pki
from conformance.token import (
    Token,
    TokenError,
    UnsupportedMechanism,
    default_token,
    open_key,
    softhsm,
)
from conformance.token import pkcs11 as p11
from conformance.token.base import subject_key_identifier
from conformance.token.software import SoftwareToken

pytestmark = [
    pytest.mark.skipif(
        not (paths.PKI_DIR / "pki.json").is_file(),
        reason=f"no test PKI in {paths.PKI_DIR} (osm-conformance pki init)",
    ),
]
needs_softhsm = pytest.mark.skipif(
    not softhsm.available(),
    reason=f"SoftHSM2 not installed ({softhsm.module_path()}; Debian package softhsm2)",
)


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def token(pki: TestPKI) -> Token:
    os.environ.pop("OSM_CONFORMANCE_TOKEN", None)
    return default_token(pki)


def verify_pkcs1(certificate_key: object, data: bytes, signature: bytes) -> None:
    assert isinstance(certificate_key, rsa.RSAPublicKey)
    certificate_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


@needs_softhsm
@pytest.mark.softhsm
def test_every_key_is_on_the_token_under_its_label_and_ski(pki: TestPKI, token: Token) -> None:
    from pkcs11 import Attribute, ObjectClass

    assert isinstance(token, p11.Pkcs11Token)
    keys = {
        str(o[Attribute.LABEL]): bytes(o[Attribute.ID])
        for o in token.session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
    }
    certs = {
        str(o[Attribute.LABEL]): bytes(o[Attribute.ID])
        for o in token.session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
    }
    assert len(pki.identities) >= 41
    for identity in pki.identities.values():
        for role in identity.roles():
            label = f"{identity.id}-{role}"
            ski = subject_key_identifier(identity.certificate(role))
            assert keys[label] == ski == certs[label], label


@needs_softhsm
@pytest.mark.softhsm
def test_every_valid_identity_signs_on_the_token(pki: TestPKI, token: Token) -> None:
    for identity in pki.valid_identities():
        key = token.key(identity.id, "sign")
        assert key.certificate == identity.certificate("sign")
        data = f"lettre de {identity.name}".encode()
        verify_pkcs1(key.certificate.public_key(), data, key.sign(data, "sha256", "rsa-pkcs1v15"))


@needs_softhsm
@pytest.mark.softhsm
def test_token_and_software_agree(pki: TestPKI, token: Token) -> None:
    software = SoftwareToken(pki)
    for role in ROLES:
        data = b"HPRIM " + role.encode()
        on_card = token.key("pro01", role)
        in_memory = software.key("pro01", role)
        if role == "encrypt":
            public = on_card.certificate.public_key()
            assert isinstance(public, rsa.RSAPublicKey)
            ciphertext = public.encrypt(
                b"k" * 32, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)
            )
            assert on_card.decrypt(ciphertext, "rsa-oaep-sha1") == b"k" * 32
            assert in_memory.decrypt(ciphertext, "rsa-oaep-sha1") == b"k" * 32
        else:
            signature = on_card.sign(data, "sha384", "rsa-pkcs1v15")
            assert signature == in_memory.sign(data, "sha384", "rsa-pkcs1v15")


@needs_softhsm
@pytest.mark.softhsm
def test_weak_key_limits_are_findings(pki: TestPKI, token: Token) -> None:
    """A 1024-bit key cannot carry PSS with SHA-512 (RFC 8017 9.1.1: emLen < hLen + sLen + 2).

    SoftHSM 2.6.1 refuses it at C_SignInit with CKR_MECHANISM_INVALID; the
    software token reports the same impossibility as a TokenError.
    """
    identity = pki.defective("weak-key")
    key = token.key(identity.id, "sign")
    with pytest.raises(UnsupportedMechanism, match=r"CKM_SHA512_RSA_PKCS_PSS .*MECHANISM_INVALID"):
        key.sign(b"x", "sha512", "rsa-pss")
    assert len(key.sign(b"x", "sha256", "rsa-pss")) == 128
    with pytest.raises(TokenError, match="rsa-pss with sha512 failed"):
        SoftwareToken(pki).key(identity.id, "sign").sign(b"x", "sha512", "rsa-pss")


@needs_softhsm
@pytest.mark.softhsm
def test_gip_cps_oid_identity_is_usable(pki: TestPKI, token: Token) -> None:
    """The old GIP-CPS key OID is a certificate matter: the key itself signs as usual."""
    identity = pki.defective("gip-cps-oid")
    key = token.key(identity.id, "sign")
    signature = key.sign(b"x", "sha256", "rsa-pkcs1v15")
    private = identity.private_key("sign")
    verify_pkcs1(private.public_key(), b"x", signature)


@needs_softhsm
@pytest.mark.softhsm
def test_open_key_on_a_pki_identity_directory(pki: TestPKI) -> None:
    os.environ.pop("OSM_CONFORMANCE_TOKEN", None)
    identity = pki.identity("pro02")
    key = open_key(identity.directory, "auth")
    assert isinstance(key, p11.Pkcs11Key) and key.label == "pro02-auth"
    verify_pkcs1(key.certificate.public_key(), b"a", key.sign(b"a", "sha256", "rsa-pkcs1v15"))


def test_default_token_falls_back_to_software_with_a_warning(
    pki: TestPKI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import conformance.token as token_package

    monkeypatch.delenv("OSM_CONFORMANCE_TOKEN", raising=False)
    monkeypatch.setenv(softhsm.MODULE_ENV, "/nonexistent/libsofthsm2.so")
    monkeypatch.setattr(token_package, "_warned", [])
    token = default_token(pki)
    assert isinstance(token, SoftwareToken)
    assert "warning: SoftHSM2 is not installed (Debian package softhsm2)" in capsys.readouterr().err
    assert token.key("pro03", "sign").certificate == pki.identity("pro03").certificate("sign")


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    env["OSM_CONFORMANCE_CACHE"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "conformance", "token", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_softhsm
@pytest.mark.softhsm
def test_cli_init_and_show(
    pki: TestPKI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from conformance.cli import main

    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(tmp_path))
    assert main(["token", "show"]) == 2
    assert "no token yet; run `osm-conformance token init` first" in capsys.readouterr().err
    # Reuse the template token of the project cache rather than build another one.
    directories = sorted((paths.PKI_DIR / "identities").iterdir())
    monkeypatch.delenv("OSM_CONFORMANCE_CACHE")
    template = softhsm.ensure_template(
        directories, softhsm.TOKEN_LABEL, softhsm.USER_PIN, softhsm.SO_PIN
    )
    (tmp_path / "softhsm").mkdir()
    (tmp_path / "softhsm" / template.name).symlink_to(template)

    done = run_cli("init", cache=tmp_path)
    assert done.returncode == 0, done.stderr
    count = sum(len(i.roles()) for i in pki.identities.values())
    assert f"token 'OSM-TEST' in {tmp_path}/softhsm/token: {count} private keys" in done.stdout
    assert f"export SOFTHSM2_CONF={tmp_path}/softhsm/token/softhsm2.conf" in done.stdout
    shown = run_cli("show", cache=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("token 'OSM-TEST' (SoftHSM Implementation of PKCS11 2.6)")
    assert lines[-1] == f"{2 * count} objects"
    ski = subject_key_identifier(pki.identity("pro01").certificate("sign")).hex()
    assert f"pro01-sign  {ski}  certificate" in lines
    key_line = next(line for line in lines if line.startswith("pro01-sign  ") and "private" in line)
    assert key_line.startswith(f"pro01-sign  {ski}  private-key  RSA 2048  pkcs11:token=OSM-TEST;")
    # The URI printed opens the key in the token that init wrote.
    uri = key_line.split("  ")[-1] + "&pin-value=1234"
    script = f"from conformance.token import open_key; print(open_key({uri!r}, 'sign').label)"
    env = {**os.environ, "SOFTHSM2_CONF": f"{tmp_path}/softhsm/token/softhsm2.conf"}
    opened = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert opened.stdout.strip() == "pro01-sign", opened.stderr
    wrong = run_cli("show", "--pin", "0000", cache=tmp_path)
    assert wrong.returncode == 2, wrong.stderr
    assert wrong.stderr.endswith("error: token 'OSM-TEST': PIN refused (CKR_PIN_INCORRECT)\n")
    unknown = run_cli("show", "--label", "CPS-NOPE", cache=tmp_path)
    assert unknown.returncode == 2 and "no token labelled 'CPS-NOPE'" in unknown.stderr


def test_cli_missing_module(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    assert main(["token", "show", "--module", "/nonexistent/libsofthsm2.so"]) == 3
    assert "install the Debian package softhsm2" in capsys.readouterr().err
    assert main(["token", "show", "--module", "/nonexistent/cps-vendor.so"]) == 3
    assert "PKCS#11 module /nonexistent/cps-vendor.so does not exist" in capsys.readouterr().err


def test_cli_a_module_that_is_not_pkcs11_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conformance.cli import main

    not_a_module = tmp_path / "vendor.so"
    not_a_module.write_text("not a shared library\n", encoding="utf-8")
    assert main(["token", "show", "--module", str(not_a_module)]) == 2
    assert f"cannot load PKCS#11 module {not_a_module}" in capsys.readouterr().err
