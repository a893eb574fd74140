"""The store a worker's mail goes to over SMTP, and the routes that cannot run here.

Dovecot when it is installed (one IMAP mailbox per test identity of the PKI, its test
password; read back over IMAP with STARTTLS), else a maildir read as files: the run's
results.json and report say which (routes.delivery).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conformance.mail.store import MailStore, mailbox_password
from conformance.matrix.routes import Route, missing_postfix
from conformance.pki.model import TestPKI


@contextmanager
def open_store(pki: TestPKI, root: Path) -> Iterator[MailStore]:
    """Dovecot (when it can run here) or a maildir under `root`, for every identity of
    `pki`; the IMAP reader verifies Dovecot's certificate (`server-localhost`) against the
    test root."""
    from conformance.mail import dovecot
    from conformance.mail.maildir import MaildirStore

    if dovecot.missing() is not None:
        with MaildirStore(root) as store:
            yield store
        return
    users = {i.email: mailbox_password(key) for key, i in pki.identities.items()}
    with dovecot.serve(
        users,
        tls_cert=pki.server_certificate_path(),
        tls_key=pki.server_key_path(),
        tls_trust=pki.trust_paths()[0],
    ) as served:
        yield served


def missing_hop(route: Route) -> str | None:
    """Why a hop of `route` cannot run here (the real Postfix not installed, not root),
    else None."""
    if "postfix" in route:
        return missing_postfix()
    return None
