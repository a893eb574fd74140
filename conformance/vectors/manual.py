"""`vectors import`: the tester's record of what the real product showed, into results.json.

The record (CSV or YAML, columns in docs/vectors.md and the export's README)
says per vector whether the product opened it, the signature status it
showed, whether it decrypted, and whether the content was right. Each line
becomes a cell with the real product as receiver, judged against the
function's required services like any cell; a line that does not say enough
to judge (a blank where a value is needed, an unknown value, an unknown
vector) is an error naming the file and line, never a guess.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from conformance.errors import UserError
from conformance.functions import REQUIRED_SERVICES
from conformance.profiles import yaml_lines
from conformance.profiles.schema import Profile
from conformance.results import (
    Cell,
    Observed,
    Results,
    Verdict,
    load_results,
    relative_evidence,
)
from conformance.vectors.common import (
    check_function,
    read_text,
    real_id,
    shipped_profile,
    shipped_profiles,
)
from conformance.vectors.manifest import MANIFEST_FILE, ExportManifest, Vector, load_export_manifest
from conformance.vectors.negative_record import (
    NEGATIVE_RECORD_FILE,
    NegativeRecord,
    check_once,
    fold_rejections,
    negative_cells,
    negative_lines,
    policy_of,
    unknown_columns,
)
from conformance.vectors.product_row import fold_cells

COLUMNS = ("file", "opened", "signature", "decrypted", "content_ok", "notes")
SignatureShown = Literal["valid", "invalid", "absent"]

_YES = {"yes", "y", "oui", "o", "true", "1"}
_NO = {"no", "n", "non", "false", "0"}
_SIGNATURE: dict[str, SignatureShown] = {
    "valid": "valid",
    "valide": "valid",
    "invalid": "invalid",
    "invalide": "invalid",
    "absent": "absent",
    "absente": "absent",
    "none": "absent",
    "aucune": "absent",
}


@dataclass(frozen=True)
class Recorded:
    """One line of the tester's record."""

    where: str  # "FILE:LINE"
    file: str
    opened: bool
    signature: SignatureShown | None
    decrypted: bool | None
    content_ok: bool | None
    notes: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _yes_no(
    value: Any, column: str, where: str, required: bool, problems: list[str]
) -> bool | None:
    """The yes/no of a column (None: empty); what is wrong with it goes to `problems`."""
    text = _text(value).lower()
    if not text:
        if required:
            problems.append(f"{where}: column {column!r} is empty (expected yes or no)")
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    problems.append(f"{where}: column {column!r}: {_text(value)!r} is not yes/no (oui/non)")
    return None


def _signature(
    value: Any, where: str, required: bool, problems: list[str]
) -> SignatureShown | None:
    text = _text(value).lower()
    if not text:
        if required:
            problems.append(
                f"{where}: column 'signature' is empty (expected valid, invalid or absent)"
            )
        return None
    if text not in _SIGNATURE:
        problems.append(
            f"{where}: column 'signature': {_text(value)!r} is not valid, invalid "
            "or absent (valide, invalide, absente)"
        )
        return None
    return _SIGNATURE[text]


def _line(row: Mapping[str, Any], where: str, problems: list[str]) -> Recorded | None:
    """One line of the record (None: a blank or comment line, or a bad one, whose every
    problem goes to `problems`)."""
    before = len(problems)
    unknown = sorted((k for k in row if k not in COLUMNS), key=str)  # YAML: any key
    if unknown:
        problems.append(unknown_columns(unknown, where, COLUMNS))
    file = _text(row.get("file"))
    if not file or file.startswith("#"):
        if any(_text(row.get(c)) for c in COLUMNS[1:]) and not file.startswith("#"):
            problems.append(f"{where}: column 'file' is empty")
        return None
    opened = _yes_no(row.get("opened"), "opened", where, True, problems)
    required = opened is True  # a bad `opened`: the other columns checked as far as they go
    recorded = Recorded(
        where=where,
        file=file.removeprefix("./"),
        opened=bool(opened),
        signature=_signature(row.get("signature"), where, required, problems),
        decrypted=_yes_no(row.get("decrypted"), "decrypted", where, required, problems),
        content_ok=_yes_no(row.get("content_ok"), "content_ok", where, required, problems),
        notes=_text(row.get("notes")),
    )
    return recorded if len(problems) == before else None


# A record's lines: where each is, and its mapping or what is wrong with its shape.
_Rows = list[tuple[str, Mapping[str, Any] | str]]


def _csv_rows(path: Path, text: str) -> _Rows:
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or "file" not in reader.fieldnames:
        raise UserError(f"{path}:1: the first line must name the columns ({', '.join(COLUMNS)})")
    unknown = sorted(k for k in reader.fieldnames if k not in COLUMNS)
    rows: _Rows = []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if unknown and not rows:  # the first line's, said once, where its values begin
            rows.append((where, unknown_columns(unknown, where, COLUMNS)))
        if None in row:  # more cells than columns
            count = len(reader.fieldnames)
            rows.append((where, f"{where}: more values than the {count} columns of the first line"))
            continue
        rows.append((where, {k: v for k, v in row.items() if k in COLUMNS}))
    return rows


def _yaml_rows(path: Path, text: str) -> _Rows:
    # The suite's YAML reader: lines kept, plain data only (a tag, `!!int x`, is a problem
    # naming its line), bounded however many aliases the file holds.
    parsed = yaml_lines.parse(text)
    if parsed.problems:
        raise UserError(
            "\n".join(
                f"{path}{'' if p.line is None else f':{p.line}'}: not YAML: {p.message}"
                for p in parsed.problems
            )
        )
    data = parsed.data
    if data is None:
        return []
    if not isinstance(data, list):
        raise UserError(f"{path}:1: expected a list of records (- file: ...)")
    rows: _Rows = []
    for index, item in enumerate(data):
        where = f"{path}:{parsed.lines[(index,)]}"
        if not isinstance(item, dict):
            item = f"{where}: expected a mapping with keys {', '.join(COLUMNS)}"
        rows.append((where, item))
    return rows


def record_lines(
    path: Path, problems: list[str], manifest: tuple[Path, Mapping[str, Vector]] | None = None
) -> list[Recorded]:
    """The record's good lines; every bad line's problems go to `problems`, in line order,
    and with the manifest (its path, its vectors by file), a file it does not list or
    recorded twice too."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path, text)
    elif suffix in (".yaml", ".yml"):
        rows = _yaml_rows(path, text)
    else:
        raise UserError(f"{path}: expected a .csv, .yaml or .yml record")
    found: list[Recorded] = []
    seen: dict[str, str] = {}
    for where, row in rows:
        if isinstance(row, str):
            problems.append(row)
            continue
        before = len(problems)
        file = _text(row.get("file")).removeprefix("./")
        if manifest is not None and file and not file.startswith("#"):
            missing = f"unknown vector file {file!r} (not listed in {manifest[0]})"
            check_once(file, where, manifest[1], missing, seen, problems)
        line = _line(row, where, problems)
        if line is not None and len(problems) == before:
            found.append(line)
    if not found and not problems:
        raise UserError(f"{path}: records no vector")
    return found


def read_record(path: Path) -> list[Recorded]:
    """The tester's record, checked line by line: every bad line is listed."""
    problems: list[str] = []
    found = record_lines(path, problems)
    if problems:
        raise UserError("\n".join(problems))
    return found


def judge_record(record: Recorded, vector: Vector) -> tuple[Verdict, str | None, dict[str, bool]]:
    """A cell's verdict from what the tester saw, against the function's required services."""
    function = check_function(vector.function, f"{MANIFEST_FILE}: {vector.file}")
    signed = record.signature == "valid"
    services = {
        "authentication": signed,
        "integrity": signed,
        "non_repudiation": signed,
        "confidentiality": bool(record.decrypted),
    }
    if not record.opened:
        return "fail", "not opened by the product", {k: False for k in services}
    if record.signature == "invalid":
        return "fail", "the product showed the signature as invalid", services
    missing = [s for s in REQUIRED_SERVICES[function] if not services[s]]
    if missing:
        return (
            "fail",
            "services not held: " + ", ".join(m.replace("_", "-") for m in missing),
            services,
        )
    if not record.content_ok:
        return "fail", "content differs (as recorded by the tester)", services
    return "pass", None, services


def record_cells(
    records: list[Recorded], vectors: Mapping[str, Vector], product: str
) -> list[Cell]:
    """A cell per line of the record (checked: each names a vector of the manifest once)."""
    cells = []
    for record in records:
        vector = vectors[record.file]
        verdict, reason, services = judge_record(record, vector)
        parts = [
            p for p in (reason, f"tester's notes: {record.notes}" if record.notes else None) if p
        ]
        if vector.expected is not None and vector.expected != verdict:
            parts.append(
                f"a reader following the standard ({vector.expected_reader}) gets "
                f"{vector.expected}"
                + (f" ({vector.expected_reason})" if vector.expected_reason else "")
            )
        if vector.profile_expected is not None and vector.profile_expected != verdict:
            parts.append(
                f"the profile {product} predicts {vector.profile_expected}"
                + (f" ({vector.profile_reason})" if vector.profile_reason else "")
            )
        cells.append(
            Cell(
                sender=vector.sender,
                receiver=real_id(product),
                function=vector.function,
                verdict=verdict,
                examples=1,
                reason="; ".join(parts) or None,
                services=services,
                services_required=list(REQUIRED_SERVICES[check_function(vector.function, "")]),
            )
        )
    return cells


def import_record(
    results_path: Path,
    record_path: Path,
    product: str,
    vectors_dir: Path | None = None,
    *,
    observed: Observed = "by-hand",
    negative_path: Path | None = None,
) -> tuple[Results, list[str]]:
    """results.json with the record folded in (and the negative record, `negative.csv`
    beside the record unless named), and the vectors the record leaves out."""
    profiles: dict[str, Profile] = shipped_profiles()
    profile = shipped_profile(product, profiles)
    results = load_results(results_path)
    where = vectors_dir if vectors_dir is not None else record_path.parent
    manifest_path = where / MANIFEST_FILE if where.is_dir() else where
    if not manifest_path.is_file():
        raise UserError(f"{manifest_path}: no such file (give the export directory with --vectors)")
    manifest = load_export_manifest(manifest_path)
    if manifest.product != product:
        raise UserError(
            f"{manifest_path}: the vectors were exported for {manifest.product!r}, not {product!r}"
        )
    if negative_path is None and (record_path.parent / NEGATIVE_RECORD_FILE).is_file():
        negative_path = record_path.parent / NEGATIVE_RECORD_FILE
    records, negatives = _records(record_path, negative_path, manifest, manifest_path)
    vectors = {v.file: v for v in manifest.vectors}
    cells = record_cells(records, vectors, product)
    recorded = {r.file for r in records}
    missing = [v.file for v in manifest.vectors if v.file not in recorded]
    how = "opened by hand in" if observed == "by-hand" else "opened by a program driving"
    note = f"vectors {how} the real product (vectors import)"
    settings = {
        "imported": [
            *results.run.settings.get("imported", []),
            {
                "record": str(record_path),
                "negative": str(negative_path) if negatives else None,
                "as": product,
                "observed": observed,
                "vectors": str(manifest_path),
                "cells": len(cells),
                "rejection_cases": len(negatives),
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        ]
    }
    folded = fold_cells(results, cells, profile, profiles, note, settings, observed)
    if negatives:
        rejection = negative_cells(negatives, manifest, real_id(product), policy_of(folded))
        folded.rejections = fold_rejections(folded, rejection, real_id(product))
    return folded, missing


def _records(
    record_path: Path,
    negative_path: Path | None,
    manifest: ExportManifest,
    manifest_path: Path,
) -> tuple[list[Recorded], list[NegativeRecord]]:
    """Both records' lines, checked against the manifest: every problem of both is listed
    at once (a UserError), as `vectors verify` lists its manifest's."""
    problems: list[str] = []
    records: list[Recorded] = []
    negatives: list[NegativeRecord] = []
    try:
        vectors = {v.file: v for v in manifest.vectors}
        records = record_lines(record_path, problems, (manifest_path, vectors))
    except UserError as exc:
        problems.append(str(exc))
    if negative_path is not None:
        try:
            negatives = negative_lines(negative_path, problems, manifest.negatives)
        except UserError as exc:
            problems.append(str(exc))
    if problems:
        raise UserError("\n".join(problems))
    return records, negatives


def move_evidence(results: Results, results_path: Path, new_path: Path) -> None:
    """Make the evidence paths of `results` (relative to the folder of `results_path`, the
    run folder) relative to the folder of `new_path`, where `vectors import --out` writes.

    A report links only files under its results.json's folder: with evidence to link, the
    new folder must be the run folder or one above it; any other is refused.
    """
    run_dir = os.path.realpath(results_path.parent)
    prefix = os.path.relpath(run_dir, os.path.realpath(new_path.parent))
    if prefix == ".":
        return
    lists = [paths for _, paths in results.evidence_lists()]
    count = sum(1 for paths in lists for path in paths if relative_evidence(path))
    if not count:
        return
    if prefix == os.pardir or prefix.startswith(os.pardir + os.sep):
        raise UserError(
            f"--out {new_path}: the {count} evidence path(s) of {results_path} are relative to "
            f"{run_dir}, and a report links only files under its results.json's folder: "
            f"write it in {run_dir} or a folder above it"
        )
    base = prefix.replace(os.sep, "/") + "/"
    for paths in lists:
        paths[:] = [base + p if relative_evidence(p) else p for p in paths]
