"""What the tests of hostile messages share: the signature a message carries, its signer's
certificate and the others, and an agent that records what it was handed."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from conformance.agents.base import Agent, ReceiveRequest, Reception, SendRequest, SendResult
from conformance.agents.factory import close_agent
from conformance.core import cms as core_cms
from conformance.core import mime
from conformance.core.vocabulary import Capabilities


def signed_parts(message: bytes) -> core_cms.SignedParts:
    """The SignedData of a signed message (multipart/signed or opaque)."""
    top = mime.read(message)
    entity = top.children[1] if top.content_type == "multipart/signed" else top
    data = entity.decoded()
    assert data is not None
    signed = core_cms.parse(data).content
    assert isinstance(signed, core_cms.SignedParts)
    return signed


def carried(message: bytes) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The signer's certificate (the one its SignerIdentifier names) and the others carried."""
    signed = signed_parts(message)
    certificates = [x509.load_der_x509_certificate(c) for c in signed.certificates]
    sid = signed.signers[0].sid
    (signer,) = [
        c
        for c in certificates
        if (c.serial_number, c.issuer.public_bytes()) == (sid.serial, sid.issuer)
    ]
    return signer, [c for c in certificates if c is not signer]


class RecordingAgent:
    """An agent that records each reception's request with the bytes of every CRL file it
    names at the time (a rejection runner removes a case's files once it has answered)."""

    def __init__(self, inner: Agent) -> None:
        self.inner = inner
        self.id = inner.id
        self.seen: list[tuple[ReceiveRequest, list[bytes]]] = []

    def capabilities(self) -> Capabilities:
        return self.inner.capabilities()

    def version(self) -> str:
        return self.inner.version()

    def send(self, request: SendRequest) -> SendResult:
        return self.inner.send(request)

    def receive(self, request: ReceiveRequest) -> Reception:
        self.seen.append((request, [Path(p).read_bytes() for p in request.crls]))
        return self.inner.receive(request)

    def close(self) -> None:
        close_agent(self.inner)
