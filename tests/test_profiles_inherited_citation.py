"""A value a profile sets over its base's is not documented by the base's citation."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.profiles.loader import ProfileError, lint, load_profile, load_profiles

HEAD = """\
id: {id}
extends: {base}
identity:
  name: Child
"""
CITED_NAME = "provenance:\n  identity.name: {assumed: true, reason: a test}\n"


def _write(folder: Path, name: str, text: str, base: str = "osm-2008-base") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(HEAD.format(id=name, base=base) + text, encoding="utf-8")
    return path


def _line(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def _lint(path: Path) -> list[str]:
    return [str(p).replace(f"{path.parent}/", "") for p in lint([path])]


def test_a_value_under_a_base_section_citation_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The base's `receive` assumption documents its wide accept lists; the child's AES-256
    alone is not what it documents."""
    path = _write(tmp_path, "child", "receive:\n  smime:\n    ciphers: [aes256-cbc]\n" + CITED_NAME)
    line = _line(path, "ciphers: [aes256-cbc]")
    assert _lint(path) == [
        f"child.yaml:{line}: receive.smime.ciphers: no provenance of its own: the citation "
        "'receive' of osm-2008-base would apply, which documents the value set there; cite a "
        "source or mark it assumed under provenance:"
    ]
    with pytest.raises(ProfileError):  # no report or claim can show the base's citation
        load_profiles([path])
    capsys.readouterr()
    assert main(["profiles", "lint", str(path)]) == 1
    assert "receive.smime.ciphers: no provenance of its own" in capsys.readouterr().out
    assert main(["profiles", "show", str(path)]) != 0
    assert "Traceback" not in capsys.readouterr().err


def test_its_own_citation_documents_it(tmp_path: Path) -> None:
    own = "  send.encryption.content: {assumed: true, reason: the child's cipher}\n"
    path = _write(tmp_path, "child", "send:\n  encryption:\n    content: aes256-cbc\n" + CITED_NAME)
    path.write_text(path.read_text(encoding="utf-8") + own, encoding="utf-8")
    assert lint([path]) == []
    facts = {p: c for p, _, c in load_profile(path).facts()}
    assert facts["send.encryption.content"].reason == "the child's cipher"  # type: ignore[union-attr]
    assert facts["send.encryption.key_transport"].reason.startswith("the source gives no")  # type: ignore[union-attr]


def test_its_section_citation_takes_over_the_longer_ones_it_covers(tmp_path: Path) -> None:
    """The base cites identity.name, .kind and .platforms one by one; a child that sets them
    all and cites `identity` is documented by that, not by the base's placeholders."""
    path = _write(
        tmp_path,
        "child",
        "  kind: webmail\n  platforms: [web]\n"
        "provenance:\n  identity: {assumed: true, reason: the child's own}\n",
    )
    assert lint([path]) == []
    profile = load_profile(path)
    for field in ("name", "kind", "platforms"):
        assert profile.citation(f"identity.{field}").reason == "the child's own"  # type: ignore[union-attr]
    assert "identity.name" not in profile.provenance


def test_the_shipped_products_cite_their_own_values() -> None:
    """smm's criteria come from its column of the comparison table, apimail-smime's name
    from the homologation list: before, the base's slide and placeholder were shown."""
    profiles = load_profiles()
    interoperability = profiles["smm"].citation("criteria.interoperability")
    assert interoperability is not None and interoperability.source == "comparison-table"
    assert interoperability.column == "smm"
    name = profiles["apimail-smime"].citation("identity.name")
    assert name is not None and name.source == "homologation-list"
    platforms = profiles["apimail-smime"].citation("identity.platforms")  # inherited: the base's
    assert platforms is not None and platforms.assumed and "Windows" in (platforms.reason or "")


def test_a_longer_base_citation_stays_over_what_the_child_leaves(tmp_path: Path) -> None:
    """The base's `receive.apicrypt` still documents the reads and require_signature the
    child inherits, so the child's `receive` cannot cover its holds_key: lint says where."""
    child = "receive:\n  apicrypt:\n    holds_key: true\n"
    cite = "provenance:\n  identity.name: {assumed: true, reason: a test}\n"
    cite += "  receive: {assumed: true, reason: the child's own}\n"
    path = _write(tmp_path, "child", child + cite)
    line = _line(path, "holds_key: true")
    assert _lint(path) == [
        f"child.yaml:{line}: receive.apicrypt.holds_key: no provenance of its own: the citation "
        "'receive.apicrypt' of osm-2008-base would apply, which documents the value set there "
        "(its own 'receive' is shorter: cite 'receive.apicrypt.holds_key' itself); cite a "
        "source or mark it assumed under provenance:"
    ]
    path.write_text(
        path.read_text(encoding="utf-8")
        + "  receive.apicrypt.holds_key: {assumed: true, reason: it keeps a key}\n",
        encoding="utf-8",
    )
    assert lint([path]) == []
    reads = load_profile(path).citation("receive.apicrypt.reads")
    assert reads is not None and reads.source == "interoperability-slide"


def test_a_value_is_checked_in_the_file_that_sets_it(tmp_path: Path) -> None:
    """A middle profile's digest under the grandbase's `receive`: reported in the middle file;
    a profile extending it may re-cite that inherited value (it is more derived)."""
    middle = _write(tmp_path, "middle", "receive:\n  smime:\n    digests: [sha256]\n" + CITED_NAME)
    line = _line(middle, "digests: [sha256]")
    expected = (
        f"middle.yaml:{line}: receive.smime.digests: no provenance of its own: the citation "
        "'receive' of osm-2008-base would apply"
    )
    child = _write(tmp_path, "child", CITED_NAME, base="middle")
    for path in (middle, child):
        got = _lint(path)
        assert len(got) == 1 and got[0].startswith(expected), got
    recite = "  receive.smime.digests: {assumed: true, reason: the middle's SHA-256}\n"
    child.write_text(child.read_text(encoding="utf-8") + recite, encoding="utf-8")
    assert lint([child]) == []
    assert load_profile(child).citation("receive.smime.digests").reason == "the middle's SHA-256"  # type: ignore[union-attr]


def test_a_variant_of_a_product_recites_what_it_inherits(tmp_path: Path) -> None:
    """A variant of EASYCRYPT.net (docs/apicrypt-model.md) that cites `criteria` replaces
    the product's `criteria` citation: it, not the base's slide, documents the product's
    criteria.interoperability, which lints clean in the product's own file."""
    variant = tmp_path / "easycrypt-no-key.yaml"
    variant.write_text(
        "id: easycrypt-no-key\nextends: easycrypt-net\n"
        "receive:\n  apicrypt:\n    reads: envelope-only\n    holds_key: false\n"
        "    require_signature: false\n"
        "provenance:\n  criteria: {assumed: true, reason: as easycrypt-net}\n"
        "  receive.apicrypt: {assumed: true, reason: it lost its key}\n",
        encoding="utf-8",
    )
    assert lint([variant]) == []
    profile = load_profile(variant)
    assert profile.citation("criteria.interoperability").reason == "as easycrypt-net"  # type: ignore[union-attr]
    assert profile.citation("receive.apicrypt.holds_key").reason == "it lost its key"  # type: ignore[union-attr]


def test_a_section_set_to_null_is_a_fact_to_cite(tmp_path: Path) -> None:
    """`receive.smime: null` says the product reads no S/MIME: the base's `receive`
    citation does not document it; the child's own does."""
    text = (
        "receive:\n  functions: []\n  reads_hprim_net: false\n  smime: null\n" + CITED_NAME
        + "  receive.functions: {assumed: true, reason: t}\n"
        "  receive.reads_hprim_net: {assumed: true, reason: t}\n"
    )  # fmt: skip
    path = _write(tmp_path, "child", text)
    line = _line(path, "smime: null")
    assert _lint(path) == [
        f"child.yaml:{line}: receive.smime: no provenance of its own: the citation 'receive' "
        "of osm-2008-base would apply, which documents the value set there; cite a source or "
        "mark it assumed under provenance:"
    ]
    path.write_text(path.read_text() + "  receive.smime: {assumed: true, reason: t}\n")
    assert lint([path]) == []
