"""Encryption rules: cipher, key transport, the intended recipient, integrity of CBC content."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.check.catalogue import Outcome, not_checked, rule
from conformance.check.context import Context
from conformance.check.layers import CmsLayer, matches
from conformance.check.rules import graded
from conformance.check.tree import Node


def _envelopes(context: Context) -> list[CmsLayer]:
    return [layer for layer in context.layers if layer.envelope is not None]


@rule(
    "ENC-001",
    "Content cipher allowed by the policy",
    "RFC 8551 2.7 / RFC 5084 / RFC 3565",
    "The content-encryption algorithm is one the policy accepts (3DES only under osm-2008).",
)
def cipher_allowed(context: Context) -> Iterator[Outcome]:
    for layer in _envelopes(context):
        envelope = layer.envelope
        assert envelope is not None
        yield graded(
            context, "content_cipher", layer.part.path, envelope.cipher, known=envelope.cipher_known
        )


@rule(
    "ENC-002",
    "Key transport allowed by the policy",
    "RFC 8551 2.3 / RFC 3560 / RFC 8017",
    "Each RecipientInfo wraps the content key with an accepted key transport; RSA-OAEP is "
    "preferred today, PKCS#1 v1.5 is what 2008 tools used.",
)
def key_transport(context: Context) -> Iterator[Outcome]:
    for layer in _envelopes(context):
        assert layer.envelope is not None
        for index, recipient in enumerate(layer.envelope.recipients, start=1):
            name = recipient.key_transport or f"{recipient.kind} (not key transport)"
            found = f"recipient {index}: {name}"
            yield graded(
                context, "key_transport", layer.part.path, name, found, known=recipient.known
            )


@rule(
    "ENC-003",
    "Encrypted for the intended recipient",
    "RFC 5652 6.2 / RFC 8551 3.3",
    "A RecipientInfo names the intended recipient's encryption certificate (the identity's, or "
    "the expected recipient's in the test PKI).",
)
def intended_recipient(context: Context) -> Iterator[Outcome]:
    for layer in _envelopes(context):
        assert layer.envelope is not None
        rids = [r.rid for r in layer.envelope.recipients]
        found = f"{len(rids)} recipient(s): " + "; ".join(rids[:4])
        if context.intended is None:
            yield not_checked(
                layer.part.path,
                f"not checked (no identity or expected recipient): {found}",
                "a RecipientInfo for the recipient",
            )
            continue
        ok = any(
            r.rid_value is not None and matches(r.rid_value, context.intended)
            for r in layer.envelope.recipients
        )
        yield Outcome(layer.part.path, ok, found, f"a RecipientInfo for {context.intended_source}")


@rule(
    "ENC-004",
    "Decrypts with the recipient's key",
    "RFC 5652 6 / RFC 8551 3.3",
    "With the identity given, its encryption key unwraps the content key and the content decrypts.",
)
def decrypts(context: Context) -> Iterator[Outcome]:
    for layer in _envelopes(context):
        assert layer.envelope is not None
        expected = "the content decrypts with the identity's key"
        if layer.envelope.decrypted is None:
            yield not_checked(layer.part.path, "not checked: no identity given", expected)
        elif layer.envelope.decrypted:
            note = f"; {layer.envelope.decrypt_note}" if layer.envelope.decrypt_note else ""
            found = f"decrypted ({layer.envelope.cipher}){note}"
            yield Outcome(layer.part.path, True, found, expected)
        else:
            yield Outcome(
                layer.part.path, False, f"not decrypted: {layer.envelope.decrypt_error}", expected
            )


def _signed_inside(context: Context, inner: Node) -> bool:
    paths = {n.path for n in inner.walk()}
    if any(n.content_type == "multipart/signed" for n in inner.walk()):
        return True
    return any(
        layer.signed is not None and layer.signed.signers and layer.part.path in paths
        for layer in context.layers
    )


@rule(
    "ENC-005",
    "Encrypted content protected against tampering",
    "EFAIL (2018) / RFC 8551 2.7.2 / RFC 5083",
    "CBC content can be altered undetected (EFAIL-style malleability) unless a signature inside "
    "the encryption covers it, or the cipher is authenticated (AES-GCM, AuthEnvelopedData).",
)
def integrity(context: Context) -> Iterator[Outcome]:
    expected = "AES-GCM, or a signature inside the encryption"
    for layer in _envelopes(context):
        envelope = layer.envelope
        assert envelope is not None
        if envelope.aead:
            yield Outcome(
                layer.part.path, True, f"{envelope.cipher}: authenticated encryption", expected
            )
        elif layer.inner is None:
            yield not_checked(
                layer.part.path, f"not checked: {envelope.cipher}, not decrypted", expected
            )
        elif _signed_inside(context, layer.inner):
            yield Outcome(
                layer.part.path, True, f"{envelope.cipher} with a signature inside", expected
            )
        else:
            yield Outcome(
                layer.part.path,
                False,
                f"{envelope.cipher} content with no signature inside the encryption",
                expected,
            )
