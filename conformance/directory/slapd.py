"""The suite's own OpenLDAP slapd: configured, loaded and started in a temporary directory.

Never the system's slapd (apt may have started one): this one has its own
slapd.conf, its own mdb database loaded offline with slapadd, listens on a free
loopback port, runs in the foreground (`-d 0`) as a child of the suite, and is
stopped when the context ends, however it ends. Also the two broken directories
the fault cells need: a port where nothing listens (down) and one that accepts a
connection and never answers (slow).
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from conformance.directory.tree import Tree
from conformance.errors import MissingComponent
from conformance.loopback import (
    LOOPBACK,
    ServerNotStarted,
    cannot_run,
    free_port,
    port_in_use,
    run_failed,
    start,
    stop_child,
    wait_listening,
)

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMAS = ("core", "cosine", "inetorgperson")
START_TIMEOUT_S = 10.0
LOAD_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0


def missing() -> str | None:
    """Why the suite cannot run its directory here, or None when it can."""
    for path in (SLAPD, SLAPADD, *(SCHEMA_DIR / f"{s}.schema" for s in SCHEMAS)):
        if not path.exists():
            return f"{path} missing: the directory cells need OpenLDAP (apt-get install slapd)"
    broken = cannot_run(SLAPD, "-VV")
    if broken is not None:
        return f"the directory cells need an OpenLDAP slapd that runs: {broken}"
    return None


@dataclass(frozen=True)
class Endpoint:
    """Where a directory listens: host, port and the base of its tree."""

    host: str
    port: int
    base: str
    # The suite's slapd serving it, when it is one (not `down` or `silent`): whether the
    # directory still runs is its process's, not whatever listens on the port.
    pid: int | None = field(default=None, compare=False)

    @property
    def url(self) -> str:
        """ldap://HOST:PORT/BASE (RFC 4516), what `agent send --directory` takes."""
        return f"ldap://{self.host}:{self.port}/{quote(self.base, safe='=,')}"


def _config(work: Path, base: str) -> Path:
    lines = [f"include {SCHEMA_DIR / s}.schema" for s in SCHEMAS]
    lines += [
        f"pidfile {work / 'slapd.pid'}",
        f"argsfile {work / 'slapd.args'}",
        f"modulepath {MODULE_DIR}",
        "moduleload back_mdb",
        "database mdb",
        "maxsize 104857600",
        f'suffix "{base}"',
        f'rootdn "cn=admin,{base}"',
        f"directory {work / 'db'}",
        "index mail eq",
        "index uid eq",
        "index cn eq",
        "access to * by * read",
    ]
    path = work / "slapd.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (work / "db").mkdir()
    return path


def _load(config: Path, tree: Tree, work: Path) -> None:
    ldif = work / "tree.ldif"
    ldif.write_text(tree.ldif(), encoding="utf-8")
    argv = [str(SLAPADD), "-q", "-f", str(config), "-l", str(ldif)]
    failed = run_failed(argv, LOAD_TIMEOUT_S, "slapadd (loading the tree)")
    if failed is not None:
        what, said = failed
        exited = said is not None  # what it said then, or that it said nothing
        raise ServerNotStarted("slapd", what, (said or "it said nothing") if exited else "")


def tail(log: Path) -> Callable[[], str]:
    """The end of slapd's log, read when asked."""
    return lambda: log.read_text(encoding="utf-8", errors="replace").strip()[-800:]


@contextlib.contextmanager
def serve(tree: Tree, port: int = 0, host: str = LOOPBACK) -> Iterator[Endpoint]:
    """A slapd serving `tree` on host:port (0: a free port), stopped when the context ends.
    MissingComponent when it cannot run here (`missing()`), ServerNotStarted (one) when it
    is there but does not start; RuntimeError for an address or port it cannot have."""
    reason = missing()
    if reason is not None:
        raise MissingComponent(reason)
    if port_in_use(host, 0):  # not even a free port: not an address of this host
        raise RuntimeError(f"{host}: not an IPv4 address this machine has")
    if port and port_in_use(host, port):
        raise RuntimeError(f"{host}:{port} is already in use")
    work = Path(tempfile.mkdtemp(prefix="osm-slapd-"))
    process: subprocess.Popen[bytes] | None = None

    def stop() -> None:
        # Stopped (and waited for) before its folder goes, whatever ended the block: a
        # SIGTERM while it was starting included, or slapd would still write in it.
        if process is not None:
            stop_child(process, STOP_TIMEOUT_S)
        shutil.rmtree(work, ignore_errors=True)

    # And at the interpreter's exit if the block is never closed: a teardown skipped by
    # an error before it (the matrix's session fixture, whose cast is never collected).
    atexit.register(stop)
    try:
        config = _config(work, tree.base)
        _load(config, tree, work)
        for attempt in range(3):
            # A free port may be taken between the probe and slapd's bind: try again.
            chosen = port or free_port(host)
            log = work / f"slapd-{attempt}.log"
            with log.open("wb") as out:
                argv = [str(SLAPD), "-f", str(config), "-h", f"ldap://{host}:{chosen}/", "-d", "0"]
                process = start("slapd", argv, out)
            try:
                wait_listening(process, "slapd", host, [chosen], START_TIMEOUT_S, tail(log))
            except ServerNotStarted:
                stop_child(process, STOP_TIMEOUT_S)
                if port or attempt == 2:
                    raise
                continue
            yield Endpoint(host, chosen, tree.base, process.pid)
            return
    finally:
        atexit.unregister(stop)
        stop()


@contextlib.contextmanager
def down(base: str, host: str = LOOPBACK) -> Iterator[Endpoint]:
    """A directory that is down: a loopback port where nothing listens (connection refused)."""
    yield Endpoint(host, free_port(host), base)


@contextlib.contextmanager
def silent(base: str, host: str = LOOPBACK) -> Iterator[Endpoint]:
    """A directory too slow to answer: it accepts the connection and never replies."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        sock.listen(64)  # the kernel completes the handshakes; nobody reads or answers
        yield Endpoint(host, sock.getsockname()[1], base)
