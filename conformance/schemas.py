"""JSON Schemas of the public files (status JSON, results.json, rejection cases, waivers),
generated from the code.

`osm-conformance schemas --write` refreshes docs/; a test keeps them in sync.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from conformance.choose.inputs import json_schema as practice_schema
from conformance.matrix.waivers import schema as waivers_schema
from conformance.paths import REPO_DIR
from conformance.rejections.model import schema as rejection_cases_schema
from conformance.results import json_schema as results_schema
from conformance.status import Status

DOCS = REPO_DIR / "docs"


def status_schema() -> dict[str, Any]:
    schema = TypeAdapter(Status).json_schema()
    schema["title"] = "osm-conformance agent status"
    schema["description"] = "What a receiver found (docs/agent-cli.md)."
    return schema


def schemas() -> dict[Path, dict[str, Any]]:
    results = results_schema()
    results["title"] = "osm-conformance results.json"
    return {
        DOCS / "status.schema.json": status_schema(),
        DOCS / "results.schema.json": results,
        DOCS / "rejection-cases.schema.json": rejection_cases_schema(),
        DOCS / "waivers.schema.json": waivers_schema(),
        DOCS / "practice.schema.json": practice_schema(),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schemas",
        help="print or write the JSON Schemas of the status JSON, results.json, the "
        "rejection cases, the waivers file and choose's practice file",
        description="The JSON Schemas of the agent status JSON, of results.json, of the "
        "rejection cases, of run's waivers file and of choose's practice file, generated "
        "from the code (docs/status.schema.json, docs/results.schema.json, "
        "docs/rejection-cases.schema.json, docs/waivers.schema.json, "
        "docs/practice.schema.json).",
    )
    parser.add_argument("--write", action="store_true", help="write them into docs/")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.write:
        from conformance.paths import source_checkout

        source_checkout("schemas --write (it refreshes docs/)")
    for path, schema in schemas().items():
        if args.write:
            path.write_text(render(schema), encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_DIR)}")
        else:
            print(f"# {path.relative_to(REPO_DIR)}")
            print(render(schema))
    return 0
