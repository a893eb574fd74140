"""`osm-conformance profiles ...`: lint, list, show, new, schema, docs."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from conformance.cli_support import print_table
from conformance.errors import UserError
from conformance.paths import source_checkout
from conformance.profiles import docgen
from conformance.profiles.claims import CLAIMS_FILE, lint_claims
from conformance.profiles.loader import (
    DATA_FILES,
    Problem,
    ProfileError,
    display_path,
    lint,
    load_profile,
    load_profiles,
    load_sources,
    profile_paths,
)
from conformance.profiles.practice import PRACTICE_FILE, lint_practice_software
from conformance.profiles.schema import ID_PATTERN, Criteria, Profile


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "profiles",
        help="product profiles: lint, list, show, new, schema, docs",
        description="Product profiles (profiles/*.yaml): one YAML file per product.",
    )
    sub = parser.add_subparsers(dest="profiles_command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "lint",
        help="check profiles; exit 1 on any problem",
        description="Check profiles (default: the shipped ones, with claims.yaml "
        "and practice-software.yaml; a folder named: its profiles and data files, as `run "
        "--profiles` reads them). Every problem is printed as FILE:LINE: FIELD: message.",
    )
    p.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="profile files or directories"
    )
    p.set_defaults(func=_lint)

    p = sub.add_parser("list", help="table of the profiles")
    p.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="profile files or directories"
    )
    p.set_defaults(func=_list)

    p = sub.add_parser("show", help="print a profile with extends applied, as YAML")
    p.add_argument("profile", metavar="ID_OR_PATH")
    p.set_defaults(func=_show)

    p = sub.add_parser(
        "new",
        help="write ./profiles/ID.yaml extending another profile",
        description="Write a draft profile extending another one, into ./profiles/ of the "
        "working directory (created if needed) unless --out says where.",
    )
    p.add_argument("id", metavar="ID")
    p.add_argument("--from", dest="base", required=True, metavar="OTHER", help="profile to extend")
    p.add_argument(
        "--out",
        "--dir",
        dest="out",
        type=Path,
        default=Path("profiles"),
        metavar="DIR",
        help="where to write (default: ./profiles)",
    )
    p.set_defaults(func=_new)

    p = sub.add_parser(
        "schema", help="print the JSON Schema of a profile (--write: profiles/schema.json)"
    )
    p.add_argument("--write", action="store_true", help=f"write {display_path(docgen.SCHEMA_FILE)}")
    p.set_defaults(func=_schema)

    p = sub.add_parser("docs", help="print the field reference (--write: into docs/profiles.md)")
    p.add_argument("--write", action="store_true", help=f"update {display_path(docgen.DOCS_FILE)}")
    p.set_defaults(func=_docs)


def _lint(args: argparse.Namespace) -> int:
    if args.paths:
        profiles = [p for p in args.paths if p.name not in DATA_FILES]
        problems = lint(profiles) + _lint_data_files(args.paths)
    else:
        problems = lint() + lint_claims() + lint_practice_software()
    # Once each: a sources.yaml is read for the profiles and for each data file beside.
    problems = list({str(problem): problem for problem in problems}.values())
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    checked = (
        "shipped profiles, " + ", ".join(display_path(p) for p in (CLAIMS_FILE, PRACTICE_FILE))
        if not args.paths
        else ", ".join(str(p) for p in args.paths)
    )
    print(f"ok: {checked}")
    return 0


def _lint_data_files(paths: list[Path]) -> list[Problem]:
    """The data files a run with these paths reads: those of each folder named (as `run
    --profiles FOLDER` does) and those named themselves, each linted as what it is."""
    files = [p for p in paths if p.name in DATA_FILES]
    for folder in (p for p in paths if os.path.isdir(p)):
        files += [folder / name for name in sorted(DATA_FILES) if (folder / name).is_file()]
    # The profile ids they may name: their folders' profiles and the profiles named alone.
    ids = {p.stem for p in profile_paths(sorted({f.parent for f in files}))}
    ids |= {p.stem for p in paths if p.name not in DATA_FILES and not os.path.isdir(p)}
    problems: list[Problem] = []
    for file in files:
        if file.name == CLAIMS_FILE.name:
            problems += lint_claims(file, ids)
        elif file.name == PRACTICE_FILE.name:
            problems += lint_practice_software(file, ids)
        else:
            problems += load_sources([file])[1]
    return problems


def _list(args: argparse.Namespace) -> int:
    profiles = load_profiles(args.paths or None, include_abstract=True)
    rows = [("ID", "NAME", "VENDOR", "KIND", "HOMOLOGATION")]
    for p in profiles.values():
        kind = p.identity.kind + (" (abstract)" if p.abstract else "")
        rows.append((p.id, p.identity.name, p.identity.vendor or "-", kind, p.homologation.status))
    print_table(rows)
    return 0


def _show(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    data = profile.model_dump(mode="json")
    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), end="")
    return 0


def _new(args: argparse.Namespace) -> int:
    if not re.match(ID_PATTERN, args.id):
        raise UserError(f"{args.id!r} is not a profile id (lower-case letters, digits and '-')")
    base = load_profile(args.base)
    if base.id == args.id:
        raise UserError(f"{args.id!r} cannot extend itself: give the new profile its own id")
    target: Path = args.out / f"{args.id}.yaml"
    if os.path.lexists(target):
        raise UserError(f"{display_path(target)} already exists")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{args.out}: cannot create ({exc.strerror or exc})") from exc
    try:
        target.write_text(skeleton(args.id, base), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{display_path(target)}: cannot write ({exc.strerror or exc})") from exc
    problems = lint([target])
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"wrote {display_path(target)}")
    return 1 if problems else 0


def skeleton(new_id: str, base: Profile) -> str:
    """A draft profile extending `base`: what identifies `base` is overridden, not inherited.

    Identity, homologation and the comparison-table criteria describe `base`, not the new
    product, so they are written out explicitly (the new id, `none`, no criteria); every
    citation `base` would pass on is replaced by an assumption that names where the value
    came from, so no fact of `base` is presented as sourced for the new product.
    """
    draft = "a draft written by `profiles new`"
    provenance: dict[str, dict[str, object]] = {
        "identity": {"assumed": True, "reason": f"placeholder of {draft}; give the real one"},
        "homologation": {"assumed": True, "reason": f"{draft}: no homologation known"},
        "criteria": {"assumed": True, "reason": f"{draft}: no column of the comparison table"},
    }
    for key, citation in base.provenance.items():
        section = key.split(".", 1)[0]
        if section in ("identity", "homologation", "criteria"):
            provenance.setdefault(key, dict(provenance[section]))
            continue
        copied = f"as {base.id} (copied by `profiles new`)"
        reason = f"{copied}; no source yet for this product"
        if citation.assumed and citation.reason:
            reason = f"{copied}, where it is assumed: {citation.reason}"
        provenance.setdefault(key, {"assumed": True, "reason": reason, "copied_from": base.id})
    data: dict[str, object] = {
        "id": new_id,
        "extends": base.id,
        "draft": True,
        "identity": {"name": new_id, "name_fr": None, "vendor": None},
        "homologation": {"status": "none", "date": None, "note": None},
        "criteria": dict.fromkeys(Criteria.model_fields),
        "provenance": provenance,
    }
    inherited = base.model_dump(mode="json", include={"send", "receive", "quirks", "engine"})
    hints = yaml.safe_dump(inherited, sort_keys=False, allow_unicode=True, width=100)
    commented = "".join(f"# {line}\n" if line.strip() else "#\n" for line in hints.splitlines())
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return (
        f"# Profile {new_id}: a draft starting from {base.id} (extends). Identity, homologation\n"
        f"# and criteria are not {base.id}'s; every other value is, marked assumed until you\n"
        f"# cite a source. Check it with `osm-conformance profiles lint PATH-OF-THIS-FILE`;\n"
        "# `osm-conformance profiles show PATH-OF-THIS-FILE` prints the result. Remove\n"
        "# `draft: true` once its facts are sourced: a draft stays out of the 2008 comparison\n"
        "# table. A value you set needs a provenance entry of its own (its dotted path, e.g.\n"
        f"# send.encryption.content): the entries copied below document {base.id}'s values\n"
        "# (copied_from), and lint says so.\n"
        f"{body}"
        "\n"
        f"# Behaviour inherited from {base.id} (uncomment and edit what differs):\n"
        f"{commented}"
    )


def _schema(args: argparse.Namespace) -> int:
    text = docgen.schema_json()
    if args.write:
        source_checkout("profiles schema --write")
        docgen.SCHEMA_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {display_path(docgen.SCHEMA_FILE)}")
    else:
        print(text, end="")
    return 0


def _docs(args: argparse.Namespace) -> int:
    reference = docgen.field_reference()
    if not args.write:
        print(reference, end="")
        return 0
    source_checkout("profiles docs --write")
    path = docgen.DOCS_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if docgen.BEGIN not in text or docgen.END not in text:
        raise UserError(
            f"{display_path(path)}: markers {docgen.BEGIN!r} and {docgen.END!r} not found"
        )
    head, rest = text.split(docgen.BEGIN, 1)
    _, tail = rest.split(docgen.END, 1)
    path.write_text(f"{head}{docgen.BEGIN}\n{reference}\n{docgen.END}{tail}", encoding="utf-8")
    print(f"wrote {display_path(path)}")
    return 0


__all__ = ["ProfileError", "register", "skeleton"]
