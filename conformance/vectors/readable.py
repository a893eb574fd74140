"""Content as a human checks it, and the comparison verify makes with a plaintext file.

A vector's exact content is a MIME entity (`plaintext/<function>.mime`); the
tester reads `plaintext/<function>.txt`: the subject, the letter as text, and
each file with its size and SHA-256 (what to compare against what the product shows).
"""

from __future__ import annotations

import hashlib
from email import policy
from email.message import Message
from email.parser import BytesParser

from conformance.scenarios.model import Scenario

SECURED = ("multipart/signed", "application/pkcs7-mime", "application/x-pkcs7-mime")


def readable_content(scenario: Scenario) -> str:
    lines = [
        f"Objet / Subject: {scenario.subject}",
        "",
        f"Lettre / Letter ({scenario.charset}):",
        "----------------------------------------",
        scenario.body.replace("\r\n", "\n"),
        "----------------------------------------",
    ]
    files = [(a.filename, a.media_type, a.data) for a in scenario.attachments]
    if scenario.hprim is not None:
        h = scenario.hprim
        files.append((h.filename, "HPRIM " + h.variant, h.data))
    if files:
        lines += ["", "Pièces jointes / Attachments (must arrive byte for byte):"]
        for name, kind, data in files:
            digest = hashlib.sha256(data).hexdigest()
            lines.append(f"- {name} ({kind}, {len(data)} bytes, SHA-256 {digest})")
    return "\n".join(lines) + "\n"


def _parts(entity: bytes) -> tuple[str | None, dict[str, bytes], str | None]:
    """(letter text, files by name, top media type) of a MIME entity, or of bare text."""
    message = BytesParser(policy=policy.compat32).parsebytes(entity)
    if not message.keys():  # bare text: the letter itself
        return entity.decode("utf-8", "replace"), {}, None
    letter: str | None = None
    files: dict[str, bytes] = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name is None and part.get_content_type() == "text/plain" and letter is None:
            letter = data.decode(_charset(part), "replace")
        elif name is not None:
            files[name] = data
    return letter, files, message.get_content_type()


def _charset(part: Message) -> str:
    charset = part.get_content_charset() or "us-ascii"
    try:
        "".encode(charset)
    except LookupError:
        return "latin-1"
    return charset


def content_differences(expected: bytes, received: bytes) -> list[str]:
    """Why the received entity does not carry the expected content ([] when it does).

    Same equivalence as the matrix's scenario comparison: the letter equal
    exactly or with CRLF turned into LF, files byte for byte under their name.
    """
    want_letter, want_files, _ = _parts(expected)
    got_letter, got_files, top = _parts(received)
    if top in SECURED:
        return [f"received entity is still {top}: the receiver did not unwrap it"]
    reasons = []
    if want_letter is not None:
        if got_letter is None:
            reasons.append("letter: no text/plain part received")
        elif got_letter not in (want_letter, want_letter.replace("\r\n", "\n")):
            reasons.append("letter: text differs")
    for name, data in want_files.items():
        if name not in got_files:
            reasons.append(f"file {name!r}: missing")
        elif got_files[name] != data:
            reasons.append(f"file {name!r}: bytes differ")
    return reasons
