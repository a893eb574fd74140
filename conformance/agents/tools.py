"""Running a real tool: located, bounded in time, and everything it printed kept.

The real-engine agents (openssl, NSS, gpgsm) run command-line tools. Each run
goes through `run`, which applies a timeout (a hung tool is a harness error,
never a verdict), and appends the command line, exit code, duration, stdout
and stderr to the agent's Evidence so the report shows what the tool said.

In the engine mode "harness" (the default where a harness is built), a call
whose tool has a long-lived harness (harnesses/*, protocol osm-harness/1) is
answered by that harness instead of a new process: the same argv, the same
files, the same exit code and messages, without the start-up. A harness that
declines an argv (exit 2 and `DECLINED`) leaves the call to the command line,
and the evidence says which of the two ran it. Mode "cli" (`run --engine-mode
cli`, or OSM_ENGINE_MODE=cli) runs every call as a plain command line, logged
so that an auditor can replay it with the tools themselves once its input files
(removed after the call) are rebuilt from the cell's evidence (docs/matrix.md,
`--engine-mode`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from conformance.agents.base import Evidence
from conformance.agents.harness import HarnessError, harness_for
from conformance.errors import MissingComponent, UserError
from conformance.loopback import kill_group
from conformance.paths import HARNESS_DIR

DEFAULT_TIMEOUT = 60.0
# Evidence keeps at most this much of each stream per command, so that a
# decrypted attachment printed to stdout does not bloat results.json.
EVIDENCE_LIMIT = 16 * 1024


EngineMode = Literal["harness", "cli"]
ENGINE_MODES: tuple[EngineMode, ...] = ("harness", "cli")
ENGINE_MODE_ENV = "OSM_ENGINE_MODE"
# What a harness prints, with exit 2, for an argv it does not implement.
DECLINED = b"osm-harness: not implemented here: "


class ToolTimeout(Exception):
    """The tool did not finish in time; the agent reports an INTERNAL error."""


class HarnessBroke(ToolTimeout):
    """The tool's harness crashed, hung or broke the protocol: handled as a hung tool
    (INTERNAL, an error cell); the next call starts a fresh harness."""


@dataclass
class ToolRun:
    command: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    # "cli": a process ran the command line; "harness": the tool's harness ran the same
    # argv; "cli (harness declined)": the harness does not implement it.
    mode: str = "cli"

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
    evidence.notes.append(f"$ {line}  -> exit {run.returncode} in {run.seconds:.3f}s [{run.mode}]")
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
    """Run `command`; never raises on a non-zero exit, raises ToolTimeout on a hang.

    In engine mode "harness", a command whose tool has a built harness goes to it.
    """
    argv = [str(c) for c in command]
    mode = "cli"
    harness = harness_command(argv) if engine_mode() == "harness" else None
    if harness is not None:
        result = _through_harness(harness, argv, input, timeout, env, cwd, evidence)
        if result is not None:
            return result
        mode = "cli (harness declined)"
    full_env = dict(os.environ)
    full_env["LC_ALL"] = "C"  # error strings in English, which the agents parse
    if env:
        full_env.update(env)
    start = time.monotonic()
    try:
        # A process group of its own, so that a timeout kills what the tool started too
        # (a shell's children, an adapter's helpers). Not a session: setsid doubles the
        # cost of a call, and a matrix makes thousands.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            process_group=0,
        )
    except OSError as exc:
        raise MissingComponent(f"cannot run {argv[0]}: {exc}") from exc
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        said = _kill_group(proc)
        result = ToolRun(argv, -1, *said, time.monotonic() - start)
        if evidence is not None:
            record(evidence, result)
        raise ToolTimeout(f"{shlex.join(argv)} did not finish within {timeout:.0f}s") from exc
    except BaseException:  # e.g. KeyboardInterrupt: no tool outlives its caller
        _kill_group(proc)
        raise
    result = ToolRun(argv, proc.returncode, stdout, stderr, time.monotonic() - start, mode)
    if evidence is not None:
        record(evidence, result)
    return result


def _kill_group(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """SIGKILL the tool and what it started, reap it and close its pipes; what it wrote
    until then (its last words, for the evidence), unless something that left its group
    still holds the pipes open."""
    kill_group(proc)
    said = (b"", b"")
    with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
        said = proc.communicate(timeout=2)
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    return said


def engine_mode() -> EngineMode:
    """How real engines run in this process: OSM_ENGINE_MODE, "harness" by default."""
    value = os.environ.get(ENGINE_MODE_ENV) or "harness"
    for mode in ENGINE_MODES:
        if value == mode:
            return mode
    raise UserError(f"{ENGINE_MODE_ENV}={value!r}: the engine mode is harness or cli")


# tool name -> its harness under harnesses/: a program built by tools/setup.sh, or a
# Python script run by this interpreter (no build).
_HARNESSES = {
    "openssl": "openssl/osm-openssl-harness",
    "gpgsm": "gpgsm/harness.py",
    "cmsutil": "nss/osm-nss-harness",
    # Libraries with no command line of their own: the harness program is the command
    # line (one call per process) and, run with --serve, the harness.
    "osm-go-pkcs7-harness": "go-pkcs7/osm-go-pkcs7-harness",
    "osm-bc-harness": "bouncycastle/osm-bc-harness",
}
# Engines whose command line is a script of a runtime (`node SCRIPT VERB ...`): the same
# script run with --serve is the harness; the requests carry the argv the runtime would
# have received (the script first). runtime -> {harness name: script under harnesses/}.
_SCRIPT_HARNESSES = {
    "node": {"pkijs": "pkijs/osm-pkijs.mjs"},
}
# Harness programs that are their own command line: run with an argv they do one call
# and exit (mode "cli"), run with `--serve` they are the long-lived harness. A JVM
# engine (BouncyCastle) or a Go library has no other command line than its harness's.
_SELF_SERVED = frozenset({"osm-go-pkcs7-harness", "osm-bc-harness"})


@functools.cache
def _harness_program(tool: str) -> tuple[str, ...] | None:
    """The command starting `tool`'s harness, or None (not built: the command line runs)."""
    entry = _HARNESSES.get(tool)
    if entry is None:
        return None
    program = HARNESS_DIR / entry
    if program.suffix == ".py":
        return (sys.executable, str(program)) if program.is_file() else None
    return (str(program),) if os.access(program, os.X_OK) else None


def built_harnesses() -> list[str]:
    """The tools whose harness is built here (run settings: what "harness" mode used)."""
    built = [tool for tool in _HARNESSES if _harness_program(tool) is not None]
    for runtime, scripts in _SCRIPT_HARNESSES.items():
        if shutil.which(runtime) is not None:
            built += [name for name, script in scripts.items() if (HARNESS_DIR / script).is_file()]
    return sorted(built)


def _script_harness(tool: str | None, argv: Sequence[str]) -> list[str] | None:
    """`RUNTIME SCRIPT --serve` when argv runs one of the harness scripts of `tool`."""
    scripts = _SCRIPT_HARNESSES.get(tool or "")
    if not scripts or len(argv) < 2:
        return None
    script = os.path.realpath(argv[1])
    for entry in scripts.values():
        if os.path.realpath(HARNESS_DIR / entry) == script:
            return [argv[0], argv[1], "--serve"]
    return None


@functools.cache
def _system_tool(path: str) -> str | None:
    """The tool's name when `path` is the system's own (the one its harness mirrors)."""
    name = Path(path).name
    found = shutil.which(name)
    if found is None or os.path.realpath(found) != os.path.realpath(path):
        return None
    return name


def _self_served(path: str) -> list[str] | None:
    """`path --serve` when `path` is a built harness that is its own command line."""
    name = Path(path).name
    if name not in _SELF_SERVED:
        return None
    program = _harness_program(name)
    if program is None or os.path.realpath(program[0]) != os.path.realpath(path):
        return None
    return [*program, "--serve"]


def harness_command(argv: Sequence[str]) -> list[str] | None:
    """The harness that answers `argv`, or None when the command line must run it.

    Only the system's tool has a harness: a profile pointing at another build of
    the tool (`tool:`) is run as a command line, since the harness links the
    system's library."""
    if not argv:
        return None
    own = _self_served(argv[0])
    if own is not None:
        return own
    tool = _system_tool(argv[0])
    script = _script_harness(tool, argv)
    if script is not None:
        return script
    program = _harness_program(tool) if tool else None
    if program is None:
        return None
    if tool == "cmsutil" and "-d" in argv[:-1]:
        # One harness per NSS database, which it keeps open (its argument).
        return [*program, argv[argv.index("-d") + 1]]
    return list(program)


def _through_harness(
    harness: list[str],
    argv: list[str],
    input: bytes,
    timeout: float,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    evidence: Evidence | None,
) -> ToolRun | None:
    """The call answered by the harness, or None when the harness declines it."""
    start = time.monotonic()
    try:
        reply = harness_for(harness, env=env).call(
            argv[1:], stdin=input, cwd=str(cwd or os.getcwd()), timeout=timeout
        )
    except HarnessError as exc:
        result = ToolRun(argv, -1, b"", str(exc).encode(), time.monotonic() - start, "harness")
        if evidence is not None:
            record(evidence, result)
        raise HarnessBroke(f"{shlex.join(argv)}: {exc}") from exc
    if reply.exit == 2 and reply.stderr.startswith(DECLINED):
        return None
    result = ToolRun(argv, reply.exit, reply.stdout, reply.stderr, reply.seconds, "harness")
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
