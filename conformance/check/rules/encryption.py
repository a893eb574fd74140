"""Encryption rules: cipher, key transport, the intended recipient, integrity of CBC content."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.check.catalogue import Outcome, not_checked, rule
from conformance.check.context import Context
from conformance.check.layers import CmsLayer, matches
from conformance.check.rules import graded
from conformance.check.tree import Node
from conformance.core.bilingual import SEMICOLON, Bilingual


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
            context,
            "content_cipher",
            layer.part.path,
            envelope.cipher,
            envelope.cipher_text,
            known=envelope.cipher_known,
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
            shown = recipient.transport_text or Bilingual(
                f"{recipient.kind} (pas un transport de clé)", name
            )
            found = Bilingual(f"destinataire {index} : ", f"recipient {index}: ") + shown
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
        listed = SEMICOLON.join(rids[:4])
        found = Bilingual(
            f"{len(rids)} destinataire(s) : {listed.fr}", f"{len(rids)} recipient(s): {listed.en}"
        )
        if context.intended is None:
            yield not_checked(
                layer.part.path,
                Bilingual(
                    f"non vérifié (ni identité ni destinataire attendu) : {found.fr}",
                    f"not checked (no identity or expected recipient): {found.en}",
                ),
                Bilingual(
                    "un RecipientInfo pour le destinataire", "a RecipientInfo for the recipient"
                ),
            )
            continue
        ok = any(
            r.rid_value is not None and matches(r.rid_value, context.intended)
            for r in layer.envelope.recipients
        )
        source = context.intended_source
        wanted = Bilingual(f"un RecipientInfo pour {source.fr}", f"a RecipientInfo for {source.en}")
        yield Outcome(layer.part.path, ok, found, wanted)


@rule(
    "ENC-004",
    "Decrypts with the recipient's key",
    "RFC 5652 6 / RFC 8551 3.3",
    "With the identity given, its encryption key unwraps the content key and the content decrypts.",
)
def decrypts(context: Context) -> Iterator[Outcome]:
    for layer in _envelopes(context):
        assert layer.envelope is not None
        expected = Bilingual(
            "le contenu se déchiffre avec la clé de l'identité",
            "the content decrypts with the identity's key",
        )
        cipher = layer.envelope.cipher_text
        if layer.envelope.decrypted is None:
            unusable = layer.envelope.key_unusable
            found = (
                Bilingual("non vérifié : aucune identité donnée", "not checked: no identity given")
                if unusable is None  # else the suite's setup failed, not the message
                else Bilingual("non vérifié : ", "not checked: ") + unusable
            )
            yield not_checked(layer.part.path, found, expected)
        elif layer.envelope.decrypted:
            found = Bilingual(f"déchiffré ({cipher.fr})", f"decrypted ({cipher.en})")
            if layer.envelope.decrypt_note:
                found += SEMICOLON + layer.envelope.decrypt_note
            yield Outcome(layer.part.path, True, found, expected)
        else:
            error = layer.envelope.decrypt_failure or Bilingual.same("?")
            found = Bilingual("non déchiffré : ", "not decrypted: ") + error
            yield Outcome(layer.part.path, False, found, expected)


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
    expected = Bilingual(
        "AES-GCM, ou une signature à l'intérieur du chiffrement",
        "AES-GCM, or a signature inside the encryption",
    )
    for layer in _envelopes(context):
        envelope = layer.envelope
        assert envelope is not None
        fr, en = envelope.cipher_text.fr, envelope.cipher_text.en
        if envelope.aead:
            found = Bilingual(f"{fr} : chiffrement authentifié", f"{en}: authenticated encryption")
            yield Outcome(layer.part.path, True, found, expected)
        elif layer.inner is None:
            found = Bilingual(
                f"non vérifié : {fr}, non déchiffré", f"not checked: {en}, not decrypted"
            )
            yield not_checked(layer.part.path, found, expected)
        elif _signed_inside(context, layer.inner):
            found = Bilingual(
                f"{fr} avec une signature à l'intérieur", f"{en} with a signature inside"
            )
            yield Outcome(layer.part.path, True, found, expected)
        else:
            found = Bilingual(
                f"contenu {fr} sans signature à l'intérieur du chiffrement",
                f"{en} content with no signature inside the encryption",
            )
            yield Outcome(layer.part.path, False, found, expected)
