"""The YAML reader of profiles, waivers and practice files: aliases cannot make a small
file stand for data without end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conformance.matrix.waivers import WaiverError, load_waivers
from conformance.profiles import yaml_lines


def _laughs(levels: int) -> str:
    """The "billion laughs": each level ten aliases of the one before (10**levels values)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_in_bounded_time() -> None:
    start = time.perf_counter()
    parsed = yaml_lines.parse(_laughs(12))
    assert time.perf_counter() - start < 5
    assert parsed.data is None
    assert [p.message for p in parsed.problems] == [
        f"more than {yaml_lines.MAX_VALUES} values once aliases are expanded"
    ]


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    parsed = yaml_lines.parse("- ok\n- &a [*a]\n")
    assert parsed.data is None
    assert [(p.line, p.message) for p in parsed.problems] == [
        (2, "an alias to a collection that contains it")
    ]


def test_aliases_and_merge_keys_within_the_limit_are_read() -> None:
    parsed = yaml_lines.parse("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\ntwice: [*b, *b]\n")
    assert parsed.problems == []
    assert parsed.data == {
        "base": {"x": 1},
        "other": {"x": 1, "y": 2},
        "twice": [{"x": 1}, {"x": 1}],
    }


def test_a_waivers_file_bomb_is_a_named_problem(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(_laughs(12), encoding="utf-8")
    with pytest.raises(WaiverError) as caught:
        load_waivers(path)
    assert str(caught.value).startswith(f"{path}:1: more than ")
