"""Documentation that had drifted from the code: the adapter contract's version in the
design, where `token` is documented, and docs/matrix.md's results.json field table."""

from __future__ import annotations

import re

from pydantic import BaseModel

from conformance.paths import REPO_DIR
from conformance.results import Results
from conformance.status import CONTRACT_VERSION

DOCS = REPO_DIR / "docs"
# run.settings is a free mapping in the model: the keys conformance/matrix/finish.py writes.
SETTINGS_KEYS = (
    "senders", "receivers", "agents", "profiles", "policy", "cells_planned", "cells_done",
    "rejections", "large_attachment", "engine_mode", "engine_harnesses", "hypothesis_version",
    "transport", "via", "max_message_bytes", "rejection_cells_planned", "rejection_cells_done",
    "rejection_variants", "waivers", "delivery", "delivery_detail", "delivery_note", "hops",
)  # fmt: skip


def _text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_the_design_gives_the_current_contract_version() -> None:
    found = re.search(r"`contract_version`, (\d+)\s+today", _text("design.md"))
    assert found is not None and int(found.group(1)) == CONTRACT_VERSION


def test_the_readme_points_token_to_a_doc_that_documents_it() -> None:
    readme = (REPO_DIR / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `token init"))
    doc = re.search(r"docs/([a-z-]+\.md)", row)
    assert doc is not None
    text = _text(doc.group(1))
    assert "`osm-conformance token init`" in text and "`token show`" in text


def _fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    """Every field name (as serialised) of the model and of the models it holds."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(field.serialization_alias or name)
        pending: list[object] = [field.annotation]
        while pending:
            kind = pending.pop()
            pending.extend(getattr(kind, "__args__", ()))
            if isinstance(kind, type) and issubclass(kind, BaseModel) and kind not in seen:
                seen.add(kind)
                names |= _fields(kind, seen)
    return names


def test_the_results_table_names_every_field() -> None:
    section = _text("matrix.md").split("\n## results.json\n", 1)[1].split("\nEvidence of", 1)[0]
    named = set(re.findall(r"`([a-z_0-9]+)(?:\[\])?`", section))
    missing = sorted((_fields(Results, set()) | set(SETTINGS_KEYS)) - named)
    assert not missing, f"docs/matrix.md's results.json table leaves out {missing}"
