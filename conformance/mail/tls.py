"""TLS for the suite's own mail servers: the test PKI's `server-localhost` certificate.

Servers present it (with its issuer) on STARTTLS; clients verify it against the test root
alone and check the name they dialled (localhost or 127.0.0.1), as a real client would.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path

from conformance.paths import PKI_DIR
from conformance.pki.model import load_pki


def server_context(pki_dir: Path = PKI_DIR) -> ssl.SSLContext:
    """A server-side context with `servers/localhost.pem` and its key."""
    pki = load_pki(pki_dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_certificate_path(), pki.server_key_path())
    return context


def client_context(pki_dir: Path = PKI_DIR) -> ssl.SSLContext:
    """A client context trusting only the test root, checking the server's name: one per
    root file (and version of it), shared, since every submission to every hop asks for
    it (about 1 ms to build, against 5 ms for a whole submission). Do not change it."""
    root = load_pki(pki_dir).trust_paths()[0]
    return _client_context(root, root.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _client_context(root: Path, version: int) -> ssl.SSLContext:
    del version  # part of the cache key only: a rebuilt PKI gets a new context
    context = ssl.create_default_context(cafile=str(root))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context
