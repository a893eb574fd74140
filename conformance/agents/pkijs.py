"""The `pkijs` engine: PKI.js on Node's WebCrypto, the CMS of JavaScript webmails.

Each step is one call of harnesses/pkijs/osm-pkijs.mjs (`node osm-pkijs.mjs sign|
encrypt|decrypt|verify ...`, answered by the same script in --serve mode where the
harness runs): SignedData.sign/verify, EnvelopedData.encrypt/decrypt and PKI.js's
CertificateChainValidationEngine with the request's anchors and CRLs. PKI.js does
CMS only, so the S/MIME MIME around it is the suite's (mime_wrap; the report says
"CMS by PKI.js"). What WebCrypto lacks (RSAES-PKCS1-v1_5 encryption, DES, RC2) is
not worked around: the step fails with PKI.js's own error in the reason. PKI.js and
asn1js come from the project's cache (`make -C harnesses/pkijs`, npm ci from the
committed lock file); without them the agent is missing, its cells skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509

from conformance.agents import harness_argv, mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest
from conformance.agents.tool_agent import (
    PartyFiles,
    SendFailure,
    StepResult,
    ToolAgent,
    pem,
    refused,
    summary,
    unsupported_or,
)
from conformance.agents.tools import ToolRun, require, run, version_of
from conformance.core.vocabulary import KeyTransport, Party
from conformance.errors import MissingComponent
from conformance.paths import HARNESS_DIR, cache_dir
from conformance.smime.options import SendOptions, SignedAttribute
from conformance.status import ErrorCode

SCRIPT = HARNESS_DIR / "pkijs" / "osm-pkijs.mjs"
# The order the harness writes the signed attributes in (a SET OF: PKI.js keeps it).
ATTRIBUTE_ORDER: tuple[SignedAttribute, ...] = (
    "content-type",
    "signing-time",
    "message-digest",
    "smime-capabilities",
    "signing-certificate-v2",
)
TRANSPORT_FLAGS: dict[KeyTransport, list[str]] = {
    "rsa-pkcs1v15": ["--pkcs1"],
    "rsa-oaep-sha1": ["--oaep", "sha1"],
    "rsa-oaep-sha256": ["--oaep", "sha256"],
}
# PKI.js's and WebCrypto's words for an algorithm they do not have.
_UNSUPPORTED = re.compile(
    r"NotSupportedError|Unrecognized algorithm|Unsupported algorithm|unsupported:|"
    r"Unsupported signature algorithm|Unsupported key",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^signature (\d+): (ok|failed: (.*))$")
_CHAIN = re.compile(r"^chain: (ok|not checked|failed: (.*))")


def modules_dir() -> Path:
    """Where `make -C harnesses/pkijs` installs PKI.js (the harness finds it the same way)."""
    return cache_dir() / "pkijs" / "node_modules"


def _stage(result: ToolRun) -> str:
    """The stage the harness names in its error line (`osm-pkijs VERB: STAGE: ...`)."""
    found = re.search(r"^osm-pkijs \w+: ([a-z ]+):", result.text(), re.MULTILINE)
    return found.group(1) if found else ""


def _unread(result: ToolRun, otherwise: ErrorCode) -> tuple[ErrorCode, str]:
    """Why PKI.js read nothing of a CMS, and the reason: the harness's own failure (any exit
    but 1, PKI.js's refusal: 2 a usage error, 3 an exception it did not expect, else node
    died), over PKI.js's size limits (stage `too large`: asn1js's content-length or
    element-count limit), an algorithm it lacks, or `otherwise`."""
    if result.returncode != 1:
        where = f"{SCRIPT.name} (the suite's harness, not PKI.js) exit {result.returncode}"
        return ErrorCode.INTERNAL, f"{where}: {summary(result)}"
    stage = _stage(result)
    if stage == "too large":
        code = ErrorCode.TOO_LARGE
    elif stage == "unsupported":
        code = ErrorCode.UNSUPPORTED_ALGORITHM
    else:  # a CMS it could not parse is malformed, whatever the step
        parse = ErrorCode.MALFORMED if stage == "parse" else otherwise
        code = unsupported_or(result.text(), _UNSUPPORTED, parse)
    return code, f"PKI.js: {summary(result)}"


class PkijsAgent(ToolAgent):
    """PKI.js through its harness script; options choose its arguments."""

    id = "pkijs"
    package = "nodejs"

    def _setup(self) -> None:
        self.node = require("node", self.package)
        if not SCRIPT.is_file():
            raise MissingComponent(f"the PKI.js harness {SCRIPT} is missing")
        if not (modules_dir() / "pkijs" / "package.json").is_file():
            raise MissingComponent(
                f"PKI.js is not installed in {modules_dir()}: run make -C {SCRIPT.parent} "
                "(npm ci from the committed package-lock.json; "
                "it needs the npm registry once)"
            )

    def _default_options(self) -> SendOptions:
        return SendOptions()

    def version(self) -> str:
        return version_of(self.node, str(SCRIPT), "version")

    def _run(self, args: list[str | Path], ev: Evidence, stdin: bytes = b"") -> ToolRun:
        return run([self.node, SCRIPT, *args], evidence=ev, input=stdin, timeout=self.timeout)

    # -- send -------------------------------------------------------------------------

    def _sign(self, content: bytes, sender: Party, ev: Evidence) -> bytes:
        files = PartyFiles(sender.identity_dir)
        so = self.opts.sign
        detached = so.format == "multipart-signed"
        data = mime_wrap.canonical(content) if so.canonicalize else content
        src, out = self.tmp("content"), self.tmp("signed.p7s")
        src.write_bytes(data)
        attrs = ",".join(a for a in ATTRIBUTE_ORDER if a in so.signed_attributes)
        args: list[str | Path] = [
            "sign",
            *harness_argv.identity(sender, "sign"),
            "--in",
            src,
            "--out",
            out,
            "--digest",
            so.digest,
            "--attrs",
            attrs,
        ]
        if detached:
            args.append("--detached")
        if so.algorithm == "rsa-pss":
            args.append("--pss")
        if so.signer_identifier == "ski":
            args.append("--keyid")
        if so.certificates == "none":
            args.append("--nocerts")
        elif so.certificates == "chain" and files.chain():
            chain = self.tmp("chain.pem")
            chain.write_bytes(b"".join(pem(c) for c in files.chain()))
            args += ["--certfile", chain]
        result = self._run(args, ev)
        if not result.ok:
            raise refused(result, "PKI.js SignedData.sign", _UNSUPPORTED)
        return self._wrap_signed(data, out.read_bytes(), detached=detached, digest=so.digest)

    def _encrypt(
        self, entity: bytes, recipients: list[x509.Certificate], sender: Party, ev: Evidence
    ) -> bytes:
        eo = self.opts.encrypt
        if eo.recipient_identifier == "ski":
            raise SendFailure(
                ErrorCode.UNSUPPORTED_ALGORITHM,
                "PKI.js EnvelopedData.addRecipientByCertificate names a recipient by issuer "
                "and serial only (no subjectKeyIdentifier choice)",
            )
        src, out = self.tmp("inner.eml"), self.tmp("enveloped.p7m")
        src.write_bytes(entity)
        args: list[str | Path] = ["encrypt", "--in", src, "--out", out, "--cipher", eo.content]
        args += TRANSPORT_FLAGS[eo.key_transport]
        for cert in recipients:
            path = self.tmp("recipient.pem")
            path.write_bytes(pem(cert))
            args += ["--recip", path]
        result = self._run(args, ev)
        if not result.ok:
            what = f"PKI.js EnvelopedData.encrypt ({eo.content}, {eo.key_transport})"
            raise refused(result, what, _UNSUPPORTED)
        return self._wrap_enveloped(out.read_bytes())

    # -- receive ----------------------------------------------------------------------

    def _decrypt(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        src, out = self.cms_files(layer.cms)
        identity = harness_argv.identity(request.recipient, "encrypt")
        result = self._run(["decrypt", "--in", src, "--out", out, *identity], ev)
        if result.ok:
            return StepResult(out.read_bytes())
        return StepResult(None, [_unread(result, ErrorCode.CANNOT_DECRYPT)])

    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        assert layer.cms is not None
        args, out, signer_file = harness_argv.verify(
            self.tmp, layer.cms, "in.p7s", layer.signed_content
        )
        result = self._run([*args, *harness_argv.anchors_and_crls(request)], ev)
        signer = self._signer(signer_file, layer)
        lines = result.stdout.decode("utf-8", "replace").splitlines()
        signatures = [m for m in map(_SIGNATURE.match, lines) if m]
        chain = next((m for m in map(_CHAIN.match, lines) if m), None)
        if not signatures:  # the harness stopped before verifying: PKI.js could not read it
            return StepResult(None, [_unread(result, ErrorCode.MALFORMED)], None, None, signer)
        errors: list[tuple[ErrorCode, str]] = []
        signature_valid: bool | None = True
        for match in signatures:
            if match.group(2) == "ok":
                continue
            reason = match.group(3)
            text = f"PKI.js SignedData.verify: {reason}"
            if re.search(r"\(code [23]\)", reason):  # no certificates / signer not found
                signature_valid = None
                errors.append((ErrorCode.UNTRUSTED_SIGNER, text))
            elif _UNSUPPORTED.search(reason) or "(code 7)" in reason:
                signature_valid = None
                errors.append((ErrorCode.UNSUPPORTED_ALGORITHM, text))
            else:
                signature_valid = False
                errors.append((ErrorCode.BAD_SIGNATURE, text))
        chain_valid: bool | None = None
        if chain is not None and chain.group(1) == "ok":
            chain_valid = True
        elif chain is not None and chain.group(1) == "not checked":
            ev.notes.append("PKI.js: no trust anchor given, the chain was not checked")
        elif chain is not None:
            chain_valid = False
            reason = chain.group(2)
            code = (
                ErrorCode.REVOKED_SIGNER
                if re.search(r"revoked", reason, re.I)
                else ErrorCode.UNTRUSTED_SIGNER
            )
            errors.append((code, f"PKI.js CertificateChainValidationEngine: {reason}"))
        recovered: bytes | None = None
        if signature_valid:
            if layer.signed_content is not None:
                recovered = layer.signed_content
            elif out.exists():
                recovered = out.read_bytes()
        return StepResult(recovered, errors, signature_valid, chain_valid, signer)
