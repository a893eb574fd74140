"""Speed of the real engines, command lines against harnesses (a benchmark, not a test).

    python harnesses/bench.py [--exchanges N] [--function F] [--engine E ...]

For each engine (openssl, nss, gpgsm, go-pkcs7, gnutls, pkijs, bouncycastle) one agent
sends N messages to itself (pro01 -> pro02 of the test PKI) and reads them, first with
every tool call a command line (engine mode "cli"), then through the engine's harness. It prints
per exchange the wall time and the CPU time of this process and all it started
(tool processes, harnesses and their gpgsm servers; gpg-agent, a daemon, is in
neither), and how many tool calls each exchange made. An untimed exchange first
brings each agent to its steady state (imports, trust, CRLs). Figures depend on
the machine and its load; the CPU time is the steadier one.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from conformance.agents import harness as harness_client
from conformance.agents import identity_files as files
from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.bouncycastle import BouncyCastleAgent
from conformance.agents.gnutls import GnutlsAgent
from conformance.agents.go_pkcs7 import GoPkcs7Agent
from conformance.agents.gpgsm import GpgsmAgent
from conformance.agents.nss import NssAgent
from conformance.agents.openssl import OpenSSLAgent
from conformance.agents.pkijs import PkijsAgent
from conformance.agents.tool_agent import ToolAgent
from conformance.agents.tools import ENGINE_MODE_ENV, built_harnesses
from conformance.core.vocabulary import FUNCTIONS, Function, KeyTransport, Party
from conformance.paths import PKI_DIR
from conformance.smime.options import EncryptOptions, SendOptions

AGENTS: dict[str, tuple[str, type[ToolAgent]]] = {
    "openssl": ("openssl", OpenSSLAgent),
    "nss": ("cmsutil", NssAgent),
    "gpgsm": ("gpgsm", GpgsmAgent),
    "go-pkcs7": ("osm-go-pkcs7-harness", GoPkcs7Agent),
    "gnutls": ("certtool", GnutlsAgent),  # signatures only: --function sign
    "pkijs": ("pkijs", PkijsAgent),
    "bouncycastle": ("osm-bc-harness", BouncyCastleAgent),
}
# Engines run with their agent's own defaults: what their library can do.
OWN_DEFAULTS = frozenset({"go-pkcs7", "gnutls"})
# WebCrypto has no RSAES-PKCS1-v1_5: PKI.js exchanges with OAEP.
KEY_TRANSPORTS: dict[str, KeyTransport] = {"pkijs": "rsa-oaep-sha256"}
CONTENT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nOBX|1|NM|GLU^Glycemie||5.2|mmol/l\r\n"


def party(name: str) -> Party:
    directory = PKI_DIR / "identities" / name
    data = files.identity_json(directory)
    return Party(directory, str(data["email"]), str(data["name"]), frozenset({"cps"}))


def cpu() -> float:
    """CPU seconds of this process and of its children that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def exchange(agent: ToolAgent, function: Function) -> int:
    """One send and receive; returns the number of tool calls it made."""
    to = party("pro02")
    sent = agent.send(
        SendRequest(
            function,
            CONTENT,
            party("pro01"),
            (files.role_certificate(to.identity_dir, "encrypt"),),
            (to.email,),
            (to,),
            subject="bench",
        )
    )
    if sent.message is None:
        raise SystemExit(f"{agent.id} could not send: {sent.error} {sent.reason}")
    ca = PKI_DIR / "ca"
    got = agent.receive(
        ReceiveRequest(
            sent.message,
            to,
            (ca / "root.pem",),
            (ca / "root.crl.pem", ca / "intermediate.crl.pem"),
        )
    )
    if got.status.errors:
        raise SystemExit(f"{agent.id} could not read its message: {got.status.errors}")
    return len(sent.evidence.notes) + len(got.evidence.notes)


def measure(engine: str, mode: str, exchanges: int, function: Function) -> str:
    os.environ[ENGINE_MODE_ENV] = mode
    kind = AGENTS[engine][1]
    transport = KEY_TRANSPORTS.get(engine, "rsa-pkcs1v15")
    options = (
        None
        if engine in OWN_DEFAULTS
        else SendOptions(encrypt=EncryptOptions(key_transport=transport))
    )
    with tempfile.TemporaryDirectory() as work, kind(options, Path(work)) as agent:
        exchange(agent, function)  # imports, trust, CRLs: not timed
        calls = 0
        wall, used = time.perf_counter(), cpu()
        for _ in range(exchanges):
            calls += exchange(agent, function)
        harness_client.close_all()  # the harnesses' CPU counts once they have ended
        wall, used = time.perf_counter() - wall, cpu() - used
    return (
        f"{engine:>8} {mode:<8} {1000 * wall / exchanges:8.1f} ms wall "
        f"{1000 * used / exchanges:8.1f} ms CPU per exchange "
        f"({calls / exchanges:.1f} tool calls each)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=20, help="timed exchanges per run")
    parser.add_argument("--function", choices=FUNCTIONS[:3], default="sign-encrypt")
    parser.add_argument("--engine", action="append", choices=sorted(AGENTS), default=[])
    args = parser.parse_args()
    built = built_harnesses()
    print(f"{args.exchanges} {args.function} exchanges per engine and mode; harnesses: {built}")
    for engine in args.engine or list(AGENTS):
        modes = ["cli", "harness"] if AGENTS[engine][0] in built else ["cli"]
        for mode in modes:
            print(measure(engine, mode, args.exchanges, args.function), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
