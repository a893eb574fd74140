"""`osm-conformance directory export|serve|faults`: the test CPS directory for a real product.

`export` writes the tree as LDIF (load it into any LDAP server); `serve` runs the
suite's own slapd in the foreground until Ctrl-C, so a product under test can be
pointed at it; `faults` puts senders in front of a directory's failures.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from conformance import paths
from conformance.errors import UserError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "directory",
        help="the CPS directory (LDAP) of the test PKI: export it as LDIF, serve it, its faults",
        description=(
            "The CPS directory ('annuaire') of the test PKI over LDAP: one entry per "
            "professional (uid=<idNat>, mail, userCertificate;binary), the CAs with their "
            "CRLs. The parts of the tree no source gives are marked assumed."
        ),
    )
    sub = parser.add_subparsers(dest="directory_command", metavar="ACTION", required=True)

    export = sub.add_parser(
        "export",
        help="write the directory tree as LDIF",
        description="Write the tree as LDIF (RFC 2849), the assumed parts listed at its head.",
    )
    export.add_argument(
        "--ldif",
        type=Path,
        required=True,
        metavar="FILE",
        help="output file; - writes the LDIF to standard output (the summary to stderr)",
    )
    _common(export)
    export.set_defaults(func=_export)

    serve = sub.add_parser(
        "serve",
        help="serve the directory with the suite's own slapd until Ctrl-C",
        description=(
            "Start the suite's own OpenLDAP slapd (not the system's) with the tree, on "
            "HOST:PORT, in the foreground; Ctrl-C stops it and removes its files."
        ),
    )
    serve.add_argument("--port", type=int, required=True, metavar="N", help="port to listen on")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    _common(serve)
    serve.set_defaults(func=_serve)

    faults = sub.add_parser(
        "faults",
        help="put senders in front of the directory's failures, one line per cell",
        description=(
            "Every sender that looks recipients up (profile send.recipient_certificate: "
            "directory) against each directory fault: recipient absent, signature "
            "certificate only, expired certificate beside its renewal, revoked certificate, "
            "directory down, directory slow. Exit 0 when every cell passes."
        ),
    )
    faults.add_argument("--sender", action="append", default=[], help="profile id; repeatable")
    faults.add_argument(
        "--profiles",
        action="append",
        default=[],
        metavar="PATH",
        help="a profile file or folder (repeatable; default: the shipped profiles): a file "
        "joins them, a folder replaces them, as in run",
    )
    faults.add_argument("--json", action="store_true", help="print JSON")
    faults.set_defaults(func=_faults)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pki", type=Path, default=paths.PKI_DIR, metavar="DIR", help="the test PKI to publish"
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="the fault tree (absent, signature-only, expired beside renewal, revoked)",
    )


def _tree(args: argparse.Namespace) -> Any:
    from conformance.directory.faults import fault_tree
    from conformance.directory.tree import build_tree
    from conformance.pki.model import load_pki

    pki = load_pki(args.pki)
    return fault_tree(pki).tree if args.faults else build_tree(pki)


def _export(args: argparse.Namespace) -> int:
    to_stdout = str(args.ldif) == "-"
    if not to_stdout and not args.ldif.parent.is_dir():
        raise UserError(f"--ldif {args.ldif}: no such directory {args.ldif.parent}")
    tree = _tree(args)
    if to_stdout:
        sys.stdout.write(tree.ldif())
    else:
        try:
            args.ldif.write_text(tree.ldif(), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--ldif {args.ldif}: cannot write ({exc.strerror or exc})") from None
    people = sum(1 for e in tree.entries if e.dn.startswith("uid="))
    where = "the LDIF to standard output" if to_stdout else args.ldif
    print(
        f"wrote {where}: {len(tree.entries)} entries ({people} professionals), base {tree.base}",
        file=sys.stderr if to_stdout else sys.stdout,
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from conformance.directory import slapd
    from conformance.loopback import ServerNotStarted, port_in_use, running

    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: expected 1 to 65535")
    tree = _tree(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C or a kill: stop slapd, remove its files
        signal.signal(sig, lambda *_: stop.set())
    try:
        with slapd.serve(tree, port=args.port, host=args.host) as endpoint:
            print(f"serving the CPS directory (TEST ONLY) at {endpoint.url}", flush=True)
            print(f"  base DN: {endpoint.base}", flush=True)
            print(
                f"  try: ldapsearch -x -H ldap://{endpoint.host}:{endpoint.port} "
                f"-b '{endpoint.base}' '(mail=...)' mail",
                flush=True,
            )
            print("Ctrl-C stops it.", flush=True)
            while not stop.wait(1.0):
                # Its process, not the port: another program could listen there after it.
                if endpoint.pid is not None and not running(endpoint.pid):  # killed, crashed
                    raise RuntimeError(f"slapd stopped: it no longer serves {endpoint.url}")
    except ServerNotStarted as exc:
        if port_in_use(args.host, args.port):  # taken after the check, before slapd's bind
            raise UserError(
                f"directory serve: {args.host}:{args.port} is already in use ({exc})"
            ) from None
        raise  # a slapd that cannot run here: missing (exit 3)
    except RuntimeError as exc:
        raise UserError(f"directory serve: {exc}") from None
    print("stopped", file=sys.stderr)
    return 0


def _faults(args: argparse.Namespace) -> int:
    from conformance.matrix.directory_faults import faults_report, run_faults

    cells = run_faults(tuple(args.sender), tuple(args.profiles))
    print(faults_report(cells, as_json=args.json))
    return 0 if all(c.verdict in ("pass", "not-applicable") for c in cells) else 1
