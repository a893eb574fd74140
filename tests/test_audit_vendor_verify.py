"""vectors verify and export: bad input is a message, never a traceback or a wrong count.

A path that is absolute or climbs out of DIR made the evidence copy land outside
OUT (or crash on copying a file onto itself); a message listed twice counted as two
examples of the product's cell. Both are refused before anything is read. An export
--out where nothing can be written was a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from agents_support import software_keys

from conformance.agents import identity_files as files
from conformance.cli import main
from conformance.errors import UserError
from conformance.vectors.common import shipped_cast
from conformance.vectors.verify import verify_messages

# Keys in software for this module's tests and fixtures only.
pytestmark = pytest.mark.usefixtures("software_keys")
__all__ = ["software_keys"]

PRODUCT = "docteur-net-cps"
RECIPIENT = "pro10"


def _message(path: Path) -> None:
    email = files.identity_json(shipped_cast().export / "identities" / RECIPIENT)["email"]
    path.write_bytes(
        f"From: a@osm-test.example\r\nTo: {email}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain\r\n\r\nBonjour\r\n".encode()
    )


def _manifest(directory: Path, entries: list[dict[str, str]]) -> None:
    (directory / "manifest.json").write_text(json.dumps({"messages": entries}))


def test_a_path_outside_dir_is_refused(tmp_path: Path) -> None:
    product = tmp_path / "product"
    product.mkdir()
    _message(tmp_path / "elsewhere.eml")
    _message(product / "sign.eml")
    _manifest(
        product,
        [
            {"file": "../elsewhere.eml", "recipient": RECIPIENT, "function": "sign"},
            {"file": str(tmp_path / "elsewhere.eml"), "recipient": RECIPIENT, "function": "sign"},
            {
                "file": "sign.eml",
                "recipient": RECIPIENT,
                "function": "sign",
                "plaintext": "sub/../../elsewhere.eml",
            },
        ],
    )
    with pytest.raises(UserError) as caught:
        verify_messages(product, PRODUCT, receivers=["reference"])
    text = str(caught.value)
    assert "messages[0].file: '../elsewhere.eml' is not a path inside" in text
    assert f"messages[1].file: '{tmp_path / 'elsewhere.eml'}' is not a path inside" in text
    assert "messages[2].plaintext: 'sub/../../elsewhere.eml' is not a path inside" in text
    # and through the command line: exit 2, nothing written outside OUT
    out = tmp_path / "out"
    assert main(["vectors", "verify", str(product), "--as", PRODUCT, "--out", str(out)]) == 2
    assert not out.exists()


def test_the_same_message_twice_for_one_recipient_is_refused(tmp_path: Path) -> None:
    _message(tmp_path / "sign.eml")
    entry = {"file": "sign.eml", "recipient": RECIPIENT, "function": "sign"}
    _manifest(tmp_path, [entry, {**entry, "file": "./sign.eml"}])
    with pytest.raises(UserError, match=r"messages\[1\]: './sign.eml' to pro10 is already "):
        verify_messages(tmp_path, PRODUCT, receivers=["reference"])


def test_export_where_nothing_can_be_written_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vectors export --out` under a file: a message naming --out, not a traceback."""
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "export"
    argv = ["vectors", "export", "--for", "docteur-net-cps", "--out", str(out)]
    assert main([*argv, "--sender", "reference", "--function", "sign"]) == 2
    assert f"--out {out}: cannot write" in capsys.readouterr().err


def test_a_link_out_of_dir_a_device_or_a_folder_is_refused_unread(tmp_path: Path) -> None:
    """A manifest's file that is a symbolic link leaving DIR, a link to /dev/zero, a FIFO or
    a folder: refused naming what it is (it was read, its first line quoted, or said not
    to exist)."""
    product = tmp_path / "product"
    product.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the report\n")
    (product / "away.eml").symlink_to(secret)
    (product / "zero.eml").symlink_to("/dev/zero")
    os.mkfifo(product / "fifo.eml")
    (product / "folder.eml").mkdir()
    _message(product / "sign.eml")
    (product / "inside.eml").symlink_to(product / "sign.eml")  # inside DIR: followed
    names = ["away.eml", "zero.eml", "fifo.eml", "folder.eml", "inside.eml"]
    _manifest(product, [{"file": n, "recipient": RECIPIENT, "function": "sign"} for n in names])
    with pytest.raises(UserError) as caught:
        verify_messages(product, PRODUCT, receivers=["reference"])
    text = str(caught.value)
    assert f"messages[0].file: 'away.eml' is a link to {secret}, outside {product}" in text
    assert "messages[1].file: 'zero.eml' is a link to /dev/zero, outside" in text
    assert "messages[2].file: 'fifo.eml' is a device, a FIFO or the like" in text
    assert "messages[3].file: 'folder.eml' is a directory, not a regular file" in text
    assert "messages[4]" not in text
    assert "not for the report" not in text
