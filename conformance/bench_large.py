"""A large message through `reference` beside `openssl cms`: peak memory and throughput.

An imaging report: a letter with one binary attachment (200 MB by default),
sign-encrypt then decrypt-verify, each step a process of its own whose peak
resident memory is read by a parent of its own (`getrusage` of its children).
`reference` runs through its command line (`agent reference send|receive`,
which spools and streams); `openssl cms` signs, encrypts, decrypts and
verifies the same entity and the same message. Plain figures, no verdict: the
issue 21 goals are a peak of at most 2.5 times the attachment on each side,
and a throughput within 2 times of openssl's.

    .venv/bin/python -m conformance.bench_large [--size 200M]

Its files (the entity, each side's message and what was read back) are kept in a temporary
folder to the end: about 10 times the attachment. A size over what the built-in sender takes
(1 GiB of content) or what that folder has room for is refused (exit 2) before anything is
written; SIGTERM, as Ctrl-C, stops the tool running and removes the folder (exit 143, 130).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.cli_support import byte_size
from conformance.errors import UserError
from conformance.matrix.cast import exported_pki
from conformance.matrix.spec import check_large_attachment, check_temporary_room
from conformance.pki.model import load_pki
from conformance.signals import Terminated, sigterm_unwinds

__all__ = ["Step", "attachment_entity_file", "main", "run"]

BOUNDARY = b"----=_osm_large_attachment"
# What the bench writes to the temporary folder, per byte of the attachment: the entity,
# reference's message and content, openssl's signed data, message, decryption and content,
# all kept to the end, and the agent's spools. Measured 9.9 with 20M (du of TMPDIR).
DISK_FACTOR = 11
_PROBE = (
    "import resource, subprocess, sys\n"
    "with open(sys.argv[1], 'rb') as i, open(sys.argv[2], 'wb') as o:\n"
    "    code = subprocess.call(sys.argv[3:], stdin=i, stdout=o, stderr=subprocess.DEVNULL)\n"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def attachment_entity_file(path: Path, size: int, seed: int = 1) -> None:
    """Write a letter with one binary attachment of `size` bytes (base64), a MIME entity,
    without holding it: the attachment is drawn and encoded 57 kB at a time."""
    rng = random.Random(seed)
    with path.open("wb") as out:
        out.write(b'Content-Type: multipart/mixed; boundary="' + BOUNDARY + b'"\r\n\r\n')
        out.write(b"--" + BOUNDARY + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
        out.write(b"Compte rendu d'imagerie : la s\xc3\xa9rie est jointe.\r\n")
        out.write(b"--" + BOUNDARY + b'\r\nContent-Type: application/dicom; name="serie.dcm"\r\n')
        out.write(b"Content-Transfer-Encoding: base64\r\n\r\n")
        left = size
        while left:
            count = min(left, 57 * 1024)
            out.write(base64.encodebytes(rng.randbytes(count)).replace(b"\n", b"\r\n"))
            left -= count
        out.write(b"--" + BOUNDARY + b"--\r\n")


@dataclass(frozen=True)
class Step:
    """One process measured: its exit code, seconds and peak resident memory."""

    name: str
    code: int
    seconds: float
    peak_bytes: int


def run(name: str, argv: Sequence[str], stdin: Path, stdout: Path) -> Step:
    """Run `argv` with stdin and stdout on files, in a probe process that reads its peak.
    The probe and the tool in a process group of their own, killed together when the bench
    stops (SIGTERM, Ctrl-C): the tool would go on writing into a folder removed, its file
    holding the disk until it ends."""
    start = time.perf_counter()
    command = [sys.executable, "-c", _PROBE, str(stdin), str(stdout), *argv]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as probe:
        try:
            printed, errors = probe.communicate()
        except BaseException:
            os.killpg(probe.pid, signal.SIGKILL)
            raise
    if probe.returncode:
        raise subprocess.CalledProcessError(probe.returncode, command, printed, errors)
    seconds = time.perf_counter() - start
    code, peak_kb = printed.split()
    return Step(name, int(code), seconds, int(peak_kb) * 1024)


def _describe(step: Step, payload: int) -> str:
    if step.code != 0:
        return f"{step.name}: exit {step.code} (failed)"
    rate = payload / step.seconds / 1e6
    return (
        f"{step.name}: {step.seconds:6.1f} s, {rate:5.1f} MB/s of attachment, "
        f"peak {step.peak_bytes / 1e6:6.0f} MB ({step.peak_bytes / payload:.2f}x the attachment)"
    )


def bench(size: int, out: Callable[[str], None] = print) -> list[Step]:
    """The round trip through reference, then through openssl cms, on the same data."""
    export = exported_pki(load_pki())
    me, sender = export / "identities" / "pro02", export / "identities" / "pro01"
    agent = [sys.executable, "-m", "conformance", "agent", "reference"]
    crls = [f"--crl={p}" for p in sorted((export / "ca").glob("*.crl.pem"))]
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="osm-bench-large-") as folder:
        work = Path(folder)
        entity, message = work / "entity", work / "message"
        attachment_entity_file(entity, size)
        out(
            f"large attachment: {size / 1e6:.0f} MB ({entity.stat().st_size / 1e6:.0f} MB "
            "entity), sign-encrypt then decrypt-verify, pro01 -> pro02"
        )
        send = [*agent, "send", "--function", "sign-encrypt", "--subject", "Imagerie"]
        send += ["--from", str(sender), "--to", str(me / "encrypt.pem")]
        steps.append(run("reference send   ", send, entity, message))
        out(_describe(steps[-1], size) + f"; message {message.stat().st_size / 1e6:.0f} MB")
        receive = [*agent, "receive", "--identity", str(me), "--trust"]
        receive += [str(export / "ca" / "root.pem"), *crls, "--status-out", str(work / "s")]
        steps.append(run("reference receive", receive, message, work / "content"))
        out(_describe(steps[-1], size))
        openssl = shutil.which("openssl")
        if openssl is None:
            out("openssl cms: not available")
            return steps
        cms = [openssl, "cms"]
        sign = [*cms, "-sign", "-signer", str(sender / "sign.pem"), "-inkey"]
        sign += [str(sender / "sign.key.pem"), "-certfile", str(sender / "chain.pem"), "-binary"]
        steps.append(run("openssl cms -sign   ", sign, entity, work / "signed"))
        encrypt = [*cms, "-encrypt", "-aes256", "-binary", str(me / "encrypt.pem")]
        steps.append(run("openssl cms -encrypt", encrypt, work / "signed", work / "o-message"))
        decrypt = [*cms, "-decrypt", "-recip", str(me / "encrypt.pem"), "-inkey"]
        decrypt += [str(me / "encrypt.key.pem")]
        # The message reference sent: the same bytes for both readers.
        steps.append(run("openssl cms -decrypt", decrypt, message, work / "o-signed"))
        verify = [*cms, "-verify", "-CAfile", str(export / "ca" / "root.pem")]
        verify += ["-purpose", "any"]
        steps.append(run("openssl cms -verify ", verify, work / "o-signed", work / "o-content"))
        for step in steps[2:]:
            out(_describe(step, size))
        ours = steps[0].seconds + steps[1].seconds
        theirs = sum(s.seconds for s in steps[2:])
        peak_ours = max(s.peak_bytes for s in steps[:2]) / size
        peak_theirs = max(s.peak_bytes for s in steps[2:]) / size
        out(
            f"round trip: reference {ours:.1f} s, openssl cms {theirs:.1f} s "
            f"({ours / theirs:.2f}x); peak reference {peak_ours:.2f}x, "
            f"openssl {peak_theirs:.2f}x the attachment"
        )
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.bench_large",
        description="A large attachment through reference and openssl cms: memory, speed.",
    )
    parser.add_argument("--size", type=byte_size, default=200 * 1000 * 1000,
                        help="attachment size (default 200M)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        check_large_attachment(args.size, ["sign-encrypt"], "--size")
        check_temporary_room(
            DISK_FACTOR * args.size,
            f"--size {args.size}: the bench keeps up to {DISK_FACTOR} times the attachment "
            "(the entity, both messages, what was read back)",
        )
        with sigterm_unwinds():
            steps = bench(args.size)
    except UserError as exc:
        print(f"bench_large: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("bench_large: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("bench_large: interrupted", file=sys.stderr)
        return 130
    return 0 if all(s.code == 0 for s in steps) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
