"""The messages `serve` drops into the product's inbox, and the list the tester works from.

They are those of `vectors export --for PROFILE` (conformance.vectors.export, reused as
it is): the basic message of every function, really sent by the `reference` agent and by
each shipped real engine installed here, and the negative corpus (one hostile message per
rejection case and producer). The export stays in OUT/vectors/, with its record.csv and
negative.csv, so that what the tester records is folded in by `vectors import`
unchanged.

Each dropped message gets a short id (I01... for the interop messages, R01... for the
hostile ones) at the front of its Subject, so the tester can tell them apart in a list,
and in an `X-OSM-Conformance-Drop` header. Only the outer header changes: the signed or
encrypted content, and every header a signature could cover, are the export's bytes.

A hostile message whose case made its signer's issuer comes with that issuer's CRL (the
export's `crls`, kept in OUT/vectors/ beside the message): the drop names them, so the
tester loads them into the product before reading it; without them a product that
checks revocation refuses for a missing CRL, not for what the case breaks.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from conformance.core.vocabulary import REAL_TOOLS, Function
from conformance.vectors.common import shipped_profile, shipped_profiles
from conformance.vectors.export import STANDARD_READER, export_vectors
from conformance.vectors.manifest import ExportManifest

VECTORS_DIR = "vectors"
DROPPED_FILE = "dropped.csv"
# `crls` last: a reader of the earlier columns, by name or by position, reads them unchanged.
DROPPED_COLUMNS = (
    "id",
    "kind",
    "file",
    "sender",
    "function",
    "case",
    "expected",
    "subject",
    "crls",
)
CRL_SEPARATOR = " "  # between the paths of one drop's CRLs in dropped.csv (none has a space)
DROP_HEADER = b"X-OSM-Conformance-Drop"
Kind = Literal["interop", "rejection"]


@dataclass(frozen=True)
class Drop:
    id: str  # I01, R01
    kind: Kind
    file: str  # relative to OUT/vectors: the key of record.csv / negative.csv
    sender: str  # the sending profile (interop) or the producer of the hostile message
    function: str
    case: str  # the rejection case id ("" for an interop message)
    expected: str  # what a product that follows the standard does
    subject: str  # the Subject as dropped
    # CRLs to load into the product before it reads the message, relative to OUT/vectors
    # like `file` (the export's negative `crls`; empty for every other message)
    crls: tuple[str, ...] = ()


def default_senders(product: str) -> list[str]:
    """`reference` and every shipped real engine but the product's own profile (an engine
    that is not installed here is listed as not exported, with the reason)."""
    profiles = shipped_profiles()
    shipped_profile(product, profiles)
    real = [p.id for p in profiles.values() if p.engine.type in REAL_TOOLS]
    return [s for s in (STANDARD_READER, *real) if s != product]


def prepare(
    product: str,
    out: Path,
    senders: Sequence[str] | None = None,
    functions: Sequence[Function] | None = None,
) -> tuple[ExportManifest, list[Drop]]:
    """Export the messages for `product` into OUT/vectors and number them (`functions`:
    only those, every function by default)."""
    chosen = list(senders) if senders else default_senders(product)
    folder = out / VECTORS_DIR
    # What the tester recorded in an earlier session in this folder is kept (the messages
    # are made again from the same seed).
    manifest = export_vectors(
        product, folder, senders=chosen, functions=functions, keep_records=True
    )
    drops: list[Drop] = []
    for n, vector in enumerate(manifest.vectors, 1):
        drops.append(
            Drop(
                f"I{n:02d}",
                "interop",
                vector.file,
                vector.sender,
                vector.function,
                "",
                vector.expected or "no verdict (harness error)",
                "",
            )
        )
    for n, negative in enumerate(manifest.negatives, 1):
        drops.append(
            Drop(
                f"R{n:02d}",
                "rejection",
                negative.file,
                negative.producer,
                negative.function,
                negative.case,
                negative.expected.get("osm-2008", ""),
                "",
                tuple(negative.crls),
            )
        )
    return manifest, drops


def tagged(message: bytes, drop_id: str) -> tuple[bytes, str]:
    """The message with `[ID] ` at the front of its top-level Subject (one added if it has
    none) and the drop header; the rest byte for byte. Returns it and the new Subject."""
    newline = b"\r\n" if b"\r\n" in message[:2000] else b"\n"
    split = re.search(rb"\r?\n\r?\n", message)
    head, body = (message[: split.start()], message[split.start() :]) if split else (message, b"")
    tag = f"[{drop_id}] ".encode()
    subject = re.search(rb"(?im)^subject:[ \t]*", head)
    if subject is not None:
        head = head[: subject.end()] + tag + head[subject.end() :]
    else:
        head = b"Subject: " + tag.rstrip() + newline + head
    head = DROP_HEADER + b": " + drop_id.encode() + newline + head
    line = re.search(rb"(?im)^subject:(.*(?:\r?\n[ \t].*)*)", head)
    shown = re.sub(r"\s+", " ", line.group(1).decode("ascii", "replace")).strip() if line else ""
    return head + body, shown


def write_dropped(drops: Sequence[Drop], path: Path) -> None:
    """OUT/dropped.csv: one line per message dropped, the tester's list; `crls` the CRL
    files to load before reading it, relative to OUT/vectors, space-separated."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(DROPPED_COLUMNS)
        for d in drops:
            writer.writerow(
                (
                    d.id,
                    d.kind,
                    d.file,
                    d.sender,
                    d.function,
                    d.case,
                    d.expected,
                    d.subject,
                    CRL_SEPARATOR.join(d.crls),
                )
            )
