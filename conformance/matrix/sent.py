"""What a sender really sent (its format and algorithms), read from its message, beside
what its profile declares.

The message is read by the validator's reading layer (check.context, over
core.cms and core.mime), with the receiver's key so that a signature inside
the encryption is reached. A profile that says SHA-256 while the product signs
with SHA-1 is a contradiction of the profile, listed with the claims' ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from conformance.core.apicrypt_mark import is_apicrypt
from conformance.profiles.schema import Profile
from conformance.results import SENT_FORMAT, Cell, Contradiction

if TYPE_CHECKING:
    from conformance.check.layers import CmsLayer

# The kinds compared, in the order they are shown, with the profile field that declares each.
DECLARED_BY: Final = {
    "signature_format": "send.signature.format",
    "digest": "send.signature.digest",
    "signature": "send.signature.algorithm",
    "content_cipher": "send.encryption.content",
    "key_transport": "send.encryption.key_transport",
}


def sent_algorithms(
    message: bytes,
    *,
    identity_dir: Path,
    trust: Iterable[Path],
    crls: Iterable[Path],
    policy: str,
) -> dict[str, list[str]]:
    """Per kind, the names the message uses (the engine's option names, or an OID): every
    S/MIME layer, those inside the encryption too when the recipient's key opens it.
    Empty when nothing is readable (an Apicrypt message, a broken one)."""
    from conformance.check.catalogue import rule_ids
    from conformance.check.context import build_context
    from conformance.check.policy import load_policy

    try:
        context = build_context(
            message,
            policy=load_policy(policy, rule_ids()),
            identity_dir=identity_dir,
            trust=list(trust),
            crls=list(crls),
            expected_sender=None,
            expected_recipient=None,
        )
    except Exception:  # what the message is made of is the validator's to report
        return {}
    return algorithms_in(context.layers)


def algorithms_in(layers: Iterable[CmsLayer]) -> dict[str, list[str]]:
    """`sent_algorithms` of layers the validator already read (`check_message`)."""
    found: dict[str, list[str]] = {kind: [] for kind in DECLARED_BY}

    def add(kind: str, name: str | None) -> None:
        if name and name not in found[kind]:
            found[kind].append(name)

    for layer in layers:
        if layer.signed is not None and layer.signed.signers:
            add("signature_format", "multipart-signed" if layer.signed.detached else "opaque")
            for signer in layer.signed.signers:
                add("digest", signer.digest)
                add("signature", signer.signature)
        if layer.envelope is not None:
            add("content_cipher", layer.envelope.cipher)
            for recipient in layer.envelope.recipients:
                add("key_transport", recipient.key_transport)
    return {kind: names for kind, names in found.items() if names}


def with_format(
    message: bytes, used: dict[str, list[str]], layers: Sequence[CmsLayer] | None = None
) -> dict[str, list[str]]:
    """Cell.sent: the format the message was in (SENT_FORMAT), read from it, then the algorithms
    it used (`used`). Read, not declared: a product that also speaks Apicrypt sends that to
    an Apicrypt recipient. apicrypt: the model's format (is_apicrypt); smime: an S/MIME
    layer was read; plain: the validator read the message (`layers`) and found no S/MIME
    layer. Without the validator's layers, a message of which nothing was read has none."""
    if is_apicrypt(message):
        found = "apicrypt"
    elif used or layers:
        found = "smime"
    elif layers is not None:
        found = "plain"
    else:
        return used
    return {SENT_FORMAT: [found], **used}


def algorithms(sent: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Cell.sent without its format: the kinds of algorithm only (DECLARED_BY's)."""
    return {kind: names for kind, names in sent.items() if kind in DECLARED_BY}


def declared(profile: Profile) -> dict[str, str]:
    """What an S/MIME sender's profile says it sends, per kind (empty for other senders)."""
    send = profile.send
    if send.format != "smime" or send.signature is None or send.encryption is None:
        return {}
    return {
        "signature_format": send.signature.format,
        "digest": send.signature.digest,
        "signature": send.signature.algorithm,
        "content_cipher": send.encryption.content,
        "key_transport": send.encryption.key_transport,
    }


def sent_contradictions(
    cells: Iterable[Cell], profiles: Mapping[str, Profile]
) -> list[Contradiction]:
    """Where a sender's message used something else than its profile declares: one
    contradiction per sender and difference, at the first cell that shows it."""
    found: dict[tuple[str, str, str], Contradiction] = {}
    for cell in cells:
        profile = profiles.get(cell.sender)
        if profile is None or not cell.sent:
            continue
        says = declared(profile)
        for kind, names in algorithms(cell.sent).items():
            expected = says.get(kind)
            if expected is None or names == [expected]:
                continue
            observed = ", ".join(names)
            key = (cell.sender, kind, observed)
            if key in found:
                continue
            found[key] = Contradiction(
                sender=cell.sender,
                receiver=cell.receiver,
                function=cell.function,
                expected=f"{kind} {expected}",
                observed=f"{kind} {observed}",
                source=f"profile {cell.sender}: {DECLARED_BY[kind]} (what its message really used)",
            )
    return list(found.values())
