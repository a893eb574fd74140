"""A waivers file that cannot be read is named as the profiles' loader names it: the file,
the line of a byte that is not UTF-8, a missing file said once."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.matrix.waivers import WaiverError, load_waivers


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"- sender: a\n  receiver: caf\xe9\n", (2, "not UTF-8: byte 0xe9")),
        (b"\xff\n", (1, "not UTF-8: byte 0xff")),
        (None, (None, "no such file")),
    ],
)
def test_an_unreadable_waivers_file_is_named(
    tmp_path: Path, content: bytes | None, expected: tuple[int | None, str]
) -> None:
    path = tmp_path / "w.yaml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WaiverError) as caught:
        load_waivers(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [expected]
    assert str(caught.value).count(str(path)) == 1


def test_a_folder_is_not_a_waivers_file(tmp_path: Path) -> None:
    with pytest.raises(WaiverError, match=r": a directory, not a YAML file$"):
        load_waivers(tmp_path)
