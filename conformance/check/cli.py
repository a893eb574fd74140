"""`osm-conformance check`: validate one message against the numbered catalogue of rules."""

from __future__ import annotations

import argparse
import io
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from conformance.cli_support import byte_size, print_json, require_address, require_file
from conformance.errors import UserError
from conformance.smime.options import REFERENCE_MAX_BYTES

_DESCRIPTION = """\
Check one message (RFC 5322 bytes) against the catalogue of conformance rules:
headers, MIME structure, S/MIME layer, CMS, encryption, certificates, payload.
Prints the verdict first ("conforme", "2 erreurs, 1 avertissement", "incomplet"),
what the check used (policy, trust anchors, CRLs), then every check in full,
errors first, wrapped to the terminal (docs/check-rules.md lists the rules).

Trust (fail-closed): without --trust and --crl, the chain and revocation are
checked against the shipped test PKI's root and CRLs, named in the output, so
an unknown root or a revoked signer is an ERROR. --trust/--crl replace them;
--no-default-trust alone checks neither, and the verdict is then "incomplete".

Line endings: a file whose lines all end in LF (saved on Unix; openssl keeps
only the signed content in CRLF) is also checked in its CRLF form, the form it
is sent in and the one reported, with a MIME-001 WARNING saying which form's
signature verified; mixed line endings stay an ERROR. (Receivers and the
matrix judge the bytes as received.)

MESSAGE is a file, or - to read the message on stdin. A message over
--max-message-bytes (default 1G, the reference receiver's limit) is not checked:
a file is refused from its size, unread; stdin or a pipe is read up to the limit.

Exit status:
  0  conformant: no ERROR (warnings allowed)
  1  non-conformant: at least one ERROR
  2  usage error (missing file, MESSAGE a device or over --max-message-bytes,
     unknown policy, no test PKI for the default trust, a --sender or
     --recipient that is not one address, with --identity an
     OSM_CONFORMANCE_TOKEN naming no token it can use)
  3  incomplete: no ERROR, but a rule could not judge (no trust anchor, no CRL,
     no --identity for an encrypted message, an identity whose key the token
     cannot open, or no --identity for a signed message that carries none of
     its signer's CAs), or the validator itself failed on a rule or on the
     message (the suite's bug, named in that rule's line): not shown conformant
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from conformance.check.i18n import DEFAULT_LANGUAGE, LANGUAGES
    from conformance.check.model import JSON_FORMAT
    from conformance.check.policy import DEFAULT_POLICY, policy_names

    parser = subparsers.add_parser(
        "check",
        help="validate one message against the numbered conformance rules",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(  # a string: Path("./-") would be "-", a file so named unreachable
        "message", nargs="?", help="the message file (.eml), or - to read it on stdin"
    )
    parser.add_argument(
        "--identity",
        type=Path,
        metavar="DIR",
        help="the recipient's identity directory (export layout): decrypts and checks inner "
        "layers; the CAs of its chain.pem, as the receiver uses them, complete the signer's "
        "path and verify their CRLs",
    )
    parser.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="CA_PEM",
        help="a trust anchor (PEM, repeatable), instead of the test PKI's root",
    )
    parser.add_argument(
        "--crl",
        type=Path,
        action="append",
        default=[],
        metavar="CRL_PEM",
        help="a CRL (PEM or DER, repeatable), instead of the test PKI's CRLs",
    )
    parser.add_argument(
        "--no-default-trust",
        action="store_true",
        help="do not trust the test PKI by default: without --trust/--crl, the chain and "
        "revocation are not checked (verdict incomplete, exit 3)",
    )
    parser.add_argument(
        "--policy",
        default=DEFAULT_POLICY,
        choices=policy_names(),
        help=f"the policy giving each rule's severity (default {DEFAULT_POLICY})",
    )
    parser.add_argument(
        "--sender", metavar="ADDRESS", help="the expected sender address (local-part@domain)"
    )
    parser.add_argument(
        "--recipient",
        metavar="ADDRESS",
        help="the expected recipient address (local-part@domain)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=byte_size,
        default=REFERENCE_MAX_BYTES,
        metavar="SIZE",
        help="check no message over SIZE (bytes, or 64M, 1G; default "
        f"{REFERENCE_MAX_BYTES // 1024**3}G, the reference receiver's limit): exit 2",
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=DEFAULT_LANGUAGE,
        help=f"language of the text and HTML reports (default {DEFAULT_LANGUAGE}); "
        "the JSON is not translated",
    )
    parser.add_argument(
        "--json", action="store_true", help=f"print the report as JSON (format {JSON_FORMAT})"
    )
    parser.add_argument("--html", type=Path, metavar="OUT", help="also write the report as HTML")
    parser.add_argument(
        "--catalogue",
        action="store_true",
        help="print the rules instead of checking a message (no MESSAGE; redirect to save them)",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="with --catalogue: print docs/check-rules.md (the generated rule reference)",
    )
    parser.set_defaults(func=handle)


_STDIN = "-"
_CHUNK = 1 << 20


def _require_message(message: str, limit: int) -> None:
    """MESSAGE is `-`, a regular file of at most `limit` bytes (refused from its size,
    unread), or a pipe (`<(...)`, /dev/stdin on a pipe), read up to the limit: never a
    device such as /dev/zero, which would be read without end."""
    if message == _STDIN:
        return
    path = Path(message)
    found = require_file(path, "message", " (a file, or - to read stdin)")
    if stat.S_ISREG(found.st_mode) and found.st_size > limit:
        raise UserError(f"{path}: {found.st_size} bytes, {_over(limit, 'not read')}")


def _over(limit: int, read: str) -> str:
    return (
        f"over --max-message-bytes ({limit} bytes): not checked, {read} "
        "(a larger --max-message-bytes checks it)"
    )


def _read_message(message: str, limit: int) -> bytes:
    """The message's bytes, never more than `limit` read (a file may have grown since
    `_require_message`; a pipe has no size to refuse it from)."""
    name = "stdin" if message == _STDIN else message
    try:
        if message == _STDIN:
            read = _read_bounded(sys.stdin.buffer, limit)
        else:
            with Path(message).open("rb") as stream:
                read = _read_bounded(stream, limit)
    except OSError as exc:
        raise UserError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if read is None:
        raise UserError(f"{name}: {_over(limit, 'read no further')}")
    return read


def _read_bounded(stream: BinaryIO, limit: int) -> bytes | None:
    """The stream's bytes, or None as soon as they pass `limit` (the rest not read).
    BytesIO hands its buffer over without a copy: the message is held once."""
    held = io.BytesIO()
    while held.tell() <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - held.tell()))
        if not chunk:
            return held.getvalue()
        held.write(chunk)
    return None


def _require_identity(directory: Path) -> None:
    """--identity is there to decrypt: without its encryption certificate and key, or with
    OSM_CONFORMANCE_TOKEN naming no token it can use (SoftHSM asked for and not installed),
    every encrypted message would get an ENC-004 ERROR for the tester's setup (a usage error,
    exit 2 as for any bad setting: check's 3 says "incomplete")."""
    from conformance.token import token_kind
    from conformance.token.files import check_identity_dir, load_certificate, load_private_key

    check_identity_dir(directory)
    load_certificate(directory, "encrypt")
    load_private_key(directory, "encrypt")
    try:
        token_kind()
    except UserError as exc:
        raise UserError(f"--identity {directory}: no token to open its key: {exc}") from None


def handle(args: argparse.Namespace) -> int:
    from conformance.check.render import catalogue_markdown, catalogue_text, html_page, text_table
    from conformance.check.runner import check_saved_file, default_trust

    if args.catalogue:
        if args.message is not None:
            # It prints: a file named after it would otherwise be silently left unwritten.
            # The hint names no file: the one given may be a message the user keeps.
            flags = "--catalogue --markdown" if args.markdown else "--catalogue"
            raise UserError(
                f"check --catalogue takes no MESSAGE ({args.message} given): it prints the "
                f"rules on stdout (to save them: osm-conformance check {flags} > FILE)"
            )
        if args.html is not None:
            raise UserError(f"--html goes with a MESSAGE, not --catalogue: {args.html} not written")
        sys.stdout.write(catalogue_markdown() if args.markdown else catalogue_text())
        return 0
    if args.markdown:
        raise UserError("--markdown goes with --catalogue")
    if args.message is None:
        raise UserError("check: a MESSAGE file is required (or --catalogue)")
    for option, value in (("--sender", args.sender), ("--recipient", args.recipient)):
        if value is not None:
            require_address(option, value)
    _require_message(args.message, args.max_message_bytes)
    for path in args.trust:
        require_file(path, "trust anchor")
    for path in args.crl:
        require_file(path, "CRL")
    if args.identity is not None:
        _require_identity(args.identity)
    trust, crls, origin = list(args.trust), list(args.crl), "given"
    if not trust and not crls and not args.no_default_trust:
        default_anchors, default_crls = default_trust()
        trust, crls, origin = list(default_anchors), list(default_crls), "test-pki"
    report = check_saved_file(
        # Held by the check alone, which lets a file saved with LF go once its CRLF form is
        # made: not held twice.
        _read_message(args.message, args.max_message_bytes),
        identity_dir=args.identity,
        trust=trust,
        crls=crls,
        policy=args.policy,
        expected_sender=args.sender,
        expected_recipient=args.recipient,
        trust_origin=origin,
    )
    if args.html is not None:
        try:
            args.html.write_text(html_page(report, args.lang), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{args.html}: cannot write: {exc.strerror or exc}") from None
    if args.json:
        print_json(report.to_json())
    else:
        sys.stdout.write(text_table(report, lang=args.lang))
    return report.verdict().exit_code
