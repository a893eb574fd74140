"""`osm-conformance check`: validate one message against the numbered catalogue of rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.cli_support import print_json
from conformance.errors import UserError

_DESCRIPTION = """\
Check one message (RFC 5322 bytes) against the catalogue of conformance rules:
headers, MIME structure, S/MIME layer, CMS, encryption, certificates, payload.
Prints one line per check (rule id, status, part, found, expected, reference).
Exit status: 0 when no rule of severity ERROR fails, 1 when one does, 2 on a
usage error (missing file, unknown policy).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from conformance.check.policy import DEFAULT_POLICY, policy_names

    parser = subparsers.add_parser(
        "check",
        help="validate one message against the numbered conformance rules",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("message", nargs="?", type=Path, help="the message file (.eml)")
    parser.add_argument(
        "--identity",
        type=Path,
        metavar="DIR",
        help="the recipient's identity directory (export layout): decrypts and checks inner layers",
    )
    parser.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="CA_PEM",
        help="a trust anchor (PEM, repeatable); without it the chain is not checked",
    )
    parser.add_argument(
        "--crl",
        type=Path,
        action="append",
        default=[],
        metavar="CRL_PEM",
        help="a CRL (PEM or DER, repeatable); without it revocation is not checked",
    )
    parser.add_argument(
        "--policy",
        default=DEFAULT_POLICY,
        choices=policy_names(),
        help=f"the policy giving each rule's severity (default {DEFAULT_POLICY})",
    )
    parser.add_argument("--sender", metavar="ADDRESS", help="the expected sender address")
    parser.add_argument("--recipient", metavar="ADDRESS", help="the expected recipient address")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--html", type=Path, metavar="OUT", help="also write the report as HTML")
    parser.add_argument(
        "--catalogue", action="store_true", help="list the rules instead of checking a message"
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="with --catalogue: print docs/check-rules.md (the generated rule reference)",
    )
    parser.set_defaults(func=handle)


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise UserError(f"{path}: no such {what} file")


def handle(args: argparse.Namespace) -> int:
    from conformance.check.render import catalogue_markdown, catalogue_text, html_page, text_table
    from conformance.check.runner import run_checks

    if args.catalogue:
        sys.stdout.write(catalogue_markdown() if args.markdown else catalogue_text())
        return 0
    if args.markdown:
        raise UserError("--markdown goes with --catalogue")
    if args.message is None:
        raise UserError("check: a MESSAGE file is required (or --catalogue)")
    _require_file(args.message, "message")
    for path in args.trust:
        _require_file(path, "trust anchor")
    for path in args.crl:
        _require_file(path, "CRL")
    if args.identity is not None and not args.identity.is_dir():
        raise UserError(f"{args.identity}: no such identity directory")
    try:
        message = args.message.read_bytes()
    except OSError as exc:
        raise UserError(f"{args.message}: cannot read: {exc.strerror or exc}") from None
    report = run_checks(
        message,
        identity_dir=args.identity,
        trust=args.trust,
        crls=args.crl,
        policy=args.policy,
        expected_sender=args.sender,
        expected_recipient=args.recipient,
    )
    if args.html is not None:
        try:
            args.html.write_text(html_page(report), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{args.html}: cannot write: {exc.strerror or exc}") from None
    if args.json:
        print_json(report.to_json())
    else:
        sys.stdout.write(text_table(report))
    return 1 if report.errors else 0
