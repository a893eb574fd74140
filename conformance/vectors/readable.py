"""Content as a human checks it.

A vector's exact content is a MIME entity (`plaintext/<function>.mime`); the
tester reads `plaintext/<function>.txt`: the subject, the letter as text, and
each file with its size and SHA-256 (what to compare against what the product shows).
`vectors verify` compares a reception with such an entity by the matrix's own
comparison (`scenarios.compare.entity_differences`).
"""

from __future__ import annotations

import hashlib

from conformance.scenarios.model import Scenario


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
