"""The `gnutls` real engine: GnuTLS `certtool --p7-*`, signatures only.

certtool signs (`--p7-sign`, `--p7-detached-sign`) and verifies
(`--p7-verify`) PKCS #7 / CMS SignedData; it neither encrypts nor decrypts, so
those functions are `unsupported` (its profile sends and reads `sign` only).
It does CMS only: the suite writes the S/MIME MIME around it (`engine.mime:
suite`). It runs as command lines (one process per call, no harness: certtool
starts in a few milliseconds).

certtool answers a signature that does not verify and a signer that does not
chain to the anchors with the same words ("Public key signature verification
has failed"): the agent then asks it again with the signer's own certificate
as the only anchor (the signature alone), so each failure gets its code; for
a signer outside its dates (certtool checks an anchor's dates too) the
signature stays unknown.
The reception's CRLs are given to it (`--load-crl`), but certtool 3.7.9's
`--p7-verify` accepts a revoked signer all the same (its `--verify` of the
same chain refuses it): a finding the rejection matrix shows.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from conformance.agents import mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest
from conformance.agents.tool_agent import (
    PartyFiles,
    SendFailure,
    StepResult,
    ToolAgent,
    crl_pems,
    pem,
    refused,
    summary,
    trust_pems,
    unsupported_or,
)
from conformance.agents.tools import require, version_of
from conformance.core.vocabulary import Capabilities, Party
from conformance.smime.options import SendOptions, SignedAttribute, SignOptions
from conformance.status import ErrorCode

_HASHES = {"sha1": "SHA1", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}
# What gnutls_pkcs7_sign writes: content type and message digest, signing time on --p7-time.
ALWAYS_SIGNED: frozenset[SignedAttribute] = frozenset({"content-type", "message-digest"})
SIGNED_ATTRIBUTES: frozenset[SignedAttribute] = ALWAYS_SIGNED | {"signing-time"}
_AMBIGUOUS = re.compile(r"public key signature verification has failed", re.I)
_FAILED = re.compile(r"Signature status:\s*verification failed:\s*(.*)", re.I)
_MALFORMED = re.compile(r"import error|asn1|der|parsing error|base64", re.I)
_UNSUPPORTED = re.compile(
    r"unsupported|unknown|not supported|insufficient security|unimplemented or disabled", re.I
)


class GnutlsAgent(ToolAgent):
    """GnuTLS certtool as a signing and verifying engine."""

    id = "gnutls"
    package = "gnutls-bin"

    def _setup(self) -> None:
        self.exe = require("certtool", self.package)

    def _default_options(self) -> SendOptions:
        return SendOptions(sign=SignOptions(signed_attributes=SIGNED_ATTRIBUTES))

    def capabilities(self) -> Capabilities:
        return Capabilities(send=frozenset({"sign"}), receive=frozenset({"sign"}))

    def version(self) -> str:
        return version_of(self.exe, "--version")

    # -- send -------------------------------------------------------------------------

    def _sign(self, content: bytes, sender: Party, ev: Evidence) -> bytes:
        so = self.opts.sign
        attrs = frozenset(so.signed_attributes)
        problems: list[str] = []
        if so.algorithm != "rsa-pkcs1v15":
            problems.append(f"certtool --p7-sign signs with RSA PKCS#1 v1.5, not {so.algorithm}")
        if so.signer_identifier != "issuer-serial":
            problems.append("certtool --p7-sign names the signer by issuer and serial only")
        if not attrs >= ALWAYS_SIGNED or not attrs <= SIGNED_ATTRIBUTES:
            problems.append(
                "certtool --p7-sign signs content-type and message-digest (and signing-time "
                f"with --p7-time), not {', '.join(sorted(attrs)) or 'no attributes'}"
            )
        if problems:
            raise SendFailure(ErrorCode.UNSUPPORTED_ALGORITHM, "; ".join(problems))
        files = PartyFiles(sender.identity_dir)
        data = mime_wrap.canonical(content) if so.canonicalize else content
        src, out = self.tmp("content"), self.tmp("signed.p7s")
        src.write_bytes(data)
        detached = so.format == "multipart-signed"
        # The certificates certtool includes are those of --load-certificate.
        certs = [files.certificate("sign")]
        if so.certificates == "chain":
            certs += files.chain()
        args: list[str | Path] = [
            "--p7-detached-sign" if detached else "--p7-sign",
            "--outder",
            "--hash",
            _HASHES[so.digest],
            "--load-certificate",
            self._file_of(b"".join(pem(c) for c in certs), "signer-chain.pem"),
            "--load-privkey",
            files.key("sign"),
            "--infile",
            src,
            "--outfile",
            out,
        ]
        if "signing-time" in attrs:
            args.append("--p7-time")
        if so.certificates == "none":
            args.append("--no-p7-include-cert")
        result = self._run(args, ev)
        if not result.ok:
            raise refused(result, "certtool --p7-sign", _UNSUPPORTED)
        return self._wrap_signed(data, out.read_bytes(), detached=detached, digest=so.digest)

    def _encrypt(
        self, entity: bytes, recipients: list[x509.Certificate], sender: Party, ev: Evidence
    ) -> bytes:
        raise SendFailure(ErrorCode.UNSUPPORTED_ALGORITHM, "certtool has no CMS encryption")

    # -- receive ----------------------------------------------------------------------

    def _decrypt(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        reason = "certtool has no CMS decryption (it reads SignedData only)"
        return StepResult(None, [(ErrorCode.UNSUPPORTED_ALGORITHM, reason)])

    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        assert layer.cms is not None
        src, out = self.tmp("in.p7s"), self.tmp("verified")
        src.write_bytes(layer.cms)
        base: list[str | Path] = ["--p7-verify", "--inder", "--infile", src]
        if layer.signed_content is not None:
            content = self.tmp("content")
            content.write_bytes(layer.signed_content)
            base += ["--load-data", content]
        else:
            base += ["--p7-show-data", "--outfile", out]
        anchors = self._file_of(b"\n".join(trust_pems(request)), "trust.pem")
        full = [*base, "--load-ca-certificate", anchors]
        if request.crls:
            full += ["--load-crl", self._file_of(b"\n".join(crl_pems(request)), "crls.pem")]
        result = self._run(full, ev)
        signer = self.signer_from_cms(layer.cms)

        def recovered() -> bytes | None:
            if layer.signed_content is not None:
                return layer.signed_content
            return out.read_bytes() if out.exists() else None

        if result.ok:
            return StepResult(recovered(), [], True, True, signer)
        text = result.text()
        message = f"certtool --p7-verify: {summary(result)}"
        failed = _FAILED.search(text)
        if failed is None:
            code = ErrorCode.MALFORMED if _MALFORMED.search(text) else ErrorCode.INTERNAL
            code = unsupported_or(text, _UNSUPPORTED, code)
            return StepResult(None, [(code, message)], None, None, signer)
        if not _AMBIGUOUS.search(failed.group(1)):
            code = unsupported_or(failed.group(1), _UNSUPPORTED, ErrorCode.UNTRUSTED_SIGNER)
            return StepResult(None, [(code, message)], None, None, signer)
        if signer is None:
            return StepResult(None, [(ErrorCode.UNTRUSTED_SIGNER, message)], None, False, None)
        # The signature alone: the signer's certificate as the only anchor.
        alone = self._run(
            [*base, "--load-ca-certificate", self._file_of(pem(signer), "signer.pem")], ev
        )
        if not alone.ok:
            again = f"certtool --p7-verify (signer as anchor): {summary(alone)}"
            now = datetime.now(UTC)
            if not signer.not_valid_before_utc <= now <= signer.not_valid_after_utc:
                # certtool checks an anchor's dates too: the signature alone stays unknown.
                errors = [(ErrorCode.UNTRUSTED_SIGNER, message)]
                return StepResult(None, errors, None, False, signer)
            return StepResult(None, [(ErrorCode.BAD_SIGNATURE, again)], False, None, signer)
        return StepResult(recovered(), [(ErrorCode.UNTRUSTED_SIGNER, message)], True, False, signer)
