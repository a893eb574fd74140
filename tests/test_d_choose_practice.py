"""A practice file's problems are all reported at once: the unknown tool and practice
software beside the schema's problems (docs/choose.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.choose.inputs import load_practice
from conformance.profiles.loader import ProfileError
from conformance.profiles.practice import load_practice_software

TOOLS = ("smm", "openssl")


def test_every_problem_of_a_practice_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "platform: windoz\npractice_software: NoSuchSoft\ncorrespondents:\n"
        "  - {tool: nosuch, count: 0}\n  - {tool: BAD ID}\n  - {tool: smm}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as caught:
        load_practice(path, TOOLS, load_practice_software())
    found = [(p.line, p.message.split(" (known")[0]) for p in caught.value.problems]
    assert found == [
        (1, "platform: 'windoz' is not one of 'windows', 'macos', 'linux'"),
        (2, "practice_software: 'NoSuchSoft' is not in the practice software table"),
        (4, "correspondents[0].count: input should be greater than or equal to 1 (got 0)"),
        (4, "correspondents[0].tool: unknown tool 'nosuch'"),
        (5, "correspondents[1].tool: 'BAD ID' does not match the pattern ^[a-z0-9][a-z0-9-]*$"),
    ]


def test_a_good_practice_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "platform: linux\npractice_software: hellodoc\ncorrespondents: [{tool: smm}]\n",
        encoding="utf-8",
    )
    practice = load_practice(path, TOOLS, load_practice_software())
    assert practice.correspondents[0].tool == "smm"
