"""A profile named by path reads a file beside it only when it extends it: a broken
neighbour troubles only what needs it, and then names its own file and line. An
`extends` that cannot be resolved hides none of the file's other problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.profiles.loader import ProfileError, lint, load_profile


def _folder(tmp_path: Path) -> Path:
    """A draft of openssl (good.yaml) beside broken files."""
    folder = tmp_path / "x"
    assert main(["profiles", "new", "good", "--from", "openssl", "--out", str(folder)]) == 0
    (folder / "bad.yaml").write_text("id: !foo bad\n", encoding="utf-8")
    (folder / "broken.yaml").write_bytes(b"id: broken\nname: caf\xe9\n")
    (folder / "syntax.yaml").write_text("id: syntax\n  - [\n", encoding="utf-8")
    return folder


def test_a_broken_neighbour_not_extended_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _folder(tmp_path) / "good.yaml"
    capsys.readouterr()
    assert load_profile(good).id == "good"
    assert main(["agent", str(good), "version"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_neighbour_extended_is_read_and_its_problem_named(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    child = folder / "child.yaml"
    child.write_text("id: child\nextends: bad\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(child)
    assert [(p.file, p.line, p.message) for p in caught.value.problems] == [
        (folder / "bad.yaml", 1, "id: unsupported YAML tag '!foo'")
    ]


def test_a_neighbour_is_still_a_base_and_wins_over_the_shipped_one(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    text = (folder / "good.yaml").read_text(encoding="utf-8")
    leaf = folder / "leaf.yaml"
    leaf.write_text(
        text.replace("id: good", "id: leaf").replace("extends: openssl", "extends: good")
    )
    assert lint([leaf]) == []
    # A copy of a shipped profile beside it is the one extended.
    (folder / "openssl.yaml").write_text("id: openssl\nidentity: {nmae: x}\n", "utf-8")
    found = [(p.file.name, p.line, p.message) for p in lint([folder / "good.yaml"])]
    assert any(f[:2] == ("openssl.yaml", 2) and "nmae: unknown field" in f[2] for f in found)


def test_an_unknown_base_hides_no_other_problem(tmp_path: Path) -> None:
    path = tmp_path / "foo.yaml"
    path.write_text(
        "id: foo\nextends: osm-2009-base\nidentity: {nmae: x}\nsend: {signature: {digest: md7}}\n",
        encoding="utf-8",
    )
    assert [(p.line, p.message) for p in lint([path])] == [
        (2, "extends: unknown profile 'osm-2009-base' (did you mean 'osm-2008-base'?)"),
        (
            3,
            "identity.nmae: unknown field (did you mean 'name'?); known: name, name_fr, "
            "vendor, kind, platforms",
        ),
        (4, "send.signature.digest: 'md7' is not one of 'sha1', 'sha256', 'sha384', 'sha512'"),
    ]


def test_an_id_less_profile_of_an_unknown_base_says_both(tmp_path: Path) -> None:
    path = tmp_path / "anon.yaml"
    path.write_text("extends: nosuch\nidentity: {kind: robot}\n", encoding="utf-8")
    messages = [p.message for p in lint([path])]
    assert messages[0] == "extends: unknown profile 'nosuch'"
    assert "id: missing required field" in messages
    assert any(m.startswith("identity.kind: 'robot' is not one of") for m in messages)


def test_a_named_base_that_does_not_read_is_not_suggested_as_itself(tmp_path: Path) -> None:
    base, child = tmp_path / "b.yaml", tmp_path / "p1.yaml"
    base.write_text("id: b\nname: [unclosed\n", encoding="utf-8")
    child.write_text("extends: b\nid: p1\n", encoding="utf-8")
    messages = [p.message for p in lint([child, base])]
    assert "extends: unknown profile 'b'" in messages  # not "(did you mean 'b'?)"
    assert any(m.startswith("YAML syntax error") for m in messages)
