"""`profiles new --from X` writes a draft that is not X: issue 16 point 5.

Identity, homologation and criteria are overridden, no citation of X is
passed on as a source, the draft lints clean and stays out of the 2008
comparison table; lint catches a criteria citation that quotes another
profile's column of the table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.matrix.assemble import agent_info
from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import lint, load_profile, load_sources

SOURCES, _ = load_sources([PROFILES_DIR / "sources.yaml"])


@pytest.mark.parametrize("base", ["smm", "easycrypt-net", "apimail-apicrypt"])
def test_new_is_a_draft_that_is_not_its_base(tmp_path: Path, base: str) -> None:
    assert main(["profiles", "new", "acme-mail", "--from", base, "--dir", str(tmp_path)]) == 0
    path = tmp_path / "acme-mail.yaml"
    assert lint([path]) == []
    new, old = load_profile(str(path)), load_profile(base)
    assert new.draft and not old.draft
    assert new.identity.name == "acme-mail" and new.identity.vendor is None
    assert new.homologation.status == "none" and new.homologation.note is None
    assert all(v is None for v in new.criteria.model_dump().values()), new.criteria
    assert old.provenance and all(c.assumed for c in new.provenance.values())
    assert all(c.column is None for c in new.provenance.values())
    # The behaviour is the base's, until edited.
    assert new.send == old.send and new.receive == old.receive


@pytest.mark.parametrize("base", ["smm", "easycrypt-net"])
def test_a_draft_stays_out_of_the_comparison_table(tmp_path: Path, base: str) -> None:
    assert main(["profiles", "new", "acme-mail", "--from", base, "--dir", str(tmp_path)]) == 0
    draft = load_profile(str(tmp_path / "acme-mail.yaml"))
    assert agent_info(load_profile(base), SOURCES).criteria, "the base has a column"
    assert agent_info(draft, SOURCES).criteria == {}
    # Even with criteria filled in, a draft has no row until `draft: true` is removed.
    filled = draft.model_copy(update={"criteria": load_profile(base).criteria})
    assert agent_info(filled, SOURCES).criteria == {}
    assert agent_info(filled.model_copy(update={"draft": False}), SOURCES).criteria


def _write(tmp_path: Path, column: str | None) -> Path:
    """smm's table citation copied under another id, with the given column (or none)."""
    text = (PROFILES_DIR / "smm.yaml").read_text(encoding="utf-8")
    assert "    column: smm\n" in text
    text = text.replace("id: smm\n", "id: smm-copy\n")
    text = text.replace("    column: smm\n", f"    column: {column}\n" if column else "")
    path = tmp_path / "smm-copy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_lint_catches_a_column_that_is_not_the_profiles_own(tmp_path: Path) -> None:
    problems = [str(p) for p in lint([_write(tmp_path, "smm")])]
    assert len(problems) == 1, problems
    assert "provenance.criteria.column" in problems[0], problems
    assert "quotes the column of 'smm', not this profile's ('smm-copy')" in problems[0]
    assert lint([_write(tmp_path, "smm-copy")]) == []


def test_lint_asks_the_column_of_a_table_citation(tmp_path: Path) -> None:
    problems = [str(p) for p in lint([_write(tmp_path, None)])]
    assert len(problems) == 1 and "column: smm-copy" in problems[0], problems


def test_every_shipped_table_citation_names_its_own_column() -> None:
    for path in PROFILES_DIR.glob("*.yaml"):
        if "source: comparison-table" in path.read_text(encoding="utf-8") and path.stem not in (
            "claims",
            "sources",
            "practice-software",
        ):
            profile = load_profile(path.stem)
            cited = profile.provenance.get("criteria")
            if cited is not None and cited.source == "comparison-table":
                assert cited.column == profile.id, path
