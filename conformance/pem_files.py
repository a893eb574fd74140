"""Certificates, CRLs and private keys read from files, parsed once per version of the file.

Every exchange of a run reads the same few files (an identity's certificates,
the trust anchors, the CRLs). One `os.stat` says whether a file is still the
version already parsed (same inode, size and modification time), so a file
rewritten between two calls is read again and an unchanged one costs a single
system call: no path resolution, no reading, no parsing. The one reader of
certificate, CRL and key files for the agents, the token, the validator and the PKI.

A certificate or CRL file holds PEM blocks (every one is read) or else one DER
object; a key file one unencrypted PEM RSA key.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.errors import UserError
from conformance.paths import cache_dir

_CRL_END = b"-----END X509 CRL-----"


class FileVersion(NamedTuple):
    """A file as it is now: the cache key of what was parsed from it."""

    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int


def version(path: Path | str) -> FileVersion:
    """The file's current version; UserError naming it when it cannot be read."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return FileVersion(str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _read(at: FileVersion) -> bytes:
    try:
        return Path(at.path).read_bytes()
    except OSError as exc:
        raise UserError(f"{at.path}: cannot read: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=4096)
def _certificates(at: FileVersion) -> tuple[x509.Certificate, ...]:
    data = _read(at)
    try:
        if b"-----BEGIN" in data:
            return tuple(x509.load_pem_x509_certificates(data))
        return (x509.load_der_x509_certificate(data),)
    except ValueError as exc:
        raise UserError(f"{at.path}: not a PEM certificate, nor a DER one ({exc})") from None


def certificates(path: Path | str) -> tuple[x509.Certificate, ...]:
    """Every certificate of a PEM file, or the one of a DER file."""
    return _certificates(version(path))


def certificate(path: Path | str) -> x509.Certificate:
    """The first certificate of the file."""
    return certificates(path)[0]


@functools.lru_cache(maxsize=4096)
def _holds_certificates(at: FileVersion) -> bool:
    return b"-----BEGIN CERTIFICATE" in _read(at)


def directory_certificates(directory: Path | str) -> tuple[x509.Certificate, ...]:
    """Every certificate of the directory's PEM files (*.pem, in name order; a file of
    CRLs holds none), none when there is no such directory. Listed at every call (a
    directory's modification time may not change between two files added in quick
    succession), each file read again only when it changes: a call that finds all as
    it was costs a listing and a stat per file."""
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".pem"))
    except (FileNotFoundError, NotADirectoryError):
        return ()
    found: list[x509.Certificate] = []
    for name in names:
        at = version(os.path.join(directory, name))
        if _holds_certificates(at):
            found.extend(_certificates(at))
    return tuple(found)


@functools.lru_cache(maxsize=256)
def _crls(at: FileVersion) -> tuple[x509.CertificateRevocationList, ...]:
    data = _read(at)
    blocks = [b + _CRL_END + b"\n" for b in data.split(_CRL_END) if b"-----BEGIN X509 CRL" in b]
    try:
        if blocks:
            return tuple(x509.load_pem_x509_crl(b) for b in blocks)
        return (x509.load_der_x509_crl(data),)
    except ValueError as exc:
        raise UserError(f"{at.path}: not a PEM CRL, nor a DER one ({exc})") from None


def crls(path: Path | str) -> tuple[x509.CertificateRevocationList, ...]:
    """Every CRL of a PEM file, or the one of a DER file."""
    return _crls(version(path))


def crl(path: Path | str) -> x509.CertificateRevocationList:
    """The first CRL of the file."""
    return crls(path)[0]


def _checked_record(data: bytes) -> Path:
    """Where the cache records that a key file's exact bytes passed OpenSSL's RSA check:
    the check's answer depends on those bytes alone, so every later process (each worker
    of every run) takes the key without checking it again."""
    return cache_dir() / "checked-keys" / hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=256)
def _private_key(at: FileVersion, validate: bool) -> rsa.RSAPrivateKey:
    data = _read(at)
    # The record to write once the check passes; None when no check runs.
    record = _checked_record(data) if validate else None
    if record is not None and record.exists():
        record = None
    try:
        key = serialization.load_pem_private_key(
            data, password=None, unsafe_skip_rsa_key_validation=record is None
        )
    except (ValueError, TypeError) as exc:
        raise UserError(f"{at.path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UserError(f"{at.path}: not an RSA private key")
    if record is not None:
        with contextlib.suppress(OSError):  # a read-only cache: checked again next time
            record.parent.mkdir(parents=True, exist_ok=True)
            record.touch()
    return key


def private_key(path: Path | str, *, validate: bool = True) -> rsa.RSAPrivateKey:
    """The unencrypted PEM RSA key of the file, its consistency checked by OpenSSL once
    per content of the file and user (57 ms a key here, more than all the exchanges of a
    cell; `_checked_record`). `validate=False` skips the check, for keys checked elsewhere
    (the test PKI's, by its tests) or only handed on to a token."""
    return _private_key(version(path), validate)
