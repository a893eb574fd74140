"""`osm-conformance pki init|show|export`: the test PKI on the command line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from conformance import paths
from conformance.cli_support import print_json, print_table
from conformance.errors import UserError, os_reason


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pki",
        help="the test PKI: build it, list its identities, export it for a product",
        description=(
            "The test PKI (TEST KEYS ONLY): a root and an intermediate modelled on the "
            "health CA, 32 valid professionals and deliberately defective identities."
        ),
    )
    sub = parser.add_subparsers(dest="pki_command", metavar="ACTION", required=True)

    init = sub.add_parser(
        "init",
        help="(re)build the PKI deterministically from a seed",
        description=(
            "Build the whole PKI from a seed (same seed, same bytes) into a directory, "
            "replacing the files an earlier pki init wrote there once the new PKI is "
            "complete; files of your own stay. Any other non-empty directory (one whose "
            "pki.json was not written by pki init: a pki export, a vectors export) is "
            "refused (exit 2)."
        ),
    )
    init.add_argument("--seed", type=int, default=None, help="seed (default: 2008)")
    init.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="output (default, in a source checkout only: vectors/pki)",
    )
    init.set_defaults(func=_init)

    show = sub.add_parser(
        "show",
        help="list identities: id, name, email, idNat, profession, defect",
        description="List the identities of a PKI directory and their defects.",
    )
    show.add_argument(
        "--dir", type=Path, default=paths.PKI_DIR, help="PKI (default: the shipped test PKI)"
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(func=_show)

    export = sub.add_parser(
        "export",
        help="write the PKI in the export layout, with PKCS#12 files (password 'test')",
        description=(
            "Write DIR/ca/ (root, intermediate, CRLs), DIR/ca-unknown/ and "
            "DIR/identities/<id>/ (PEM certificates and keys, identity.json, "
            "identity.p12 and one PKCS#12 per role, password 'test', legacy PBE). "
            "DIR is new, empty or an earlier export (its pki.json says so): the "
            "identities that export wrote are removed first, so that DIR holds exactly "
            "those its new pki.json lists; files the export did not write stay. Any other "
            "non-empty DIR is refused (exit 2)."
        ),
    )
    export.add_argument("out", type=Path, metavar="DIR", help="target directory")
    export.add_argument(
        "--identity",
        action="append",
        default=None,
        metavar="ID",
        help="export only this identity (repeatable)",
    )
    export.add_argument(
        "--dir", type=Path, default=paths.PKI_DIR, help="PKI (default: the shipped test PKI)"
    )
    export.set_defaults(func=_export)


def _init(args: argparse.Namespace) -> int:
    from conformance.pki.build import DEFAULT_SEED, build_pki

    seed = DEFAULT_SEED if args.seed is None else args.seed
    if seed < 0:
        raise UserError(f"--seed must be a non-negative integer, not {seed}")
    if args.dir is None:
        paths.source_checkout("pki init without --dir")
    target = args.dir or paths.PKI_DIR
    try:
        report = build_pki(target, seed)
    except OSError as exc:
        raise UserError(f"--dir {target}: cannot write ({os_reason(exc)})") from None
    print(
        f"built test PKI in {report.directory} (seed {report.seed}): "
        f"{len(report.identities)} identities, {report.keys} RSA keys, {report.seconds:.1f} s"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    from conformance.pki.model import load_pki

    pki = load_pki(args.dir)
    rows = [
        {
            "id": i.id,
            "name": i.name,
            "email": i.email,
            "idnat": i.idnat,
            "profession": i.profession,
            "defect": i.defect,
        }
        for _, i in sorted(pki.identities.items())
    ]
    if args.json:
        print_json(rows)
        return 0
    print(f"test PKI {pki.directory} (seed {pki.seed}); TEST KEYS ONLY")
    print(f"trust anchor: {pki.root.subject.rfc4514_string()}")
    headers = ["id", "name", "email", "idnat", "profession", "defect"]
    print_table(
        [headers] + [[str(r[h] if r[h] is not None else "-") for h in headers] for r in rows]
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from conformance.pki.export import export_pki
    from conformance.pki.model import load_pki

    pki = load_pki(args.dir)
    try:
        ids = export_pki(pki, args.out, args.identity)
    except OSError as exc:
        raise UserError(f"{args.out}: cannot write the export ({os_reason(exc)})") from None
    print(f"exported {len(ids)} identities to {args.out} (PKCS#12 password: test)")
    return 0
