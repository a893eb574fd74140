"""`vectors import`'s second record: `negative.csv`, what the real product did with the
hostile messages of the export (`negative/`), into results.json's rejection matrix.

Each line says whether the product refused the message (or showed it without any
service the case breaks). A case refused, or accepted where the run's policy only
warns, is `refuses`; otherwise `accepts`: the same outcomes a rejection cell of the
matrix records, so the real product gets its column in the refusals page and its
false accepts count like a driven receiver's. A line left blank is not recorded.
"""

from __future__ import annotations

import csv
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import UserError
from conformance.rejections.model import CLASSES, POLICIES, Policy
from conformance.rejections.run import case_infos, cell_verdict
from conformance.results import (
    Passed,
    RejectionCaseResult,
    RejectionCell,
    Rejections,
    Results,
    rejection_summaries,
)
from conformance.vectors.common import read_text
from conformance.vectors.manifest import ExportManifest, NegativeVector

NEGATIVE_RECORD_FILE = "negative.csv"
NEGATIVE_COLUMNS = ("file", "refused", "notes")
_YES = {"yes", "y", "oui", "o", "true", "1"}
_NO = {"no", "n", "non", "false", "0"}


@dataclass(frozen=True)
class NegativeRecord:
    where: str  # FILE:LINE
    file: str
    refused: bool
    notes: str


def read_negative_record(path: Path) -> list[NegativeRecord]:
    """The recorded lines of negative.csv (blank `refused`: not recorded), checked: every
    bad line is listed."""
    problems: list[str] = []
    found = negative_lines(path, problems)
    if problems:
        raise UserError("\n".join(problems))
    return found


def negative_lines(
    path: Path, problems: list[str], negatives: Sequence[NegativeVector] | None = None
) -> list[NegativeRecord]:
    """The good recorded lines; every bad line's problems go to `problems` in line order,
    a file recorded twice too and, with the manifest's `negatives`, one it does not list.
    Unknown columns are listed once, as the record's, and their values ignored; a first
    line without `file` and `refused` is a UserError: nothing can be read."""
    text = read_text(path)
    reader = csv.DictReader(text.splitlines())
    names = reader.fieldnames or []
    unknown = sorted(n for n in names if n not in NEGATIVE_COLUMNS)
    if "file" not in names or "refused" not in names:
        raise UserError(
            f"{path}:1: the first line must name the columns {', '.join(NEGATIVE_COLUMNS)}"
            + (f" (unknown: {', '.join(map(repr, unknown))})" if unknown else "")
        )
    listed = None if negatives is None else {n.file for n in negatives}
    seen: dict[str, str] = {}
    found: list[NegativeRecord] = []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if unknown:  # said once, where the values begin, as the record's
            problems.append(unknown_columns(unknown, where, NEGATIVE_COLUMNS))
            unknown = []
        if None in row:
            problems.append(f"{where}: more values than the {len(names)} columns of line 1")
            continue
        file = (row.get("file") or "").strip().removeprefix("./")
        refused = (row.get("refused") or "").strip().lower()
        if not file or file.startswith("#") or not refused:
            continue  # a comment, or not recorded (yet)
        before = len(problems)
        missing = f"unknown negative vector {file!r} (not in the manifest)"
        check_once(file, where, listed, missing, seen, problems)
        if refused not in _YES | _NO:
            problems.append(f"{where}: column 'refused': {refused!r} is not yes/no (oui/non)")
        if len(problems) == before:
            notes = (row.get("notes") or "").strip()
            found.append(NegativeRecord(where, file, refused in _YES, notes))
    return found


def unknown_columns(names: Sequence[object], where: str, columns: Sequence[str]) -> str:
    """The problem of columns a record does not have (both records say it so)."""
    return (
        f"{where}: unknown column(s) {', '.join(map(repr, names))}; expected {', '.join(columns)}"
    )


def check_once(
    file: str,
    where: str,
    listed: Container[str] | None,
    missing: str,
    seen: dict[str, str],
    problems: list[str],
) -> None:
    """A recorded `file` is one the manifest `listed` (when given; else `missing`, the
    words for it, goes to `problems`) and is recorded once: `seen` keeps where it first
    was, named by a second line."""
    if listed is not None and file not in listed:
        problems.append(f"{where}: {missing}")
    elif file in seen:
        problems.append(f"{where}: {file!r} is already recorded at {seen[file]}")
    seen.setdefault(file, where)


def negative_cells(
    records: list[NegativeRecord], manifest: ExportManifest, receiver: str, policy: Policy
) -> list[RejectionCell]:
    """One rejection cell per class the record covers, for the real product."""
    by_file = {n.file: n for n in manifest.negatives}
    by_class: dict[str, list[RejectionCaseResult]] = {}
    for record in records:  # checked by negative_lines: each a negative of the manifest, once
        negative = by_file[record.file]
        expected = negative.expected.get(policy, "refuse")
        said = f"tester's notes: {record.notes}" if record.notes else ""
        passed: Passed | None
        if record.refused:
            outcome, reason, passed = "refuses", "refused (recorded by the tester)", "refused"
        elif expected == "warn":
            outcome, passed = "refuses", "tolerated"
            reason = f"accepted; tolerated (warn under {policy})"
        else:
            outcome, reason = "accepts", f"accepted, where {policy} expects {expected}"
            passed = None
        by_class.setdefault(negative.cls, []).append(
            RejectionCaseResult(
                case=negative.case,
                producer=negative.producer,
                outcome=outcome,  # type: ignore[arg-type]
                expected=expected,
                variant=negative.variant,
                variant_fr=negative.variant_fr,
                reason="; ".join(p for p in (reason, said) if p),
                examples=1,
                passed=passed,
            )
        )
    cells = []
    for cls in CLASSES:
        cases = by_class.get(cls)
        if not cases:
            continue
        verdict = cell_verdict([c.outcome for c in cases])
        accepted = next((c for c in cases if c.outcome == "accepts"), None)
        cells.append(
            RejectionCell.model_validate(
                {
                    "receiver": receiver,
                    "class": cls,
                    "verdict": verdict,
                    "reason": f"{accepted.case} [{accepted.producer}]: {accepted.reason}"
                    if accepted
                    else None,
                    "cases": cases,
                }
            )
        )
    return cells


def fold_rejections(results: Results, cells: list[RejectionCell], receiver: str) -> Rejections:
    """results.json's rejection matrix with the receiver's cells replaced by `cells` (a new
    matrix under osm-2008 when the run had none)."""
    found = results.rejections
    if found is None:
        found = Rejections(policy="osm-2008", classes=list(CLASSES), cases=case_infos("osm-2008"))
    kept = [c for c in found.cells if c.receiver != receiver]
    order: dict[str, int] = {c: i for i, c in enumerate(CLASSES)}
    merged = sorted([*kept, *cells], key=lambda c: (c.receiver, order.get(c.cls, len(order))))
    return found.model_copy(update={"cells": merged, "receivers": rejection_summaries(merged)})


def policy_of(results: Results) -> Policy:
    """The policy the record is judged under: the run's rejection matrix's, else osm-2008."""
    wanted = results.rejections.policy if results.rejections is not None else "osm-2008"
    return next((p for p in POLICIES if p == wanted), "osm-2008")
