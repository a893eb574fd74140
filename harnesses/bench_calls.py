"""Per-call cost of each harness verb (a benchmark, not a test).

    python harnesses/bench_calls.py [--calls N] [--engine E ...]

For each engine with a built harness, one agent makes a sign-encrypt exchange
(pro01 -> pro02, as harnesses/bench.py does), the harness calls of a second
exchange are recorded, and each is replayed N times in the same harness with
fresh output file names (as the agent's file counter gives). It prints per call
the median and fastest wall time and the harness process's CPU time. The files
are where TMPDIR says: on ext4 creating a file can cost more than a cached call
(harnesses/README.md, Speed), so TMPDIR=/dev/shm shows the harness's own cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # type: ignore[import-not-found,unused-ignore]  # harnesses/bench.py, beside it

from conformance.agents import harness as harness_client
from conformance.agents.tools import ENGINE_MODE_ENV, built_harnesses
from conformance.matrix.bench import proc_stat
from conformance.smime.options import EncryptOptions, SendOptions

OUTPUTS = ("-out", "-o")  # openssl cms and cmsutil


def label(argv: list[str]) -> str:
    """`cms -sign` ... for openssl, `cmsutil -S` ... for NSS (`-D -c`: a detached signature),
    `gpgsm --sign` ... for gpgsm."""
    if argv[0] == "cms":
        return " ".join(
            argv[:1] + [a for a in argv if a in ("-sign", "-encrypt", "-decrypt", "-verify")][:1]
        )
    commands = ("--sign", "--detach-sign", "--encrypt", "--decrypt", "--verify")
    gpgsm = [a for a in argv if a in commands]
    if gpgsm:  # one command per gpgsm call
        return "gpgsm " + gpgsm[0]
    return " ".join(["cmsutil", argv[0]] + (["-c"] if "-c" in argv else []))


def cpu_seconds(pid: int) -> float:
    return proc_stat(Path(f"/proc/{pid}/stat").read_text()).ticks / os.sysconf("SC_CLK_TCK")


def fresh(argv: list[str], k: int) -> list[str]:
    """argv with its output files renamed for the k-th call (-signer too, under -verify)."""
    outputs = {
        argv[i + 1]
        for i, a in enumerate(argv[:-1])
        if a in OUTPUTS or (a == "-signer" and "-verify" in argv)
    }
    return [f"{a}.{k}" if a in outputs else a for a in argv]


def inputs_of(argv: Sequence[str], cwd: str | None) -> dict[Path, bytes]:
    """The files a call reads, as they are before it runs: the agent removes each call's
    files when the call ends, so a replay writes them back first."""
    paths = (Path(cwd or ".", arg) for arg in argv if not arg.startswith("-"))
    return {path: path.read_bytes() for path in paths if path.is_file()}


def restore(files: dict[Path, bytes]) -> None:
    for path, data in files.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def measure(engine: str, calls: int) -> None:
    recorded: list[
        tuple[harness_client.Harness, list[str], bytes, str | None, int, dict[Path, bytes]]
    ] = []
    original = harness_client.Harness.call

    def spy(
        self: harness_client.Harness,
        argv: Sequence[str],
        *,
        stdin: bytes = b"",
        cwd: str | None = None,
        timeout: float = 60.0,
    ) -> harness_client.Reply:
        files = inputs_of(argv, cwd)
        reply = original(self, argv, stdin=stdin, cwd=cwd, timeout=timeout)
        recorded.append((self, list(argv), stdin, cwd, reply.exit, files))
        return reply

    kind = bench.AGENTS[engine][1]
    options = SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15"))
    with tempfile.TemporaryDirectory() as work, kind(options, Path(work)) as agent:
        bench.exchange(agent, "sign-encrypt")  # imports, trust, CRLs: not timed
        harness_client.Harness.call = spy  # type: ignore[method-assign]
        try:
            bench.exchange(agent, "sign-encrypt")
        finally:
            harness_client.Harness.call = original  # type: ignore[method-assign]
        for harness, argv, stdin, cwd, code, files in recorded:
            restore(files)
            harness.call(fresh(argv, -1), stdin=stdin, cwd=cwd)  # warm
            assert harness.pid is not None
            times, used = [], cpu_seconds(harness.pid)
            for k in range(calls):
                start = time.perf_counter()
                reply = harness.call(fresh(argv, k), stdin=stdin, cwd=cwd)
                times.append(time.perf_counter() - start)
                if reply.exit != code:
                    raise SystemExit(f"{argv}: exit {reply.exit}, not {code}: {reply.stderr!r}")
            used = (cpu_seconds(harness.pid) - used) / calls
            print(
                f"{engine:>8} {label(argv):<16} {1000 * statistics.median(times):7.3f} ms median "
                f"{1000 * min(times):7.3f} ms fastest {1000 * used:7.3f} ms harness CPU",
                flush=True,
            )
    harness_client.close_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="replays of each call")
    parser.add_argument("--engine", action="append", choices=sorted(bench.AGENTS), default=[])
    args = parser.parse_args()
    os.environ[ENGINE_MODE_ENV] = "harness"
    built = built_harnesses()
    for engine in args.engine or ["openssl", "nss"]:
        if bench.AGENTS[engine][0] not in built:
            print(f"{engine:>8} no harness built here")
            continue
        measure(engine, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
