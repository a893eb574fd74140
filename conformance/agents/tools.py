"""Running a real tool: located, bounded in time, and everything it printed kept.

The real-engine agents (openssl, NSS, gpgsm) run command-line tools. Each run
goes through `run`, which applies a timeout (a hung tool is a harness error,
never a verdict), and appends the command line, exit code, duration, stdout
and stderr to the agent's Evidence so the report shows what the tool said.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.agents.base import Evidence
from conformance.errors import MissingComponent

DEFAULT_TIMEOUT = 60.0
# Evidence keeps at most this much of each stream per command, so that a
# decrypted attachment printed to stdout does not bloat results.json.
EVIDENCE_LIMIT = 16 * 1024


class ToolTimeout(Exception):
    """The tool did not finish in time; the agent reports an INTERNAL error."""


@dataclass
class ToolRun:
    command: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def text(self) -> str:
        """stderr then stdout, decoded leniently: what error-message parsing reads."""
        return (self.stderr + b"\n" + self.stdout).decode("utf-8", "replace")


def require(tool: str, package: str) -> str:
    """The tool's full path, or MissingComponent naming the Debian package to install."""
    path = shutil.which(tool)
    if path is None:
        raise MissingComponent(
            f"{tool} is not installed: install the Debian package {package} "
            f"(apt-get install {package})"
        )
    return path


def _clip(data: bytes) -> bytes:
    if len(data) <= EVIDENCE_LIMIT:
        return data
    return data[:EVIDENCE_LIMIT] + b"\n[... %d more bytes]\n" % (len(data) - EVIDENCE_LIMIT)


def record(evidence: Evidence, run: ToolRun) -> None:
    """Append one run to the evidence: the last command, all streams, one note per run."""
    line = shlex.join(run.command)
    evidence.command = list(run.command)
    evidence.notes.append(f"$ {line}  -> exit {run.returncode} in {run.seconds:.3f}s")
    header = f"# {line}\n".encode()
    if run.stdout:
        evidence.stdout += header + _clip(run.stdout) + b"\n"
    if run.stderr:
        evidence.stderr += header + _clip(run.stderr) + b"\n"


def run(
    command: Sequence[str | Path],
    *,
    evidence: Evidence | None = None,
    input: bytes = b"",
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ToolRun:
    """Run `command`; never raises on a non-zero exit, raises ToolTimeout on a hang."""
    argv = [str(c) for c in command]
    full_env = dict(os.environ)
    full_env["LC_ALL"] = "C"  # error strings in English, which the agents parse
    if env:
        full_env.update(env)
    start = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            timeout=timeout,
            env=full_env,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        result = ToolRun(argv, -1, exc.stdout or b"", exc.stderr or b"", time.monotonic() - start)
        if evidence is not None:
            record(evidence, result)
        raise ToolTimeout(f"{shlex.join(argv)} did not finish within {timeout:.0f}s") from exc
    except OSError as exc:
        raise MissingComponent(f"cannot run {argv[0]}: {exc}") from exc
    result = ToolRun(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
    if evidence is not None:
        record(evidence, result)
    return result


@functools.cache
def version_of(*command: str) -> str:
    """The first non-empty line a version command prints (cached per process)."""
    result = run(command, timeout=15)
    for line in (result.stdout + b"\n" + result.stderr).decode("utf-8", "replace").splitlines():
        if line.strip():
            return line.strip()
    return "unknown"
