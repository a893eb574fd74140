"""`profiles new`: the draft tells the vendor that a value it changes needs its own citation.

The citations the draft copies from its base (marked assumed, "as BASE") document the
base's values; lint takes them for the draft's own, so a value the vendor edits under
one of them (send.encryption.content under the copied `send`) lints clean with the
base's reason. The draft's header says so where the vendor starts editing.
"""

from __future__ import annotations

from pathlib import Path

from conformance.cli import main
from conformance.profiles.loader import load_profile


def test_the_draft_asks_a_citation_for_a_changed_value(tmp_path: Path) -> None:
    assert main(["profiles", "new", "acme-mail", "--from", "smm", "--out", str(tmp_path)]) == 0
    path = tmp_path / "acme-mail.yaml"
    text = path.read_text(encoding="utf-8")
    header = text[: text.index("\nid: acme-mail\n")].replace("\n# ", " ")
    assert "A value you change needs a provenance entry of its own" in header
    assert "the entries copied below document smm's values" in header
    # Why: a changed value under a copied section citation is cited by smm's reason.
    path.write_text(text + "send:\n  encryption:\n    content: aes256-cbc\n", encoding="utf-8")
    draft = load_profile(str(path))
    assert draft.send.encryption is not None
    assert draft.send.encryption.content == "aes256-cbc"
    cited = draft.citation("send.encryption.content")
    assert cited is not None and cited.reason and cited.reason.startswith("as smm (copied")
