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
    fold_rejections,
    negative_cells,
    policy_of,
    read_negative_record,
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


def _yes_no(value: Any, column: str, where: str, required: bool) -> bool | None:
    text = _text(value).lower()
    if not text:
        if required:
            raise UserError(f"{where}: column {column!r} is empty (expected yes or no)")
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise UserError(f"{where}: column {column!r}: {_text(value)!r} is not yes/no (oui/non)")


def _signature(value: Any, where: str, required: bool) -> SignatureShown | None:
    text = _text(value).lower()
    if not text:
        if required:
            raise UserError(
                f"{where}: column 'signature' is empty (expected valid, invalid or absent)"
            )
        return None
    if text not in _SIGNATURE:
        raise UserError(
            f"{where}: column 'signature': {_text(value)!r} is not valid, invalid "
            "or absent (valide, invalide, absente)"
        )
    return _SIGNATURE[text]


def _line(row: Mapping[str, Any], where: str) -> Recorded | None:
    unknown = sorted(k for k in row if k not in COLUMNS and k is not None)
    if unknown:
        raise UserError(
            f"{where}: unknown column(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(COLUMNS)}"
        )
    file = _text(row.get("file"))
    if not file or file.startswith("#"):
        if any(_text(row.get(c)) for c in COLUMNS[1:]) and not file.startswith("#"):
            raise UserError(f"{where}: column 'file' is empty")
        return None
    opened = _yes_no(row.get("opened"), "opened", where, required=True)
    assert opened is not None
    return Recorded(
        where=where,
        file=file.removeprefix("./"),
        opened=opened,
        signature=_signature(row.get("signature"), where, required=opened),
        decrypted=_yes_no(row.get("decrypted"), "decrypted", where, required=opened),
        content_ok=_yes_no(row.get("content_ok"), "content_ok", where, required=opened),
        notes=_text(row.get("notes")),
    )


def _csv_rows(path: Path, text: str) -> list[tuple[str, Mapping[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or "file" not in reader.fieldnames:
        raise UserError(f"{path}:1: the first line must name the columns ({', '.join(COLUMNS)})")
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for row in reader:
        if None in row:  # more cells than columns
            count = len(reader.fieldnames)
            raise UserError(
                f"{path}:{reader.line_num}: more values than the {count} columns of the first line"
            )
        rows.append((f"{path}:{reader.line_num}", row))
    return rows


def _yaml_rows(path: Path, text: str) -> list[tuple[str, Mapping[str, Any]]]:
    # The suite's YAML reader: lines kept, plain data only (a tag, `!!int x`, is a problem
    # naming its line), bounded however many aliases the file holds.
    parsed = yaml_lines.parse(text)
    if parsed.problems:
        problem = parsed.problems[0]
        line = f":{problem.line}" if problem.line is not None else ""
        raise UserError(f"{path}{line}: not YAML: {problem.message}")
    data = parsed.data
    if data is None:
        return []
    if not isinstance(data, list):
        raise UserError(f"{path}:1: expected a list of records (- file: ...)")
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for index, item in enumerate(data):
        where = f"{path}:{parsed.lines[(index,)]}"
        if not isinstance(item, dict):
            raise UserError(f"{where}: expected a mapping with keys {', '.join(COLUMNS)}")
        rows.append((where, item))
    return rows


def read_record(path: Path) -> list[Recorded]:
    """The tester's record, checked line by line."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path, text)
    elif suffix in (".yaml", ".yml"):
        rows = _yaml_rows(path, text)
    else:
        raise UserError(f"{path}: expected a .csv, .yaml or .yml record")
    found = [r for where, row in rows if (r := _line(row, where)) is not None]
    if not found:
        raise UserError(f"{path}: records no vector")
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
    records: list[Recorded], manifest: ExportManifest, manifest_path: Path, product: str
) -> list[Cell]:
    by_file = {v.file: v for v in manifest.vectors}
    seen: dict[str, str] = {}
    cells = []
    for record in records:
        vector = by_file.get(record.file)
        if vector is None:
            raise UserError(
                f"{record.where}: unknown vector file {record.file!r} "
                f"(not listed in {manifest_path})"
            )
        if record.file in seen:
            raise UserError(
                f"{record.where}: {record.file!r} is already recorded at {seen[record.file]}"
            )
        seen[record.file] = record.where
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
    records = read_record(record_path)
    cells = record_cells(records, manifest, manifest_path, product)
    if negative_path is None and (record_path.parent / NEGATIVE_RECORD_FILE).is_file():
        negative_path = record_path.parent / NEGATIVE_RECORD_FILE
    negatives = read_negative_record(negative_path) if negative_path is not None else []
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
