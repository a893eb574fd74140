"""A YAML tag in any YAML input (profile, practice, waivers) is a problem naming the file
and the line, never PyYAML's traceback: only plain data is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.matrix.waivers import WaiverError, load_waivers
from conformance.profiles import yaml_lines
from conformance.profiles.loader import lint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("platform: !foo windows\n", (1, "platform: unsupported YAML tag '!foo'")),
        (
            "a: 1\nid: !!python/object:os.system ls\n",
            (2, "id: unsupported YAML tag '!!python/object:os.system'"),
        ),
        ("a: !!binary aGVsbG8=\n", (1, "a: unsupported YAML tag '!!binary'")),
        ("a: !!set {x, y}\n", (1, "a: unsupported YAML tag '!!set'")),
        ("a:\n  b: !foo [1]\n", (2, "a.b: unsupported YAML tag '!foo'")),
        ("- {receiver: !!int abc}\n", (1, "[0].receiver: 'abc' is not an integer (!!int)")),
        ('a: !!float ""\n', (1, "a: '' is not a number (!!float)")),
        (
            "a: &x 1\nb:\n  <<: *x\n",
            (3, "b: expected a mapping or list of mappings for merging, but found scalar"),
        ),
    ],
)
def test_a_tag_or_a_value_its_tag_refuses_is_a_problem_at_its_line(
    text: str, expected: tuple[int, str]
) -> None:
    parsed = yaml_lines.parse(text)
    assert [(p.line, p.message) for p in parsed.problems] == [expected]


def test_an_integer_too_long_for_python_is_a_problem() -> None:
    parsed = yaml_lines.parse("count: " + "1" * 5000 + "\n")
    assert [(p.line, p.message) for p in parsed.problems] == [
        (1, f"count: '{'1' * 40}...' is not an integer (!!int)")
    ]


def test_every_tag_is_said_and_plain_data_still_reads() -> None:
    parsed = yaml_lines.parse("x: {a: !foo 1, b: !bar 2}\n")
    assert [p.message for p in parsed.problems] == [
        "x.a: unsupported YAML tag '!foo'",
        "x.b: unsupported YAML tag '!bar'",
    ]
    plain = yaml_lines.parse("a: yes\nb: !!str 3\nc: 2008-07\nd: !!int 0x1F\ne: [1, 2.5]\n")
    assert plain.problems == []
    assert plain.data == {"a": "yes", "b": "3", "c": "2008-07", "d": 31, "e": [1, 2.5]}


def test_choose_names_the_tag_of_the_practice_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    practice = tmp_path / "p.yaml"
    practice.write_text("platform: !foo windows\n", encoding="utf-8")
    results = tmp_path / "r.json"  # never read: the practice is refused first
    assert main(["choose", str(practice), "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert f"{practice}:1: platform: unsupported YAML tag '!foo'" in err
    assert "Traceback" not in err


def test_profiles_lint_reports_the_tag_as_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "x.yaml").write_text("id: !!python/object:os.system ls\n", encoding="utf-8")
    assert main(["profiles", "lint", str(folder)]) == 1
    assert "x.yaml:1: id: unsupported YAML tag '!!python/object:os.system'" in (
        capsys.readouterr().out
    )


def test_agent_of_a_tagged_profile_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("id: t\nextends: openssl\nreceive: !!int abc\n", encoding="utf-8")
    assert main(["agent", str(path), "version"]) == 2
    assert "t.yaml:3: receive: 'abc' is not an integer (!!int)" in capsys.readouterr().err


def test_a_waiver_with_a_tag_is_named_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("- sender: a\n  receiver: !!int abc\n", encoding="utf-8")
    with pytest.raises(WaiverError) as caught:
        load_waivers(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (2, "[0].receiver: 'abc' is not an integer (!!int)")
    ]
    argv = ["run", "--sender", "reference", "--receiver", "reference", "--waivers", str(path)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2  # before any cell
    assert "w.yaml:2: [0].receiver" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_tagged_profile_among_those_linted_is_one_finding(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text("id: acme\nextends: !foo openssl\n", encoding="utf-8")
    assert [(p.line, p.message) for p in lint([path])] == [
        (2, "extends: unsupported YAML tag '!foo'")
    ]
