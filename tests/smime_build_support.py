"""A throwaway PKI for the send-side tests, and helpers to run the real engines.

Root -> intermediate -> leaf certificates for three people, each with a
signature certificate (digitalSignature, nonRepudiation) and an encryption
certificate (keyEncipherment), written as PEM under a temporary directory
so that openssl, cmsutil and gpgsm can read them. Fixed dates around NOW
(the build tests sign at NOW); certificates come from tests/pki_support.py.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from pki_support import authority, cert_pem, key_pem, leaf, name, rsa_key

from conformance.core.vocabulary import Role
from conformance.token.software import SoftwareKey

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    sign_key: SoftwareKey
    encrypt_key: SoftwareKey
    sign_pem: Path
    sign_key_pem: Path
    encrypt_pem: Path
    encrypt_key_pem: Path


@dataclass(frozen=True)
class BuildPKI:
    directory: Path
    root: x509.Certificate
    intermediate: x509.Certificate
    root_pem: Path
    intermediate_pem: Path
    people: dict[str, Person]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def make_pki(directory: Path) -> BuildPKI:
    start, end = NOW - timedelta(days=365), NOW + timedelta(days=3650)
    root = authority(name("Test Root CA"), rsa_key(), None, start, end, serial=1)
    inter = authority(name("Test Intermediate CA"), rsa_key(), root, start, end, serial=2)
    people: dict[str, Person] = {}
    serial = 100
    for short, full in (("alice", "Alice Émile"), ("bob", "Bob Durand"), ("carol", "Carol Petit")):
        email = f"{short}@sante.example"
        certs = {}
        usage: Role
        for usage in ("sign", "encrypt"):
            key = rsa_key()
            serial += 1
            subject = name(f"{full} ({usage})", email)
            cert = leaf(inter, subject, email, usage, key, start, end, serial=serial)
            certs[usage] = (key, cert)
        base = directory / short
        base.mkdir()
        people[short] = Person(
            name=full,
            email=email,
            sign_key=SoftwareKey(certs["sign"][0], certs["sign"][1], f"{short}-sign"),
            encrypt_key=SoftwareKey(certs["encrypt"][0], certs["encrypt"][1], f"{short}-encrypt"),
            sign_pem=_write(base / "sign.pem", cert_pem(certs["sign"][1])),
            sign_key_pem=_write(base / "sign.key.pem", key_pem(certs["sign"][0])),
            encrypt_pem=_write(base / "encrypt.pem", cert_pem(certs["encrypt"][1])),
            encrypt_key_pem=_write(base / "encrypt.key.pem", key_pem(certs["encrypt"][0])),
        )
    return BuildPKI(
        directory=directory,
        root=root.certificate,
        intermediate=inter.certificate,
        root_pem=_write(directory / "root.pem", cert_pem(root.certificate)),
        intermediate_pem=_write(directory / "intermediate.pem", cert_pem(inter.certificate)),
        people=people,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> BuildPKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


def seeded(seed: int) -> Callable[[int], bytes]:
    """A reproducible source of random bytes: the same seed builds the same message."""
    return random.Random(seed).randbytes


def run(command: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)
