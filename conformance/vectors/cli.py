"""`osm-conformance vectors export|verify|import|golden`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from conformance import paths
from conformance.cli_support import print_error
from conformance.errors import MissingComponent, UserError, os_reason
from conformance.functions import MESSAGE_FUNCTIONS
from conformance.paths import check_output_file, check_output_folder, output_folder
from conformance.results import Results
from conformance.vectors.common import real_id, shipped_profiles


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "vectors",
        help="vendor vectors: export messages for a product, verify its messages, "
        "import a tester's record, the golden corpus",
        description="For a product the suite cannot drive: export test identities and "
        "messages for it, verify the messages it wrote, fold a tester's record into "
        "results.json. Also the golden corpus of each profile's messages. See docs/vectors.md.",
    )
    sub = parser.add_subparsers(dest="vectors_command", metavar="ACTION", required=True)

    export = sub.add_parser(
        "export",
        help="write identities and messages from every other profile for PROFILE",
        description="Write DIR/identities and DIR/ca (the PKI export layout, PKCS#12 password "
        "'test'), DIR/messages/<sender>/<function>.eml (one message per other profile and "
        "function both declare, addressed to PROFILE's receiving professional), "
        "DIR/plaintext/, DIR/manifest.json (per message: `expected`, what a reader following the "
        "standard shows, and `profile_expected`, what PROFILE's profile predicts), "
        "DIR/record.csv and DIR/negative.csv (to fill in) and DIR/README.md for the tester. "
        "DIR is new, empty or an earlier export; a record.csv or negative.csv there that "
        "holds answers is refused (exit 2): move it away first (after importing it).",
    )
    export.add_argument(
        "--for", dest="product", required=True, metavar="PROFILE", help="the product's profile id"
    )
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    export.add_argument(
        "--sender",
        action="append",
        default=[],
        metavar="ID",
        help="only this sender profile (repeatable; default: every other one)",
    )
    export.add_argument(
        "--function",
        action="append",
        default=[],
        choices=MESSAGE_FUNCTIONS,
        help="only this function (repeatable; first-contact is a sign-encrypt message)",
    )
    export.set_defaults(func=_export)

    verify = sub.add_parser(
        "verify",
        help="read the messages a real product wrote with the validator and every receiver",
        description="DIR holds .eml files the product wrote and DIR/manifest.json: "
        '{"messages": [{"file", "recipient" (identity id), "function", "plaintext" '
        '(optional), "sender" (optional identity id), "crls" (optional CRL files the message '
        "needs beside the identities')}]}. Each message is checked by the "
        "validator and read by every receiver profile, through the transport: the product's "
        "row of the matrix without an adapter. Exit 0 when every message was read, 1 when a "
        "receiver broke on one (a harness error, `!` in the table: not a verdict on the "
        "product), 2 when the manifest is wrong, 3 when a receiver named with --receiver is "
        "not installed here (among every receiver, one not installed is skipped: `!`, with "
        "its reason).",
    )
    verify.add_argument("directory", type=Path, metavar="DIR")
    verify.add_argument(
        "--as",
        dest="product",
        required=True,
        metavar="PROFILE",
        help="the profile the product claims to follow",
    )
    verify.add_argument(
        "--receiver",
        action="append",
        default=[],
        metavar="ID",
        help="only this receiver profile (repeatable; default: every one)",
    )
    verify.add_argument(
        "--identities",
        type=Path,
        metavar="DIR",
        help="identity directories of the recipients (default: the test PKI)",
    )
    verify.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="trust anchor (repeatable; default: the test PKI's root)",
    )
    verify.add_argument(
        "--crl",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="CRL (repeatable; default: the test PKI's CRLs)",
    )
    verify.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write DIR/results.json (render with `osm-conformance report`) and the evidence",
    )
    verify.set_defaults(func=_verify)

    imp = sub.add_parser(
        "import",
        help="fold a tester's record (CSV or YAML) into results.json",
        description="RECORDED lists per vector: file, opened (yes/no), signature "
        "(valid/invalid/absent), decrypted (yes/no), content_ok (yes/no), notes. Each line "
        "becomes a cell with the real product (<PROFILE>-real) as receiver. negative.csv "
        "beside it (file, refused (yes/no), notes) gives the real product's cells of the "
        "rejection matrix. Import into the results.json of a run of the same senders "
        "towards PROFILE (the export's README gives the command).",
    )
    imp.add_argument("results", type=Path, metavar="RESULTS.json")
    imp.add_argument("record", type=Path, metavar="RECORDED.csv|yaml")
    imp.add_argument("--as", dest="product", required=True, metavar="PROFILE")
    imp.add_argument(
        "--vectors",
        type=Path,
        metavar="DIR",
        help="the export directory (default: the record's directory)",
    )
    imp.add_argument(
        "--negative",
        type=Path,
        metavar="NEGATIVE.csv",
        help="the record of the negative corpus (default: negative.csv beside RECORDED, if any)",
    )
    imp.add_argument(
        "--observed",
        choices=("by-hand", "machine"),
        default="by-hand",
        help="how the record was made: by a person (default) or by a program driving the "
        "product; the report labels the product so",
    )
    imp.add_argument(
        "--out",
        type=Path,
        metavar="NEW_RESULTS.json",
        help="write here (default: update RESULTS.json in place); in another folder, the "
        "evidence paths are made relative to it, which must then be RESULTS.json's folder "
        "or one above it",
    )
    imp.set_defaults(func=_import)

    golden = sub.add_parser(
        "golden",
        help="check (default) or rewrite the golden corpus vectors/golden/",
        description="One basic message per profile-driven profile and function, with its "
        "reading, regenerated from a seed: --check lists every difference (exit 1), "
        "--write rewrites the corpus for review with git diff.",
    )
    mode = golden.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare (the default)")
    mode.add_argument("--write", action="store_true", help="regenerate")
    golden.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="ID",
        help="only this profile (repeatable)",
    )
    golden.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="corpus directory (default, in a source checkout only: vectors/golden); "
        "--check needs it to exist, --write creates it",
    )
    golden.set_defaults(func=_golden)


def _export(args: argparse.Namespace) -> int:
    from conformance.vectors.export import export_vectors

    try:
        manifest = export_vectors(
            args.product, args.out, senders=args.sender or None, functions=args.function or None
        )
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot write ({os_reason(exc)})") from None
    counts: dict[str, int] = {}
    for vector in manifest.vectors:
        key = vector.expected or "no verdict"
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(f"{n} expected {k}" for k, n in sorted(counts.items()))
    print(
        f"{len(manifest.vectors)} vector(s) for {manifest.product} in {args.out} ({summary}); "
        f"recipient {manifest.recipient} <{manifest.recipient_email}>"
    )
    for skipped in manifest.skipped:
        print(f"  not exported: {skipped.sender} {skipped.function}: {skipped.reason}")
    print(f"tester's instructions: {args.out / 'README.md'}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from conformance.vectors.product_row import verified_results
    from conformance.vectors.table import verify_table
    from conformance.vectors.verify import copy_evidence, verify_messages

    if args.out is not None:
        check_output_folder(args.out)
    started = time.time()
    report = verify_messages(
        args.directory,
        args.product,
        receivers=args.receiver or None,
        identities=args.identities,
        trust=args.trust,
        crls=args.crl,
    )
    print(verify_table(report))
    if args.out is not None:
        output_folder(args.out)
        evidence = copy_evidence(report, args.out, real_id(args.product))
        results = verified_results(report, shipped_profiles(), evidence, started)
        path = args.out / "results.json"
        _write_results(results, path)
        print(f"\nresults: {path}  (render: osm-conformance report {path})")
    for error in report.input_errors:
        print_error(error)
    for error in report.harness_errors:
        print_error(f"harness error: {error}")
    if report.input_errors:
        return 2
    # A receiver asked for by name and not installed here: a required component missing,
    # as for `run` (exit 3); among every receiver (the default), skipped with its reason.
    missing = {r: why for r, why in report.unavailable.items() if r in args.receiver}
    for receiver, why in missing.items():
        print_error(f"--receiver {receiver}: {why}")
    if missing:
        return MissingComponent.exit_code
    return 1 if report.harness_errors else 0


def _import(args: argparse.Namespace) -> int:
    from conformance.vectors.manual import import_record, move_evidence

    if args.out is not None:
        check_output_file(args.out)
    results, missing = import_record(
        args.results,
        args.record,
        args.product,
        args.vectors,
        observed=args.observed,
        negative_path=args.negative,
    )
    target = args.out if args.out is not None else args.results
    if args.out is not None:
        move_evidence(results, args.results, args.out)
        output_folder(args.out.parent, "--out's folder")
    _write_results(results, target)
    real = real_id(args.product)
    mine = [c for c in results.cells if c.receiver == real]
    counts: dict[str, int] = {}
    for cell in mine:
        counts[cell.verdict] = counts.get(cell.verdict, 0) + 1
    print(
        f"{target}: {len(mine)} cell(s) of {real} (observed {args.observed}): "
        + ", ".join(f"{v} {n}" for v, n in sorted(counts.items()))
    )
    rejections = results.rejections.cells if results.rejections else []
    refusals = [c for c in rejections if c.receiver == real]
    if refusals:
        accepted = [c.cls for c in refusals if c.verdict == "accepts"]
        print(
            f"rejection matrix: {len(refusals)} class(es) of {real}, "
            + (f"accepts {', '.join(accepted)}" if accepted else "every recorded case refused")
        )
    if missing:
        print(f"not recorded ({len(missing)}): " + ", ".join(missing))
    return 0


def _golden(args: argparse.Namespace) -> int:
    from conformance.vectors import golden

    directory = args.dir or golden.GOLDEN_DIR
    if args.dir is None:
        paths.source_checkout("vectors golden without --dir")
    elif directory.exists() and not directory.is_dir():
        raise UserError(f"--dir {directory}: not a directory")
    elif args.write:
        output_folder(directory, "--dir")  # made (or found unwritable) before the work
    elif not directory.exists():
        raise UserError(f"--dir {directory}: no such directory")
    profiles = args.profile or None
    if args.write:
        written = golden.write(directory, profiles)
        print(f"wrote {len(written)} file(s) under {directory}; review with `git diff`")
        return 0
    problems = golden.check(directory, profiles)
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"{len(problems)} difference(s): if the change is intended, run "
            f"`{golden.write_command(directory)}` and review the diff",
            file=sys.stderr,
        )
        return 1
    print(f"golden corpus in sync ({directory})")
    return 0


def _write_results(results: Results, path: Path) -> None:
    try:
        results.dump(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the results ({os_reason(exc)})") from None
