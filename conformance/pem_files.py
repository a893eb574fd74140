"""Certificates and CRLs read from files, parsed once per version of the file.

Every exchange of a run reads the same few files (an identity's certificates,
the trust anchors, the CRLs). One `os.stat` says whether a file is still the
version already parsed (same inode, size and modification time), so a file
rewritten between two calls is read again and an unchanged one costs a single
system call: no path resolution, no reading, no parsing. The one reader of
certificate and CRL files for the agents, the validator and the PKI.

A file holds PEM blocks (every one is read) or else one DER object.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import NamedTuple

from cryptography import x509

from conformance.errors import UserError

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
