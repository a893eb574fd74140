"""`osm-conformance serve`: the suite as the mail server of a product it cannot drive."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from conformance.cli_support import byte_size, seconds

DEFAULT_PROFILE = "nss"  # Thunderbird's engine: the client docs/serve.md walks through
DEFAULT_SMTP_PORT = 2525
DEFAULT_IMAP_PORT = 2143
DEFAULT_WEB_PORT = 2580
DEFAULT_MAX_MESSAGE_BYTES = "64M"  # serve.session.SUBMISSION_SIZE_LIMIT, parsed by byte_size


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"{value}: expected 1 to 65535 (0: any free port)")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="be the mail server of a product the suite cannot drive (SMTP, IMAP, a record)",
        description="Start, on loopback, an SMTP submission server (STARTTLS with the test "
        "PKI's server-localhost certificate, then AUTH PLAIN with the test passwords of "
        "OUT/accounts.csv) and, when Dovecot is installed, IMAP mailboxes (STARTTLS) for the "
        "test identities; without Dovecot the mailboxes are maildirs under OUT/maildir/. "
        "The messages `vectors export --for PROFILE` makes (the basic message of each "
        "function from `reference` and every real engine installed here, and the hostile "
        "messages of the rejection corpus) are dropped into the product's inbox, each with "
        "a short id in its Subject (OUT/dropped.csv). Every message the product sends is "
        "kept in OUT/received/ and judged by the validator and the `reference` receiver "
        "(OUT/judged.json, OUT/summary.html: measured). What the product showed for each "
        "dropped message is recorded in a local web form (or by hand) as "
        "OUT/vectors/record.csv and negative.csv, the records `vectors import` reads "
        "(observed by the tester). Runs until Ctrl-C. See docs/serve.md.",
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address the SMTP server and the record form listen on (default 127.0.0.1; "
        "Dovecot listens on loopback only)",
    )
    parser.add_argument(
        "--smtp-port",
        type=_port,
        default=DEFAULT_SMTP_PORT,
        metavar="N",
        help=f"SMTP submission port (default {DEFAULT_SMTP_PORT}; 0: any free port)",
    )
    parser.add_argument(
        "--imap-port",
        type=_port,
        default=DEFAULT_IMAP_PORT,
        metavar="N",
        help=f"IMAP port, when Dovecot is installed (default {DEFAULT_IMAP_PORT}; 0: any free)",
    )
    parser.add_argument(
        "--web-port",
        type=_port,
        default=DEFAULT_WEB_PORT,
        metavar="N",
        help=f"port of the tester's record form (default {DEFAULT_WEB_PORT}; 0: any free)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("serve-out"),
        metavar="DIR",
        help="where accounts, dropped and received messages, judgements and the record go "
        "(default ./serve-out)",
    )
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        metavar="ID",
        help=f"the profile the product claims to follow (default {DEFAULT_PROFILE}, the "
        "engine of Thunderbird); its user's inbox gets the dropped messages",
    )
    parser.add_argument(
        "--sender",
        action="append",
        default=[],
        metavar="ID",
        help="only messages from this sender profile (repeatable; default: reference and "
        "every shipped real engine but the product's own profile)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=byte_size,
        default=DEFAULT_MAX_MESSAGE_BYTES,
        metavar="SIZE",
        help="the SIZE the submission server announces (RFC 1870); a larger message is "
        "refused with 552 and kept nowhere (default 64M; e.g. 300M for an imaging series: "
        "receiving holds about five times the size in memory)",
    )
    parser.add_argument(
        "--maildir",
        action="store_true",
        help="mailboxes as maildirs under OUT/maildir/ even when Dovecot is installed",
    )
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument(
        "--duration",
        type=seconds,
        metavar="SECONDS",
        help="stop after this long (default: run until Ctrl-C)",
    )
    stop.add_argument(
        "--once",
        action="store_true",
        help="stop once the first message the product sends has been judged",
    )
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from conformance.serve.session import Settings, describe, farewell, serving

    settings = Settings(
        out=args.out,
        profile=args.profile,
        listen=args.listen,
        smtp_port=args.smtp_port,
        imap_port=args.imap_port,
        web_port=args.web_port,
        senders=tuple(args.sender),
        maildir=args.maildir,
        max_message_bytes=args.max_message_bytes,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C or a kill: stop every server
        signal.signal(sig, lambda *_: stop.set())
    with serving(settings, say=_say) as running:
        print(describe(running), flush=True)
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set():
            if args.once and running.collector.handled >= 1:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            stop.wait(0.2)
        print(farewell(running), flush=True)
    if stop.is_set():
        print("stopped", file=sys.stderr)
    return 0


def _say(line: str) -> None:
    print(line, flush=True)
