"""The `bouncycastle` engine: BouncyCastle's bcmail and bcpkix (Java), the CMS of Java
practice software, driven through its harness harnesses/bouncycastle/.

The harness program is the engine's command line (`osm-bc-harness sign ...`, one JVM
per call, mode "cli") and, with `--serve`, its long-lived harness (mode "harness"):
the agent only builds argvs and reads exit codes. bcmail writes and reads the MIME
itself (SMIMESignedGenerator, SMIMEEnvelopedGenerator, SMIMESigned, SMIMEEnveloped);
the chain is BouncyCastle's PKIX CertPathBuilder with the request's anchors and CRLs.
The harness's exit codes (harnesses/bouncycastle/README.md) map onto status codes,
with BouncyCastle's exception text kept in the messages.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509

from conformance.agents import harness_argv, mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest, SendRequest
from conformance.agents.tool_agent import (
    PartyFiles,
    SendFailure,
    StepResult,
    ToolAgent,
    pem,
    summary,
)
from conformance.agents.tools import ToolRun, require, version_of
from conformance.core.vocabulary import Party
from conformance.errors import MissingComponent
from conformance.paths import HARNESS_DIR
from conformance.smime.options import SendOptions
from conformance.status import ErrorCode

PROGRAM = HARNESS_DIR / "bouncycastle" / "osm-bc-harness"
PACKAGES = "default-jdk-headless libbcprov-java libbcpkix-java libbcmail-java"

# The harness's exit codes (SmimeOps.java) -> what a receive step found.
MALFORMED, UNSUPPORTED, DECRYPT = 3, 4, 5
BAD_SIGNATURE, UNTRUSTED, REVOKED, NO_SIGNER_CERT = 6, 7, 8, 9
_RECEIVE_CODES = {
    MALFORMED: ErrorCode.MALFORMED,
    UNSUPPORTED: ErrorCode.UNSUPPORTED_ALGORITHM,
    DECRYPT: ErrorCode.CANNOT_DECRYPT,
    BAD_SIGNATURE: ErrorCode.BAD_SIGNATURE,
    UNTRUSTED: ErrorCode.UNTRUSTED_SIGNER,
    REVOKED: ErrorCode.REVOKED_SIGNER,
    NO_SIGNER_CERT: ErrorCode.UNTRUSTED_SIGNER,
}


def _words(result: ToolRun) -> str:
    return f"bouncycastle: {summary(result)}"


class BouncyCastleAgent(ToolAgent):
    """BouncyCastle 1.72 through osm-bc-harness; options choose its argv."""

    id = "bouncycastle"
    package = "libbcmail-java"

    def _setup(self) -> None:
        require("java", "default-jdk-headless")
        if not os.access(PROGRAM, os.X_OK):
            raise MissingComponent(
                f"the BouncyCastle harness is not built ({PROGRAM}): run "
                f"`make -C {PROGRAM.parent}` (Debian packages {PACKAGES})"
            )
        self.exe = str(PROGRAM)

    def _default_options(self) -> SendOptions:
        return SendOptions()

    def version(self) -> str:
        return version_of(self.exe, "version")

    # -- send -------------------------------------------------------------------------

    def _finish(self, entity: bytes, request: SendRequest, ev: Evidence) -> bytes:
        # bcmail writes MIME-Version and the S/MIME entity; the client adds the rest.
        return mime_wrap.above_tool_entity(self._headers(request), entity)

    def _check_options(self) -> None:
        problems = []
        if self._legacy:
            problems.append("bcmail writes application/pkcs7-* media types only")
        if not self.opts.sign.canonicalize:
            problems.append("bcmail always canonicalises the text it signs")
        if problems:
            raise SendFailure(ErrorCode.UNSUPPORTED_ALGORITHM, "; ".join(problems))

    def _send_failure(self, result: ToolRun, what: str) -> SendFailure:
        code = (
            ErrorCode.UNSUPPORTED_ALGORITHM
            if result.returncode == UNSUPPORTED
            else ErrorCode.INTERNAL
        )
        return SendFailure(code, f"bouncycastle {what} failed: {summary(result)}")

    def _sign(self, content: bytes, sender: Party, ev: Evidence) -> bytes:
        self._check_options()
        files = PartyFiles(sender.identity_dir)
        so = self.opts.sign
        src, out = self.tmp("content"), self.tmp("signed.eml")
        src.write_bytes(content)
        args: list[str | Path] = [
            "sign",
            *harness_argv.identity(sender, "sign"),
            "--digest",
            so.digest,
            "--certs",
            so.certificates,
            "--in",
            src,
            "--out",
            out,
        ]
        if so.certificates == "chain" and files.chain():
            chain = self._file_of(b"".join(pem(c) for c in files.chain()), "chain.pem")
            args += ["--chain", chain]
        if so.algorithm == "rsa-pss":
            args.append("--pss")
        if so.format == "opaque":
            args.append("--opaque")
        if not so.signed_attributes:
            args.append("--no-attrs")
        else:
            for attribute in sorted(so.signed_attributes):
                args += ["--attr", attribute]
        if so.signer_identifier == "ski":
            args.append("--ski")
        result = self._run(args, ev)
        if not result.ok:
            raise self._send_failure(result, "sign")
        return out.read_bytes()

    def _encrypt(
        self, entity: bytes, recipients: list[x509.Certificate], sender: Party, ev: Evidence
    ) -> bytes:
        self._check_options()
        eo = self.opts.encrypt
        src, out = self.tmp("inner.eml"), self.tmp("enveloped.eml")
        src.write_bytes(entity)
        args: list[str | Path] = [
            "encrypt",
            "--cipher",
            eo.content,
            "--key-transport",
            eo.key_transport,
            "--in",
            src,
            "--out",
            out,
        ]
        for cert in recipients:
            args += ["--recip", self._file_of(pem(cert), "recipient.pem")]
        if eo.recipient_identifier == "ski":
            args.append("--ski")
        result = self._run(args, ev)
        if not result.ok:
            raise self._send_failure(result, f"encrypt ({eo.content}, {eo.key_transport})")
        return out.read_bytes()

    # -- receive ----------------------------------------------------------------------

    def _decrypt(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        src, out = self.tmp("in.eml"), self.tmp("decrypted")
        src.write_bytes(entity)
        identity = harness_argv.identity(request.recipient, "encrypt")
        result = self._run(["decrypt", *identity, "--in", src, "--out", out], ev)
        if result.ok:
            return StepResult(out.read_bytes())
        code = _RECEIVE_CODES.get(result.returncode, ErrorCode.INTERNAL)
        return StepResult(None, [(code, _words(result))])

    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        args, out, signer = harness_argv.verify(self.tmp, entity, "in.eml")
        result = self._run([*args, *harness_argv.anchors_and_crls(request)], ev)
        code = result.returncode
        if code == 0:
            return StepResult(out.read_bytes(), [], True, True, self._signer(signer, layer))
        error = _RECEIVE_CODES.get(code, ErrorCode.INTERNAL)
        errors = [(error, _words(result))]
        if code in (UNTRUSTED, REVOKED):  # the signature is good, the path is not
            return StepResult(out.read_bytes(), errors, True, False, self._signer(signer, layer))
        if code == BAD_SIGNATURE:
            return StepResult(None, errors, False, None, self.signer_from_cms(layer.cms))
        if code == NO_SIGNER_CERT:
            return StepResult(None, errors, None, False)
        return StepResult(None, errors)
