"""`agent PROFILE send` takes a MIME entity on stdin (docs/agent-cli.md): the suite's own
senders refuse anything else as `malformed` (exit 16), where they used to secure it as a
headerless body, exit 0, for `check` to find HDR-010 in a message the send said was done.
An adapter (engine `command`) judges its own input: its stdin is passed on untouched."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from agents_support import REPO, run_agent, software_keys

from conformance.matrix.cast import exported_pki
from conformance.pki.model import load_pki
from conformance.status import EXIT_CODES, ErrorCode

__all__ = ["software_keys"]

ENTITY = b"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n"
MALFORMED = EXIT_CODES[ErrorCode.MALFORMED]
NOT_ENTITIES = {
    "empty": (b"", "stdin is empty"),
    "text": (b"Bonjour\r\n", "stdin, line 1: the first line is not a header field"),
    "random bytes": (os.urandom(500).replace(b":", b"") + b"\r\n\r\n", "stdin, line 1"),
    "a header line that is no field": (
        b"Content-Type: text/plain\r\nBonjour\r\n\r\nx\r\n",
        "stdin, line 2: header line 2 is not a header field (no colon)",
    ),
    "a non-ASCII header": (b"Subject: \xc3\xa9t\xc3\xa9\r\n\r\nx\r\n", "stdin, line 1: byte"),
    "a header block past its bound": (
        b"X-Long: " + b"a" * (300 * 1024) + b"\r\n\r\nx\r\n",
        "stdin, line 1: header block not ended within its first 262144 bytes",
    ),
}


@pytest.fixture(scope="module")
def users() -> tuple[Path, Path]:
    ids = [i.id for i in load_pki().valid_identities()]
    export = exported_pki(load_pki())
    return export / "identities" / ids[0], export / "identities" / ids[1]


def _send(profile: str, users: tuple[Path, Path], stdin: bytes) -> tuple[int, bytes, str]:
    sender, recipient = users
    argv = ["send", "--function", "sign", "--from", str(sender), "--to", str(recipient)]
    ran = run_agent(profile, *argv, stdin=stdin)
    return ran.code, ran.stdout, ran.stderr


@pytest.mark.parametrize("case", sorted(NOT_ENTITIES))
def test_stdin_that_is_no_mime_entity_is_malformed(
    case: str, users: tuple[Path, Path], software_keys: None
) -> None:
    stdin, said = NOT_ENTITIES[case]
    code, stdout, stderr = _send("reference", users, stdin)
    assert (code, stdout) == (MALFORMED, b""), stderr
    assert f"osm-conformance agent: malformed: {said}" in stderr
    assert "expected a MIME entity: headers, empty line, body" in stderr


def test_header_fields_alone_are_an_entity(users: tuple[Path, Path], software_keys: None) -> None:
    """RFC 5322 2.1: a body is optional, and so is the empty line before it."""
    code, stdout, stderr = _send("reference", users, b"Content-Type: text/plain\r\n")
    assert code == 0 and stdout, stderr


def test_a_mime_entity_is_still_sent(users: tuple[Path, Path], software_keys: None) -> None:
    """Read first for its header, then given whole to the engine: the content intact."""
    large = ENTITY + b"x" * (300 * 1024) + b"\r\n"  # past the bytes read for the header
    code, stdout, stderr = _send("reference", users, large)
    assert code == 0, stderr
    assert b"x" * 1000 in stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_a_real_engine_refuses_it_too(users: tuple[Path, Path], software_keys: None) -> None:
    """Every engine the suite drives with its own send: the suite writes their MIME."""
    code, stdout, stderr = _send("openssl", users, b"Bonjour\r\n")
    assert (code, stdout) == (MALFORMED, b""), stderr
    code, stdout, stderr = _send("openssl", users, ENTITY)
    assert code == 0 and stdout, stderr


def test_an_adapter_gets_its_stdin_untouched(
    users: tuple[Path, Path], tmp_path: Path, software_keys: None
) -> None:
    """A vendor's adapter answers for its own input: the suite does not judge it first."""
    script = tmp_path / "echo.py"
    script.write_text("import sys\nsys.stdout.buffer.write(sys.stdin.buffer.read())\n")
    profile = (REPO / "examples" / "adapters" / "fictimail.yaml").read_text(encoding="utf-8")
    argv = "argv: [python3, examples/adapters/fictimail.py]"
    assert argv in profile
    yaml = tmp_path / "fictimail.yaml"
    yaml.write_text(profile.replace(argv, f"argv: [{sys.executable}, {script}]"), "utf-8")
    code, stdout, stderr = _send(str(yaml), users, b"Bonjour\r\n")
    assert (code, stdout) == (0, b"Bonjour\r\n"), stderr


@pytest.mark.parametrize("value", ["helene.lefevre", "Hélène <h@osm-test.example>", "a@b@c"])
def test_a_to_address_that_is_not_one_address_is_a_usage_error(
    value: str, users: tuple[Path, Path]
) -> None:
    """A typo in --to-address is the caller's (exit 2), not a recipient the directory lacks
    (exit 18, no-recipient-certificate, which it was)."""
    sender, _ = users
    argv = ["send", "--function", "encrypt", "--from", str(sender), "--to-address", value]
    ran = run_agent("reference", *argv, "--directory", "ldap://127.0.0.1:1/o=x", stdin=ENTITY)
    assert ran.code == 2, ran.stderr
    assert f"--to-address {value!r}: not one mail address" in ran.stderr
