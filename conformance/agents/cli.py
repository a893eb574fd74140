"""`osm-conformance agent PROFILE send|receive|version|capabilities`: the agent contract.

The same verbs a vendor adapter implements (docs/agent-cli.md), here backed by
the built-in agents, so that the contract is tested by use.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO

from conformance import pem_files
from conformance.agents import identity_files as files
from conformance.agents.base import Agent, Evidence, ReceiveRequest, SendRequest
from conformance.agents.command import CommandAgent
from conformance.agents.factory import close_agent, make_agent
from conformance.agents.profiled import ProfileAgent
from conformance.cli_support import byte_size, require_address, require_file
from conformance.core import mime
from conformance.core.spool import Region
from conformance.core.vocabulary import FUNCTIONS, Party, Role
from conformance.directory.lookup import Address
from conformance.errors import MissingComponent, UserError
from conformance.profiles.loader import load_profile
from conformance.profiles.schema import PROFILE_DRIVEN_ENGINES
from conformance.smime.options import REFERENCE_MAX_BYTES, Limits
from conformance.status import CONTRACT_VERSION, EXIT_CODES, ErrorCode, Status
from conformance.token import TokenError
from conformance.token.files import check_identity_dir, load_certificate, load_private_key
from conformance.token.uri import parse_uri

DIRECTORIES = ("cps", "apicrypt")
# The options that put a role's key on a token, instead of the identity directory's file.
KEY_OPTIONS: dict[str, str] = {"sign": "--sign-key", "encrypt": "--decrypt-key"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "agent",
        help="run one agent: send or receive a message (the adapter contract)",
        description="Run one agent through the stateless agent command line "
        "(docs/agent-cli.md). Exit codes: 0 done; 2 usage error (nothing done); "
        + ", ".join(f"{v} {k.value}" for k, v in sorted(EXIT_CODES.items(), key=lambda i: i[1]))
        + ".",
        # `agent receive --help` takes `receive` for the PROFILE and prints this help
        epilog="A verb's options: osm-conformance agent PROFILE VERB --help "
        "(e.g. agent reference receive --help).",
    )
    parser.add_argument("profile", metavar="PROFILE", help="profile id or YAML file")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    send = verbs.add_parser(
        "send",
        help="read a MIME entity on stdin, write the whole message on stdout",
        description="Read the content (a MIME entity) on stdin and write the whole "
        "RFC 5322 message for FUNCTION on stdout.",
    )
    send.add_argument("--function", required=True, choices=FUNCTIONS)
    send.add_argument(
        "--from",
        dest="sender",
        required=True,
        metavar="IDENTITY_DIR",
        help="the sender's identity directory (PKI export layout)",
    )
    send.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="CERT|IDENTITY_DIR",
        help="a recipient's encryption certificate (PEM/DER) or identity directory; repeatable",
    )
    send.add_argument(
        "--to-address",
        action="append",
        default=[],
        metavar="MAIL",
        help="a recipient known by address only, whose certificate the sender finds in "
        "--directory (a first contact); repeatable",
    )
    send.add_argument(
        "--directory",
        metavar="ldap://HOST:PORT/BASE",
        help="the CPS directory where --to-address recipients are looked up",
    )
    send.add_argument("--subject", default="")
    send.add_argument("--date", help="RFC 5322 date (default: now)")
    send.add_argument("--message-id", help="Message-ID (default: generated)")
    send.add_argument(
        "--recipient-in",
        metavar="LIST",
        help="directories the recipients are listed in: cps, apicrypt "
        "(comma separated; default cps)",
    )
    send.add_argument(
        "--sign-key",
        metavar="PKCS11_URI",
        help="sign with this token key instead of the directory's",
    )
    send.set_defaults(func=_send)

    receive = verbs.add_parser(
        "receive",
        help="read a message on stdin, write its content on stdout and the status JSON",
        description="Read a message on stdin; write the recovered content on stdout "
        "and the security status as JSON to --status-out.",
    )
    receive.add_argument(
        "--identity",
        required=True,
        metavar="IDENTITY_DIR",
        help="the recipient's identity directory (PKI export layout)",
    )
    receive.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="CA_PEM",
        help="a trusted CA certificate file; repeatable",
    )
    receive.add_argument(
        "--crl", action="append", default=[], metavar="CRL_PEM", help="a CRL file; repeatable"
    )
    receive.add_argument("--status-out", metavar="FILE", help="write the status JSON here")
    receive.add_argument(
        "--decrypt-key",
        metavar="PKCS11_URI",
        help="decrypt with this token key instead of the directory's",
    )
    receive.add_argument(
        "--max-message-bytes",
        type=byte_size,
        metavar="SIZE",
        help="refuse messages over SIZE as too-large (bytes, or 64M, 1G; default "
        f"{REFERENCE_MAX_BYTES // 1024**3}G; a profile's receive_max_message_bytes quirk "
        "may lower it). Built-in engine only",
    )
    receive.set_defaults(func=_receive)

    version = verbs.add_parser("version", help="print the agent's version")
    version.set_defaults(func=_version)
    caps = verbs.add_parser(
        "capabilities",
        help="print the contract version and the functions it sends and receives",
    )
    caps.set_defaults(func=_capabilities)


@contextmanager
def _agent(
    profile: str, max_message_bytes: int | None = None, party: Party | None = None
) -> Iterator[Agent]:
    """The profile's agent for one verb, closed however the verb ends. A key on a token
    (`party`'s key URIs) is for the built-in engine only: the others read the files."""
    loaded = load_profile(profile)
    built_in = loaded.engine.type in PROFILE_DRIVEN_ENGINES
    for role, _ in party.key_uris if party is not None else ():
        if not built_in:
            raise UserError(
                f"{KEY_OPTIONS[role]}: {loaded.id} is not the built-in engine "
                f"(engine {loaded.engine.type}): it takes its keys from the identity directory"
            )
    limits = None
    if max_message_bytes is not None:
        if not built_in:
            raise UserError(
                f"--max-message-bytes: {loaded.id} is not the built-in engine "
                f"(engine {loaded.engine.type}): its own limits are what is measured"
            )
        limits = Limits(max_message_bytes=max_message_bytes, max_cms_bytes=max_message_bytes)
    agent = make_agent(loaded, limits=limits)
    try:
        yield agent
    finally:
        close_agent(agent)


def _party(
    directory: str,
    key_uris: tuple[tuple[str, str], ...] = (),
    directories: frozenset[str] = frozenset({"cps"}),
) -> Party:
    path = check_identity_dir(Path(directory))
    data = files.identity_json(path.resolve())
    email = data.get("email")
    if not isinstance(email, str):
        said = "missing" if email is None else "not a string"
        raise UserError(f"{path / 'identity.json'}: field 'email': {said}")
    return Party(path.resolve(), email, str(data.get("name", email)), directories, key_uris)


def _key_uri(role: Role, uri: str | None) -> tuple[tuple[str, str], ...]:
    """--sign-key or --decrypt-key as a party's key URIs, refused before any work when it
    is no PKCS#11 URI (the token layer would take it for an identity directory)."""
    if uri is None:
        return ()
    try:
        parse_uri(uri)
    except UserError as exc:
        raise UserError(f"{KEY_OPTIONS[role]}: {exc}") from None
    return ((role, uri),)


def _check_key(party: Party, role: Role) -> None:
    """The key the verb will use, opened before any work: a token key that cannot be found
    or opened, or a key file that is missing or unreadable, is the caller's mistake (exit 2,
    as `check --identity` says of it), not the product declining the function (15) or
    breaking (70). The token's key stays open for the agent (identity_files' cache)."""
    if party.key_uri(role) is None:
        load_certificate(party.identity_dir, role)
        load_private_key(party.identity_dir, role)
        return
    option = KEY_OPTIONS[role]
    try:
        files.key(party, role)
    except MissingComponent as exc:
        raise MissingComponent(f"{option}: {exc}") from None
    except (TokenError, UserError) as exc:
        raise UserError(f"{option}: {exc}") from None


def _check_date(text: str) -> None:
    """A --date the agent could not put in the message is refused, not replaced by now."""
    try:
        parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise UserError(
            f"--date {text!r}: not an RFC 5322 date (e.g. 'Tue, 15 Jul 2025 10:00:00 +0200')"
        ) from None


def _check_header_options(args: argparse.Namespace) -> None:
    """A header value the message cannot carry is the caller's mistake (a usage error),
    not the product declining the function."""
    from conformance.smime.mime_build import header_value_ok

    for option, value in (("--subject", args.subject), ("--message-id", args.message_id)):
        try:
            header_value_ok(value or "", option)
        except ValueError:
            raise UserError(
                f"{option} {value!r}: contains a line break (a header is one line)"
            ) from None
    if args.message_id is not None and not args.message_id.isascii():
        raise UserError(f"--message-id {args.message_id!r}: not ASCII (RFC 5322 msg-id)")


def _recipient(arg: str, directories: frozenset[str]) -> tuple[Any, Party]:
    path = Path(arg)
    if path.is_dir():
        party = _party(arg, directories=directories)
        return files.role_certificate(party.identity_dir, "encrypt"), party
    cert = pem_files.certificate(path)
    email = files.certificate_email(cert) or ""
    # Known by its certificate alone: the directories it is listed in (--recipient-in)
    # are what a sender needs to choose the format; it has no identity directory here.
    return cert, Party(path.resolve().parent, email, email, directories)


def _send(args: argparse.Namespace) -> int:
    if not args.to and not args.to_address and args.function != "sign":
        raise UserError(f"--to or --to-address is required for function {args.function}")
    if args.to and args.to_address:
        raise UserError("--to and --to-address: give the certificates, or the addresses to look up")
    if args.to_address and not args.directory:
        raise UserError("--to-address needs --directory ldap://HOST:PORT/BASE")
    for mail in args.to_address or ():
        require_address("--to-address", mail)
    if args.directory:
        Address.parse(args.directory)  # a bad address fails here, before any work
    if args.date is not None:
        _check_date(args.date)
    _check_header_options(args)
    directories = frozenset(DIRECTORIES[:1])
    if args.recipient_in:
        directories = frozenset(d.strip() for d in args.recipient_in.split(",") if d.strip())
        unknown = directories - set(DIRECTORIES)
        if unknown:
            raise UserError(f"--recipient-in: unknown directory {', '.join(sorted(unknown))}")
    sender = _party(args.sender, _key_uri("sign", args.sign_key))
    recipients = [_recipient(t, directories) for t in args.to]
    parties = tuple(p for _, p in recipients)
    if args.to_address:
        parties = tuple(Party(Path.cwd(), m, m, directories) for m in args.to_address)
    request = SendRequest(
        function=args.function,
        content=b"",
        sender=sender,
        recipients=tuple(c for c, _ in recipients),
        recipient_emails=tuple(p.email for p in parties),
        recipient_parties=parties,
        subject=args.subject,
        date=args.date,
        message_id=args.message_id,
        directory=args.directory,
    )
    with _agent(args.profile, party=sender) as agent:
        if args.function != "encrypt":
            _check_key(sender, "sign")
        # An adapter judges its own input; the suite's own senders take a MIME entity only.
        stdin = sys.stdin.buffer if isinstance(agent, CommandAgent) else _entity_stdin()
        if stdin is None:
            return EXIT_CODES[ErrorCode.MALFORMED]
        if isinstance(agent, ProfileAgent):
            # The built-in engine reads stdin through a spool and writes the message as it
            # is built: an imaging attachment in bounded memory. Written only when whole.
            with tempfile.TemporaryFile() as built:
                result = agent.send_stream(stdin, request, built)
                if result.message is not None:
                    built.seek(0)
                    shutil.copyfileobj(built, sys.stdout.buffer, 4 * 1024 * 1024)
        else:
            result = agent.send(replace(request, content=stdin.read()))
            if result.message is not None:
                sys.stdout.buffer.write(result.message)
    _print_evidence(result.evidence.stderr)
    if result.message is None:
        code = result.error or ErrorCode.INTERNAL
        print(f"osm-conformance agent: {code.value}: {result.reason}", file=sys.stderr)
        return EXIT_CODES[code]
    sys.stdout.buffer.flush()
    return 0


def _entity_stdin() -> BinaryIO | None:
    """stdin, its header block read first and judged: None, the reason said as a send's
    error is (`malformed`, exit 16), when it is no MIME entity."""
    head = sys.stdin.buffer.read(mime.MimeLimits().max_header_bytes + 1)
    wrong = _not_an_entity(head)
    if wrong is not None:
        print(f"osm-conformance agent: {ErrorCode.MALFORMED.value}: {wrong}", file=sys.stderr)
        return None
    return io.BufferedReader(_Replayed(head, sys.stdin.buffer))


# What `send` takes on stdin (docs/agent-cli.md), said when stdin is something else.
_ENTITY = "expected a MIME entity: headers, empty line, body"


def _not_an_entity(head: bytes) -> str | None:
    """Why the content on stdin, of which `head` is the first bytes (past the header block's
    bound when it is that long), is not the MIME entity `send` takes, or None. A sender
    would otherwise secure any bytes as a headerless body: a message the validator refuses,
    the send having said it was done. The defects are the one MIME reader's, found in the
    header block alone."""
    if not head:
        return f"stdin is empty ({_ENTITY})"
    defects = mime.read(head).header_defects
    if defects:
        return f"stdin, line {defects[0].line}: {defects[0].message} ({_ENTITY})"
    return None  # header fields alone, no empty line after them, are an entity too (RFC 5322)


class _Replayed(io.RawIOBase):
    """A stream that gives `first` (bytes already read from `rest`), then the rest of it."""

    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._first = memoryview(first)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._first:
            size = min(len(buffer), len(self._first))
            buffer[:size] = self._first[:size]
            self._first = self._first[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _receive(args: argparse.Namespace) -> int:
    party = _party(args.identity, _key_uri("encrypt", args.decrypt_key))
    for p in [*args.trust, *args.crl]:
        require_file(Path(p), streams=False)  # read here, then again by the agent
    # A file that is not what it is given as is the caller's mistake (a usage error, exit
    # 2), said before any work, not the agent breaking (internal) in the middle of it.
    for p in args.trust:
        pem_files.certificates(p)
    for p in args.crl:
        pem_files.crls(p)
    request = ReceiveRequest(
        message=b"",
        recipient=party,
        trust=tuple(Path(p) for p in args.trust),
        crls=tuple(Path(p) for p in args.crl),
    )
    with _agent(args.profile, args.max_message_bytes, party) as agent:
        _check_key(party, "encrypt")  # to decrypt, and the built-in engine opens it first
        if isinstance(agent, ProfileAgent):
            # The built-in engine reads stdin through a spool: a large message (an imaging
            # report) in bounded memory, and nothing past the size limit.
            with agent.receive_stream(sys.stdin.buffer, request) as reading:
                return _received(args, reading.status, Evidence(), reading.content)
        reception = agent.receive(replace(request, message=sys.stdin.buffer.read()))
    return _received(args, reception.status, reception.evidence, reception.content)


def _received(
    args: argparse.Namespace, status: Status, evidence: Evidence, content: bytes | Region | None
) -> int:
    if args.status_out:
        try:
            Path(args.status_out).write_text(status.dumps() + "\n", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--status-out {args.status_out}: {exc.strerror or exc}") from None
    _print_evidence(evidence.stderr)
    for err in status.errors:
        print(f"osm-conformance agent: {err.code.value}: {err.message}", file=sys.stderr)
    if isinstance(content, Region):
        content.feed(sys.stdout.buffer.write)
    elif content is not None:
        sys.stdout.buffer.write(content)
    sys.stdout.buffer.flush()
    return status.exit_code()


def _version(args: argparse.Namespace) -> int:
    with _agent(args.profile) as agent:
        print(agent.version())
    return 0


def _capabilities(args: argparse.Namespace) -> int:
    caps = load_profile(args.profile).capabilities()
    print(
        json.dumps(
            {
                "contract_version": CONTRACT_VERSION,
                "send": sorted(caps.send),
                "receive": sorted(caps.receive),
            }
        )
    )
    return 0


def _print_evidence(stderr: bytes) -> None:
    if stderr:
        sys.stderr.write(stderr.decode("utf-8", "replace"))
