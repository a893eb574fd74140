"""The words the suite's own engine programs share in their argv.

The BouncyCastle, Go pkcs7 and PKI.js harness programs (harnesses/*/README.md)
name an identity `--cert C --key K`, check a signature with `verify --in F --out F
--signer F [--content F]` and take anchors and CRLs as `--trust F` and `--crl F`:
their agents build those words here, and keep what differs (the other verbs'
options, the order of the words) to themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from conformance.agents.base import ReceiveRequest
from conformance.agents.tool_agent import PartyFiles
from conformance.core.vocabulary import Party, Role


class Verify(NamedTuple):
    """A verify call: its argv, and the files the program writes the content and the
    signer's certificate to."""

    args: list[str | Path]
    out: Path
    signer: Path


def identity(party: Party, role: Role) -> list[str | Path]:
    """A party's certificate and key for one role (the PKI export's files)."""
    files = PartyFiles(party.identity_dir)
    return ["--cert", files.cert(role), "--key", files.key(role)]


def anchors_and_crls(request: ReceiveRequest) -> list[str | Path]:
    """The reception's trust anchors and CRLs, one file each."""
    args: list[str | Path] = []
    for path in request.trust:
        args += ["--trust", path]
    for path in request.crls:
        args += ["--crl", path]
    return args


def verify(
    tmp: Callable[[str], Path], signed: bytes, name: str, content: bytes | None = None
) -> Verify:
    """`verify` of `signed` (written to a fresh file `name`), with the detached `content`
    when there is one; `tmp` gives the agent's fresh file names."""
    src, out, signer = tmp(name), tmp("verified"), tmp("signer.pem")
    src.write_bytes(signed)
    args: list[str | Path] = ["verify", "--in", src, "--out", out, "--signer", signer]
    if content is not None:
        path = tmp("content")
        path.write_bytes(content)
        args += ["--content", path]
    return Verify(args, out, signer)
