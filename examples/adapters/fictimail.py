#!/usr/bin/env python3
"""Example adapter for a FICTITIOUS product, "FictiMail", driving `openssl cms`.

It implements the agent command line of osm-conformance (docs/agent-cli.md)
with nothing but the Python standard library and the openssl tool, to show a
vendor what an adapter has to do: translate `send` and `receive` into its
product's own commands, and its product's output into the status JSON and
the exit codes. Use it as a template: replace the `openssl` calls by calls
to your product.

    fictimail.py send --function sign-encrypt --from ID_DIR --to CERT < entity > message
    fictimail.py send ... --to-address MAIL --directory ldap://HOST:PORT/BASE  # exits 18
    fictimail.py receive --identity ID_DIR --trust CA --status-out s.json < message > content
    fictimail.py capabilities      # the functions, and the protocol it also speaks
    fictimail.py serve             # the harness protocol: many verbs, one process

`serve` (contract version 3, docs/agent-cli.md "The harness protocol") runs
the same `main` for each request with the request's argv, stdin and working
directory, and sends back what it printed and its exit code: the suite then
starts one FictiMail per worker instead of one per message. Version 4 added
the error code `too-large` (FictiMail has no size limit, so it never gives it)
and a first contact, a recipient known by address only, looked up in the CPS
directory: FictiMail does no lookup, so a send to `--to-address` exits 18
(no-recipient-certificate), as the contract asks of a product without one, and
the function `first-contact` exits 15 (unsupported-function): `capabilities`
does not list it.
"""

from __future__ import annotations

import argparse
import base64
import email.header
import email.parser
import email.utils
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# The contract's exit codes, in its order of precedence (docs/agent-cli.md).
EXIT = {
    "internal": 70,
    "malformed": 16,
    "too-large": 17,
    "unsupported-function": 15,
    "no-recipient-certificate": 18,
    "unsupported-format": 14,
    "cannot-decrypt": 13,
    "unsupported-algorithm": 14,
    "not-encrypted": 13,
    "bad-signature": 11,
    "revoked-signer": 12,
    "untrusted-signer": 12,
    "signer-mismatch": 12,
    "no-signature": 10,
}
PRECEDENCE = list(EXIT)
FUNCTIONS = ("sign", "encrypt", "sign-encrypt", "hprim-net", "attachments")
# The contract's functions FictiMail does not do: known (not a usage error), refused.
NOT_DONE = ("first-contact",)
CONTRACT_VERSION = 4  # the version of docs/agent-cli.md this adapter implements
PROTOCOL = "osm-harness/1"


def openssl(*args: str, data: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["openssl", *args],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )


def identity(directory: str) -> dict[str, str]:
    fields: dict[str, str] = json.loads(
        (Path(directory) / "identity.json").read_text(encoding="utf-8")
    )
    return fields


def send(args: argparse.Namespace) -> int:
    if args.function in NOT_DONE:
        print(f"fictimail: FictiMail does not do {args.function}", file=sys.stderr)
        return EXIT["unsupported-function"]
    if args.to_address:  # a first contact: the product would look the address up
        where = f"{args.to_address[0]} up in {args.directory}"
        print(f"fictimail: FictiMail does not look {where}", file=sys.stderr)
        return EXIT["no-recipient-certificate"]
    me = Path(args.sender)
    entity = sys.stdin.buffer.read()
    signs = args.function != "encrypt"
    encrypts = args.function != "sign"
    if signs:
        run = openssl(
            "cms",
            "-sign",
            "-signer",
            str(me / "sign.pem"),
            "-inkey",
            str(me / "sign.key.pem"),
            "-certfile",
            str(me / "chain.pem"),
            "-md",
            "sha256",
            "-crlfeol",
            data=entity,
        )
        if run.returncode:
            sys.stderr.write(run.stderr.decode(errors="replace"))
            return EXIT["internal"]
        entity = crlf_after(run.stdout.split(b"\r\n", 1)[1], b"application/pkcs7-signature")
    if encrypts:
        run = openssl(
            "cms",
            "-encrypt",
            "-aes-256-cbc",
            "-crlfeol",
            *args.to,
            str(me / "encrypt.pem"),
            data=entity,
        )
        if run.returncode:
            sys.stderr.write(run.stderr.decode(errors="replace"))
            return EXIT["internal"]
        entity = crlf_after(run.stdout.split(b"\r\n", 1)[1], b"\r\n\r\n")
    sender = identity(args.sender)
    recipients = [email_of(Path(t)) for t in args.to]
    headers = [
        f"From: {sender['email']}",
        f"To: {', '.join(r for r in recipients if r)}",
        f"Date: {args.date or email.utils.formatdate(localtime=True)}",
        f"Message-ID: {args.message_id or email.utils.make_msgid(domain='fictimail.example')}",
        f"Subject: {email.header.Header(args.subject, 'utf-8').encode()}",  # RFC 2047
        "MIME-Version: 1.0",
    ]
    sys.stdout.buffer.write("\r\n".join(headers).encode("utf-8") + b"\r\n" + entity)
    return 0


def crlf_after(data: bytes, marker: bytes) -> bytes:
    """openssl writes its base64 with bare LF even with -crlfeol: CRLF from `marker` on
    (the signature part, or the body of an encrypted entity; the signed part is kept)."""
    at = data.lower().find(marker)
    if at < 0:
        return data
    return data[:at] + re.sub(rb"(?<!\r)\n", b"\r\n", data[at:])


def author(message: bytes) -> str | None:
    """The one author of the message (From:, or Sender: naming one of several), else None."""
    head = email.parser.BytesHeaderParser().parsebytes(message.split(b"\r\n\r\n", 1)[0])
    froms = head.get_all("From") or []
    boxes = [addr for _, addr in email.utils.getaddresses([str(f) for f in froms]) if addr]
    if len(froms) != 1 or not boxes:
        return None
    if len(boxes) == 1:
        return boxes[0].lower()
    senders = [a for _, a in email.utils.getaddresses(head.get_all("Sender") or []) if a]
    return (
        senders[0].lower()
        if len(senders) == 1 and senders[0].lower() in {b.lower() for b in boxes}
        else None
    )


def digests(signed: bytes) -> list[str]:
    """The digest algorithms of the signature (openssl's names, e.g. sha256)."""
    run = openssl("cms", "-cmsout", "-print", "-noout", data=signed)
    text = run.stdout.decode(errors="replace")
    return re.findall(r"digestAlgorithm:\s*\n\s*algorithm: (\S+)", text)


def email_of(cert: Path) -> str:
    run = openssl("x509", "-in", str(cert), "-noout", "-ext", "subjectAltName")
    for word in run.stdout.decode(errors="replace").replace(",", " ").split():
        if word.startswith("email:"):
            return word[len("email:") :]
    return ""


def receive(args: argparse.Namespace) -> int:
    me = Path(args.identity)
    message = sys.stdin.buffer.read()
    status: dict[str, object] = {
        "decrypted": False,
        "encrypted": False,
        "signed": False,
        "signature_valid": None,
        "chain_valid": None,
        "signer": None,
        "layers": [],
        "errors": [],
        "algorithms": {
            "digest": [],
            "signature": [],
            "content_encryption": [],
            "key_transport": [],
        },
        "services": {
            "authentication": False,
            "integrity": False,
            "non_repudiation": False,
            "confidentiality": False,
        },
    }
    errors: list[dict[str, str]] = status["errors"]  # type: ignore[assignment]
    services: dict[str, bool] = status["services"]  # type: ignore[assignment]
    layers: list[str] = status["layers"]  # type: ignore[assignment]
    content = message
    head = message.split(b"\r\n\r\n", 1)[0].lower()
    if b"enveloped-data" in head:
        status["encrypted"] = True
        layers.append("enveloped-data")
        run = openssl(
            "cms",
            "-decrypt",
            "-recip",
            str(me / "encrypt.pem"),
            "-inkey",
            str(me / "encrypt.key.pem"),
            data=message,
        )
        if run.returncode:
            text = run.stderr.decode(errors="replace").strip()
            code = "unsupported-algorithm" if "unsupported" in text else "cannot-decrypt"
            errors.append({"code": code, "message": f"FictiMail (openssl): {text[-300:]}"})
            return finish(args, status, None)
        status["decrypted"] = services["confidentiality"] = True
        content = run.stdout
    head = content.split(b"\r\n\r\n", 1)[0].lower()
    if b"signed" in head and (b"pkcs7-signature" in head or b"signed-data" in head):
        status["signed"] = True
        layers.append("signed-data")
        with tempfile.TemporaryDirectory() as tmp:
            signer = Path(tmp) / "signer.pem"
            only_sig = openssl("cms", "-verify", "-noverify", "-signer", str(signer), data=content)
            status["signature_valid"] = only_sig.returncode == 0
            if only_sig.returncode:
                errors.append(
                    {
                        "code": "bad-signature",
                        "message": only_sig.stderr.decode(errors="replace").strip()[-300:],
                    }
                )
                return finish(args, status, None)
            weak = [d for d in digests(content) if d in ("md5", "md2", "md4")]
            if weak:  # a digest anyone can collide: FictiMail does not read it
                status["signature_valid"] = None
                why = f"FictiMail does not accept the {weak[0]} digest"
                errors.append({"code": "unsupported-algorithm", "message": why})
                return finish(args, status, None)
            # The trust anchors and the CRLs in one file: openssl reads both from -CAfile.
            anchors = Path(tmp) / "anchors.pem"
            anchors.write_bytes(
                b"".join(Path(f).read_bytes() + b"\n" for f in args.trust + args.crl)
            )
            revocation = ["-crl_check_all"] if args.crl else []
            full = openssl(
                "cms", "-verify", "-CAfile", str(anchors), *revocation, "-purpose", "smimesign",
                data=content,
            )  # fmt: skip
            status["chain_valid"] = full.returncode == 0
            if full.returncode:
                text = full.stderr.decode(errors="replace").strip()
                code = "revoked-signer" if "revoked" in text else "untrusted-signer"
                errors.append({"code": code, "message": text[-300:]})
            signer_email = email_of(signer).lower()
            written_by = author(message)
            if written_by is None or written_by != signer_email:
                said = "no single author" if written_by is None else f"From: {written_by}"
                errors.append(
                    {
                        "code": "signer-mismatch",
                        "message": f"{said}, but the signer is {signer_email or 'unnamed'}",
                    }
                )
            usage = openssl("x509", "-in", str(signer), "-noout", "-ext", "keyUsage").stdout
            status["signer"] = {
                "subject": openssl("x509", "-in", str(signer), "-noout", "-subject")
                .stdout.decode()
                .strip(),
                "email": email_of(signer) or None,
                "idnat": None,
                "non_repudiation": b"Non Repudiation" in usage,
            }
            services["integrity"] = True
            services["authentication"] = full.returncode == 0 and written_by == signer_email
            services["non_repudiation"] = services["authentication"] and b"Non Repudiation" in usage
            content = only_sig.stdout
    return finish(args, status, content)


def finish(args: argparse.Namespace, status: dict[str, object], content: bytes | None) -> int:
    services = status["services"]
    assert isinstance(services, dict)
    # Each service held covers the whole message (version 2 of the contract).
    status["coverage"] = {name: ["message"] if held else [] for name, held in services.items()}
    status["contract_version"] = CONTRACT_VERSION
    if args.status_out:
        Path(args.status_out).write_text(json.dumps(status, indent=2), encoding="utf-8")
    if content is not None:
        sys.stdout.buffer.write(content)
    errors = status["errors"]
    assert isinstance(errors, list)
    codes = sorted((e["code"] for e in errors), key=PRECEDENCE.index)
    return EXIT[codes[0]] if codes else 0


def capabilities() -> int:
    caps = {
        "contract_version": CONTRACT_VERSION,
        "send": list(FUNCTIONS),
        "receive": list(FUNCTIONS),
        "protocols": [PROTOCOL],
    }
    print(json.dumps(caps))
    return 0


def serve() -> int:
    """The harness protocol: a hello line, then one JSON reply line per JSON request line."""
    channel = sys.stdout.buffer  # the protocol's own; each request gets a stdout of its own

    def reply(message: dict[str, object]) -> None:
        channel.write(json.dumps(message).encode("utf-8") + b"\n")
        channel.flush()

    reply({"protocol": PROTOCOL, "implementation": "fictimail", "version": version_text()})
    for line in sys.stdin.buffer:
        request = None
        try:
            request = json.loads(line)
            rid = request["id"]
            argv = [str(a) for a in request["argv"]]
            data = base64.b64decode(request.get("stdin") or "", validate=True)
            cwd = request.get("cwd")
        except (ValueError, KeyError, TypeError) as exc:
            rid = request.get("id") if isinstance(request, dict) else None
            text = f"fictimail serve: bad request: {exc}".encode()
            reply({"id": rid, "exit": 2, "stderr": base64.b64encode(text).decode()})
            continue
        code, out, err = answer(argv, data, cwd)
        reply(
            {
                "id": rid,
                "exit": code,
                "stdout": base64.b64encode(out).decode(),
                "stderr": base64.b64encode(err).decode(),
            }
        )
    return 0


def answer(argv: list[str], data: bytes, cwd: str | None) -> tuple[int, bytes, bytes]:
    """Run `main(argv)` as one process would: its own stdin, stdout, stderr and directory.
    (The openssl calls capture their output, so nothing reaches the protocol's stdout.)"""
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdin, sys.stdout, sys.stderr, os.getcwd()
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    try:
        if cwd:
            os.chdir(cwd)
        code = main(argv) if argv[:1] != ["serve"] else 2
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:  # as main does for its verbs: an internal error, not a verdict
        print(f"fictimail: internal error: {exc}", file=sys.stderr)
        code = EXIT["internal"]
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout.detach()
        sys.stderr.detach()
        sys.stdin, sys.stdout, sys.stderr, directory = saved
        os.chdir(directory)
    return code, out.getvalue(), err.getvalue()


def version_text() -> str:
    return "FictiMail 1.0 (example adapter over " + openssl("version").stdout.decode().strip() + ")"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    s = verbs.add_parser("send")
    s.add_argument("--function", required=True, choices=FUNCTIONS + NOT_DONE)
    s.add_argument("--from", dest="sender", required=True)
    recipients = s.add_mutually_exclusive_group()
    recipients.add_argument("--to", action="append", default=[])
    recipients.add_argument("--to-address", action="append", default=[])
    s.add_argument("--directory")
    s.add_argument("--subject", default="")
    s.add_argument("--date")
    s.add_argument("--message-id")
    s.add_argument("--recipient-in")
    r = verbs.add_parser("receive")
    r.add_argument("--identity", required=True)
    r.add_argument("--trust", action="append", default=[])
    r.add_argument("--crl", action="append", default=[])
    r.add_argument("--status-out")
    verbs.add_parser("version")
    verbs.add_parser("capabilities")
    verbs.add_parser("serve")
    args = parser.parse_args(argv)
    if args.verb == "send" and args.to_address and not args.directory:
        s.error("--to-address needs --directory ldap://HOST:PORT/BASE")
    if args.verb == "version":
        print(version_text())
        return 0
    if args.verb == "capabilities":
        return capabilities()
    if args.verb == "serve":
        return serve()
    try:
        return send(args) if args.verb == "send" else receive(args)
    except Exception as exc:  # an adapter bug must read as an internal error, not a verdict
        print(f"fictimail: internal error: {exc}", file=sys.stderr)
        return EXIT["internal"]


if __name__ == "__main__":
    sys.exit(main())
