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

from conformance.agents import mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest, SendRequest
from conformance.agents.tool_agent import (
    PartyFiles,
    SendFailure,
    StepResult,
    ToolAgent,
    pem,
    summary,
)
from conformance.agents.tools import ToolRun, require, run, version_of
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
                f"`make -C harnesses/bouncycastle` (Debian packages {PACKAGES})"
            )
        self.exe = str(PROGRAM)
        self._written: dict[tuple[str, bytes], Path] = {}

    def _default_options(self) -> SendOptions:
        return SendOptions()

    @property
    def opts(self) -> SendOptions:
        assert self.options is not None
        return self.options

    def version(self) -> str:
        return version_of(self.exe, "version")

    def _run(self, args: list[str | Path], ev: Evidence) -> ToolRun:
        return run([self.exe, *args], evidence=ev, timeout=self.timeout)

    def _file_of(self, data: bytes, name: str) -> Path:
        """A file holding `data`, written once per content (trust, chain, recipients)."""
        path = self._written.get((name, data))
        if path is None or not path.exists():
            path = self.tmp(name)
            path.write_bytes(data)
            if len(self._written) > 64:
                self._written.clear()
            self._written[(name, data)] = path
        return path

    # -- send -------------------------------------------------------------------------

    def _finish(self, entity: bytes, request: SendRequest, ev: Evidence) -> bytes:
        # bcmail writes MIME-Version and the S/MIME entity; the client adds the rest.
        headers = self._headers(request).replace(b"MIME-Version: 1.0\r\n", b"")
        if not entity.startswith(b"MIME-Version"):
            headers += b"MIME-Version: 1.0\r\n"
        return headers + entity

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
            "--cert",
            files.cert("sign"),
            "--key",
            files.key("sign"),
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
        files = PartyFiles(request.recipient.identity_dir)
        src, out = self.tmp("in.eml"), self.tmp("decrypted")
        src.write_bytes(entity)
        result = self._run(
            [
                "decrypt",
                "--cert",
                files.cert("encrypt"),
                "--key",
                files.key("encrypt"),
                "--in",
                src,
                "--out",
                out,
            ],
            ev,
        )
        if result.ok:
            return StepResult(out.read_bytes())
        code = _RECEIVE_CODES.get(result.returncode, ErrorCode.INTERNAL)
        return StepResult(None, [(code, _words(result))])

    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        src, out, signer = self.tmp("in.eml"), self.tmp("verified"), self.tmp("signer.pem")
        src.write_bytes(entity)
        args: list[str | Path] = ["verify", "--in", src, "--out", out, "--signer", signer]
        for path in request.trust:
            args += ["--trust", path]
        for path in request.crls:
            args += ["--crl", path]
        result = self._run(args, ev)
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

    def _signer(self, path: Path, layer: mime_wrap.Layer) -> x509.Certificate | None:
        if path.exists() and path.stat().st_size:
            return x509.load_pem_x509_certificates(path.read_bytes())[0]
        return self.signer_from_cms(layer.cms)
