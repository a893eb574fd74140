"""The routes of a run over real SMTP (`run --transport smtp --via HOP,...`).

A route is the tuple of hop ids a cell's messages go through before the store (() is the
plain route: SMTP on loopback with no rewriting hop, the one every hop is compared with).
`--via 8bit-to-qp,footer` gives two variants, each its own cell beside the plain route;
`--via postfix+8bit-to-qp` chains two hops in one variant. The hop ids and what each
stands for come from conformance/mail (route.HOPS, the gateways' table).
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import get_args

from conformance.errors import UserError
from conformance.mail.gateways import misplaced_hop
from conformance.results import Transport

Route = tuple[str, ...]  # hop ids in order; () the plain route
PLAIN: Route = ()
TRANSPORTS: tuple[Transport, ...] = get_args(Transport)
ROUTE_MARK = "@"  # test ids and evidence folders: sign@8bit-to-qp+footer
NAME_MAX = 255  # bytes in one file name (Linux's NAME_MAX: ext4, xfs, btrfs, tmpfs)


def route_id(route: Route) -> str:
    """The route as --via writes one variant: hop ids joined by "+" ("" for the plain one)."""
    return "+".join(route)


def evidence_folder(function: str, route: Route) -> str:
    """A routed function's one name: FUNCTION, then @HOP+HOP off the plain route; a cell's
    evidence folder under SENDER/RECEIVER/ (NAME_MAX bounds it) and the end of its test
    id."""
    return f"{function}{ROUTE_MARK}{route_id(route)}" if route else function


def parse_via(texts: Iterable[str], known: Collection[str]) -> tuple[Route, ...]:
    """`--via` values (comma-separated variants, `a+b` chaining hops; repeatable) -> the
    variants in order, without duplicates; UserError naming an unknown hop id and the known
    ones, before any cell runs."""
    routes: list[Route] = []
    for text in texts:
        for variant in text.split(","):
            variant = variant.strip()
            if not variant:
                raise UserError(f"--via {text!r}: an empty hop list (ids are comma-separated)")
            route = tuple(h.strip() for h in variant.split("+"))
            unknown = [h for h in route if h not in known]
            if unknown:
                raise UserError(
                    f"--via {variant}: unknown hop {', '.join(repr(u) for u in unknown)} "
                    f"(known: {', '.join(sorted(known))})"
                )
            _check_order(variant, route)
            if route not in routes:
                routes.append(route)
    return tuple(routes)


def _check_order(variant: str, route: Route) -> None:
    """A chain whose order cannot be what happens (a store's rewrite before a relay) is a
    UserError with the order that can, rather than a run that silently reorders it."""
    hop = misplaced_hop(route)
    if hop is not None:
        fixed = route_id((*(h for h in route if h != hop), hop))
        raise UserError(
            f"--via {variant}: {hop} stands for the mailbox, which rewrites what it serves "
            f"at the end of every route, after every relay: put it last ({fixed})"
        )


def resolve_transport(transport: str | None, via: tuple[Route, ...]) -> Transport:
    """--via implies smtp; --transport memory with --via is a contradiction."""
    if transport not in (None, *TRANSPORTS):
        raise UserError(f"--transport {transport}: one of {', '.join(TRANSPORTS)}")
    if via and transport == "memory":
        raise UserError("--via needs the smtp transport (hops are SMTP relays); drop --transport")
    return "smtp" if via or transport == "smtp" else "memory"


@dataclass(frozen=True)
class Hop:
    """A hop as the help, results.json and the report describe it."""

    id: str
    stands_for: str  # one line: the real behaviour it stands for (English)
    stands_for_fr: str
    simulated: bool = True  # a gateway the suite simulates; False: the real software (postfix)
    version: str | None = None  # of the real software


def hops() -> dict[str, Hop]:
    """Every hop id of conformance.mail.route.HOPS with what it stands for."""
    from conformance.mail import route

    found = {}
    for hop_id, text in route.HOP_STANDS_FOR.items():
        real = hop_id == route.POSTFIX
        version = _postfix_version() if real else None
        found[hop_id] = Hop(hop_id, text.en, text.fr, simulated=not real, version=version)
    return found


def _postfix_version() -> str | None:
    """Postfix's mail_version (`postconf -d`), when the postfix hop can run here."""
    if missing_postfix() is not None:
        return None
    try:
        done = subprocess.run(
            ["postconf", "-d", "-h", "mail_version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def missing_postfix() -> str | None:
    """Why the real Postfix hop cannot run here (conformance.mail.postfix), else None."""
    from conformance.mail import postfix

    return postfix.missing()


def delivery(not_started: str | None = None) -> tuple[str, str]:
    """How a run's messages reached the receiving side (the store each worker opens):
    "imap" with the server ("Dovecot 2.3.19.1"), "maildir" with why there is no Dovecot,
    or "none" with `not_started`, why the store did not start in any worker (the cells'
    fact: report.gateways.hops_not_run)."""
    from conformance.mail import dovecot

    if not_started is not None:
        return "none", not_started
    missing = dovecot.missing()
    if missing is None:
        return "imap", f"Dovecot {_version([str(dovecot.DOVECOT)])}"
    return "maildir", missing


def delivery_note(method: str, detail: str) -> str:
    """`delivery()` as one English line: delivered by IMAP (Dovecot 2.3.19.1), delivered
    to a maildir: REASON, or nothing delivered: WHY THE STORE DID NOT START."""
    if method == "imap":
        return f"delivered by IMAP ({detail})"
    if method == "none":
        return f"nothing delivered: {detail}"
    return f"delivered to a maildir: {detail}"


def _version(argv: list[str]) -> str:
    """The first word `ARGV --version` prints (Dovecot: "2.3.19.1 (9b53102964)")."""
    try:
        done = subprocess.run(
            [*argv, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"version unknown: {exc}"
    words = done.stdout.split()
    return words[0] if done.returncode == 0 and words else "version unknown"


def via_help(known: Mapping[str, Hop]) -> str:
    """The hops for `run --help`: one line each."""
    lines = ["  (plain)        no rewriting hop: the route every hop is compared with"]
    for hop in known.values():
        kind = "real" if not hop.simulated else "a simulation"
        first = f"  {hop.id:<14} "
        if len(first) > 17:  # a long id on its own line
            lines.append(f"  {hop.id}")
            first = " " * 17
        text = f"({kind}) {hop.stands_for}"
        lines += textwrap.wrap(text, width=92, initial_indent=first, subsequent_indent=" " * 17)
    return "\n".join(lines)
