"""negative.csv's unknown columns are read as record.csv's: listed once, in the record's
words, where the values begin, and every line still checked (their values ignored); only a
first line without `file` and `refused` stops the reading. Both records name a file the
manifest lacks, or one recorded twice, through one helper and in their own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.errors import UserError
from conformance.vectors.manifest import NegativeVector
from conformance.vectors.manual import read_record
from conformance.vectors.negative_record import negative_lines, read_negative_record

HOSTILE = "negative/altered/altered-content.reference.eml"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_column_is_listed_once_and_every_line_checked(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "negative.csv",
        f"file,colour,refused,extra\n{HOSTILE},red,yes,1\nnegative/b.eml,,maybe,\n"
        "negative/c.eml,blue,non,2\n",
    )
    problems: list[str] = []
    found = negative_lines(path, problems)
    assert problems == [
        f"{path}:2: unknown column(s) 'colour', 'extra'; expected file, refused, notes",
        f"{path}:3: column 'refused': 'maybe' is not yes/no (oui/non)",
    ]
    assert [(n.file, n.refused, n.notes) for n in found] == [
        (HOSTILE, True, ""),
        ("negative/c.eml", False, ""),
    ]


def test_the_unknown_column_line_is_the_records_words(tmp_path: Path) -> None:
    record = _write(tmp_path, "record.csv", "file,opened,colour\nmessages/x/sign.eml,no,blue\n")
    negative = _write(tmp_path, "negative.csv", f"file,refused,colour\n{HOSTILE},yes,blue\n")
    said = []
    for path, read in ((record, read_record), (negative, read_negative_record)):
        with pytest.raises(UserError) as caught:
            read(path)
        said.append(str(caught.value).removeprefix(f"{path}:2: ").split(";")[0])
    assert said == ["unknown column(s) 'colour'"] * 2


def test_only_a_missing_required_column_stops_the_reading(tmp_path: Path) -> None:
    path = _write(tmp_path, "negative.csv", f"file,refusd,notes\n{HOSTILE},yes,\n")
    with pytest.raises(UserError) as caught:
        negative_lines(path, [])
    assert str(caught.value) == (
        f"{path}:1: the first line must name the columns file, refused, notes (unknown: 'refusd')"
    )


def test_not_in_the_manifest_and_twice_keep_their_words(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "negative.csv",
        f"file,refused\n{HOSTILE},yes\n./{HOSTILE},no\nnegative/x.eml,yes\nnegative/x.eml,no\n",
    )
    listed = [NegativeVector.model_construct(file=HOSTILE)]  # only its file is looked at
    problems: list[str] = []
    found = negative_lines(path, problems, listed)
    assert problems == [
        f"{path}:3: {HOSTILE!r} is already recorded at {path}:2",
        f"{path}:4: unknown negative vector 'negative/x.eml' (not in the manifest)",
        f"{path}:5: unknown negative vector 'negative/x.eml' (not in the manifest)",
    ]
    assert [n.where for n in found] == [f"{path}:2"]
    problems = []  # without the manifest, a second line is still named
    negative_lines(path, problems)
    assert problems == [
        f"{path}:3: {HOSTILE!r} is already recorded at {path}:2",
        f"{path}:5: 'negative/x.eml' is already recorded at {path}:4",
    ]
