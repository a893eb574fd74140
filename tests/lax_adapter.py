#!/usr/bin/env python3
"""A deliberately lax command adapter for the rejection tests: it verifies nothing.

`receive` decrypts what it can, unwraps a signature with
`openssl cms -verify -noverify -nosigs` (no chain, no signature check) and
reports every service held, like the vendor adapter issue 14 describes. Only
what openssl itself cannot parse or decrypt is an error. `send` is not done.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

FUNCTIONS = ("sign", "encrypt", "sign-encrypt", "hprim-net", "attachments")


def openssl(*args: str, data: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(["openssl", *args], input=data, capture_output=True, env=env, check=False)


def receive(args: argparse.Namespace) -> int:
    me = Path(args.identity)
    content = sys.stdin.buffer.read()
    layers: list[str] = []
    errors: list[dict[str, str]] = []
    if b"enveloped-data" in content.split(b"\r\n\r\n", 1)[0].lower():
        layers.append("enveloped-data")
        run = openssl(
            "cms", "-decrypt", "-recip", str(me / "encrypt.pem"),
            "-inkey", str(me / "encrypt.key.pem"), data=content,
        )  # fmt: skip
        if run.returncode:
            text = run.stderr.decode(errors="replace").strip()[-300:]
            errors.append({"code": "cannot-decrypt", "message": f"lax (openssl): {text}"})
        content = run.stdout
    head = content.split(b"\r\n\r\n", 1)[0].lower()
    if not errors and (b"pkcs7-signature" in head or b"signed-data" in head):
        layers.append("signed-data")
        run = openssl("cms", "-verify", "-noverify", "-nosigs", data=content)
        if run.returncode:
            text = run.stderr.decode(errors="replace").strip()[-300:]
            errors.append({"code": "malformed", "message": f"lax (openssl): {text}"})
        content = run.stdout
    held = not errors
    status: dict[str, object] = {
        "decrypted": held and "enveloped-data" in layers,
        "encrypted": "enveloped-data" in layers,
        "signed": "signed-data" in layers,
        "signature_valid": held if "signed-data" in layers else None,
        "chain_valid": held if "signed-data" in layers else None,
        "signer": None,
        "layers": layers,
        "errors": errors,
        "algorithms": {
            "digest": [],
            "signature": [],
            "content_encryption": [],
            "key_transport": [],
        },
        "services": {
            "authentication": held,
            "integrity": held,
            "non_repudiation": held,
            "confidentiality": held,
        },
    }
    Path(args.status_out).write_text(json.dumps(status), encoding="utf-8")
    if held:
        sys.stdout.buffer.write(content)
        return 0
    return 13 if errors[0]["code"] == "cannot-decrypt" else 16


def main() -> int:
    parser = argparse.ArgumentParser()
    verbs = parser.add_subparsers(dest="verb", required=True)
    r = verbs.add_parser("receive")
    r.add_argument("--identity", required=True)
    r.add_argument("--trust", action="append", default=[])
    r.add_argument("--crl", action="append", default=[])
    r.add_argument("--status-out", required=True)
    s = verbs.add_parser("send")
    s.add_argument("rest", nargs="*")
    verbs.add_parser("version")
    args, _ = parser.parse_known_args()
    if args.verb == "version":
        print("lax adapter (verifies nothing)")
        return 0
    if args.verb == "send":
        print("lax adapter: send is not done", file=sys.stderr)
        return 15
    return receive(args)


if __name__ == "__main__":
    sys.exit(main())
