"""`profiles new`: a value the draft sets is not documented by a citation it copied.

The citations the draft copies from its base (marked assumed, "as BASE", `copied_from:
BASE`) document the base's values. A value the vendor then sets under one of them
(send.encryption.content under the copied `send`) needs a citation of its own: lint says
so, where it once took the copy for the draft's own and showed the base's reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.profiles.loader import ProfileError, lint, load_profile


def test_a_value_set_under_a_copied_citation_needs_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profiles", "new", "acme-mail", "--from", "smm", "--out", str(tmp_path)]) == 0
    path = tmp_path / "acme-mail.yaml"
    text = path.read_text(encoding="utf-8")
    header = text[: text.index("\nid: acme-mail\n")].replace("\n# ", " ")
    assert "A value you set needs a provenance entry of its own" in header
    assert lint([path]) == []  # the draft as written: nothing set under a copied citation
    draft = load_profile(str(path))
    assert draft.citation("send.encryption.content") is not None
    assert draft.citation("send.encryption.content").copied_from == "smm"  # type: ignore[union-attr]
    changed = text + "send:\n  encryption:\n    content: aes256-cbc\n"
    path.write_text(changed, encoding="utf-8")
    problems = [str(p) for p in lint([path])]
    assert len(problems) == 1 and "send.encryption.content: no provenance of its own" in problems[0]
    assert "copied from smm by `profiles new`" in problems[0]
    with pytest.raises(ProfileError):
        load_profile(str(path))
    own = "  send.encryption.content: {assumed: true, reason: the vendor's cipher}\n"
    # the copied entry of that very fact, if the base cites it on its own, gives way
    changed = re.sub(r"(?m)^  send\.encryption\.content:\n(?:    .*\n)+", "", changed)
    body, _, rest = changed.partition("provenance:\n")
    path.write_text(body + "provenance:\n" + own + rest, encoding="utf-8")
    assert lint([path]) == []
    assert load_profile(str(path)).citation("send.encryption.content").copied_from is None  # type: ignore[union-attr]
    capsys.readouterr()
