"""`pki export DIR`: the test PKI as a vendor imports it (the layout of docs/design.md).

Copies the CA certificates, CRLs and identity files, and adds PKCS#12 files
with password "test" in the legacy PBE (pbeWithSHA1And3-KeyTripleDES-CBC for
keys and certificates, HMAC-SHA1 MAC) that gpgsm and old tools require:

- identity.p12: the signature key and certificate, plus the encryption
  certificate and the CA chain. One key only: gpgsm and some tools read only
  one private key per PKCS#12 file.
- auth.p12, sign.p12, encrypt.p12: each role's key, certificate and chain, so
  that a tool that must decrypt imports encrypt.p12.

The exported directory loads again with `load_pki(DIR)`. DIR is new, empty or an
earlier export (its pki.json says so), whose identities are removed first: DIR then
holds exactly the identities its pki.json lists. Only files an export writes are
removed; any other folder is refused.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    KeySerializationEncryption,
    PrivateFormat,
    pkcs12,
)

from conformance import json_files
from conformance.core.vocabulary import ROLES, Role
from conformance.errors import UserError
from conformance.paths import remove_listed
from conformance.pki.apicrypt_keys import KEY_FILE, write_key
from conformance.pki.model import IDENTITY_FILE, MANIFEST_FILE, Identity, TestPKI
from conformance.pki.p12_gpgsm import gpgsm_can_open

P12_PASSWORD = b"test"
# The classic iteration count of legacy tools; the password is public anyway.
P12_KDF_ROUNDS = 2048
# pki.json's "exported_from": how a later export knows the folder is an earlier one.
EXPORTED_FROM = "osm-conformance pki export"

_EXPORT_README = """\
# osm-conformance test PKI export: TEST KEYS ONLY

Every private key here is public and every person invented: never trust these
certificates outside tests. Trust anchor: ca/root.pem; intermediate:
ca/intermediate.pem; CRLs: ca/*.crl.pem. ca-unknown/ is the hierarchy of
`defect-unknown-root`, never to be trusted.

identities/<id>/: <role>.pem and <role>.key.pem (PEM) for auth, sign and
encrypt; chain.pem; identity.json; PKCS#12 files with password "test" in
legacy PBE (3DES, SHA-1 MAC): identity.p12 (signature key and certificate,
encryption certificate, CA chain), and one file per role (auth.p12, sign.p12,
encrypt.p12) for tools that take one key per file. defect-gip-cps-oid's
PKCS#12 files hold their key and certificate unpaired (no shared localKeyId),
because its certificate's key cannot be parsed to match them.

servers/localhost.pem and its key: the TLS certificate of the suite's own mail
servers (`osm-conformance serve`), issued by ca/intermediate.pem for localhost
and 127.0.0.1; a mail client trusting ca/root.pem accepts its STARTTLS.
"""


def legacy_pbe() -> KeySerializationEncryption:
    """Password "test", 3DES keys and certificates, SHA-1 MAC: what gpgsm and old tools import."""
    return (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(P12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())
        .build(P12_PASSWORD)
    )


def pkcs12_bytes(
    name: str,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    extra: Sequence[x509.Certificate],
) -> bytes:
    """A legacy-PBE PKCS#12 of one key, its certificate and `extra` certificates.

    Drawn again while its salts would trip gpgsm's PKCS#12 reader (p12_gpgsm.py),
    so that every exported file imports into gpgsm as into other tools.
    """
    friendly = name.encode("utf-8")
    for _ in range(64):
        try:
            data = pkcs12.serialize_key_and_certificates(
                friendly, key, cert, list(extra), legacy_pbe()
            )
        except UnsupportedAlgorithm:
            # The certificate's key uses an algorithm OID OpenSSL cannot parse (the
            # GIP-CPS one): store key and certificate without pairing them.
            data = pkcs12.serialize_key_and_certificates(
                friendly, key, None, [cert, *extra], legacy_pbe()
            )
        if gpgsm_can_open(data, P12_PASSWORD):
            return data
    raise RuntimeError("no PKCS#12 salt gpgsm accepts in 64 draws")  # p < 1e-90


def _write_p12s(identity: Identity, out: Path) -> None:
    chain = list(identity.chain())
    roles = identity.roles()
    for role in roles:
        if identity.key_path(role).is_file():
            data = pkcs12_bytes(
                f"{identity.id} {role}",
                identity.private_key(role),
                identity.certificate(role),
                chain,
            )
            (out / f"{role}.p12").write_bytes(data)
    sign: Role = "sign"
    if sign in roles and identity.key_path(sign).is_file():
        extra = [identity.certificate("encrypt")] if "encrypt" in roles else []
        data = pkcs12_bytes(
            f"{identity.id} ({identity.name})",
            identity.private_key(sign),
            identity.certificate(sign),
            extra + chain,
        )
        (out / "identity.p12").write_bytes(data)


def _copy_files(source: Path, target: Path, names: Sequence[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)


def _identity_files(folder: Path) -> set[str]:
    """The names of the files an export writes into this identity folder."""
    names = {IDENTITY_FILE, "chain.pem", "identity.p12", KEY_FILE}
    names |= {f"{role}{suffix}" for role in ROLES for suffix in (".pem", ".key.pem", ".p12")}
    try:  # a PKI may name its certificate and key files otherwise (identity.json)
        identity = Identity.load(folder)
    except UserError:
        return names
    return names | {name for _, name in identity.certificate_files + identity.key_files}


def _clear_earlier_export(out: Path) -> None:
    """Refuse a non-empty `out` that is not an earlier export; in one, remove the
    identities it lists (the files an export writes, then the folder if left empty).

    Otherwise the identities of an earlier, larger export would stay beside a pki.json
    that no longer lists them; a file the suite did not write is never removed.
    """
    if not out.is_dir() or not any(out.iterdir()):
        return
    manifest = out / MANIFEST_FILE
    earlier = json_files.load_object(manifest) if manifest.is_file() else {}
    if earlier.get("exported_from") != EXPORTED_FROM:
        raise UserError(
            f"{out}: not empty and not an earlier export (its {MANIFEST_FILE} would say "
            "so); export into a new or empty directory"
        )
    listed = earlier.get("identities")
    ids = {i for i in listed if isinstance(i, str)} if isinstance(listed, list) else set()
    identities = out / "identities"
    folders = sorted(identities.iterdir()) if identities.is_dir() else []
    for folder in folders:
        if folder.name in ids and not folder.is_symlink() and folder.is_dir():
            remove_listed(folder / name for name in _identity_files(folder))


def export_pki(pki: TestPKI, out: Path, identity_ids: Sequence[str] | None = None) -> list[str]:
    """Write the export of `pki` (or of `identity_ids` only) into `out`; returns the ids."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    if out.resolve() == pki.directory.resolve():
        raise UserError(f"{out}: is the source PKI itself; export elsewhere")
    ids = list(identity_ids) if identity_ids else sorted(pki.identities)
    chosen = [pki.identity(i) for i in dict.fromkeys(ids)]
    _clear_earlier_export(out)
    manifest = {
        "format": 1,
        "seed": pki.seed,
        "exported_from": EXPORTED_FROM,
        "test_only": True,
        "identities": [i.id for i in chosen],
        "pkcs12_password": P12_PASSWORD.decode(),
    }
    # Written first: an export cut short is still known as one, and the next export
    # over it clears it.
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    ca_files = [
        "root.pem",
        "intermediate.pem",
        "ca-bundle.pem",
        "root.crl.pem",
        "intermediate.crl.pem",
    ]
    for sub in ("ca", "ca-unknown"):
        _copy_files(pki.directory / sub, out / sub, ca_files)
    server_files = (pki.server_certificate_path(), pki.server_key_path())
    servers = server_files[0].parent
    _copy_files(servers, out / servers.name, [p.name for p in server_files])
    for identity in chosen:
        target = out / "identities" / identity.id
        names = [IDENTITY_FILE, "chain.pem"]
        for role in identity.roles():
            names += [identity.certificate_path(role).name, identity.key_path(role).name]
        _copy_files(identity.directory, target, names)
        _write_p12s(identity, target)
        # The association issues every member an Apicrypt-model key (docs/apicrypt-model.md).
        write_key(target, identity.email)
    (out / "README.md").write_text(_EXPORT_README, encoding="utf-8")
    return [i.id for i in chosen]
