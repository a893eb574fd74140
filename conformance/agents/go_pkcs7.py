"""The `go-pkcs7` real engine: Go's pkcs7 package (go.mozilla.org/pkcs7), as a Go
service that signs or encrypts its messages with it would use it.

The package does CMS only; the suite writes the S/MIME MIME around it
(mime_wrap, the profile's `engine.mime: suite`). Its harness program
(harnesses/go-pkcs7, built from Debian's Go sources) is both the command line
(one call per process, `--engine-mode cli`) and the long-lived harness
(`--serve`). What the package cannot do is refused at send with
UNSUPPORTED_ALGORITHM: RSA-PSS, OAEP, a subject key identifier, 3DES, RC2 and
AES-192 encryption, signed attributes other than its three. It checks no CRL
(crypto/x509 has no revocation check): the CRLs of a reception are not given
to it, and a revoked signer it accepts is a finding of the matrix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cryptography import x509

from conformance.agents import cms_inspect, harness_argv, mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest
from conformance.agents.tool_agent import (
    PartyFiles,
    SendFailure,
    StepResult,
    ToolAgent,
    pem,
    refused,
    summary,
    trust_pems,
)
from conformance.agents.tools import version_of
from conformance.core.vocabulary import Party
from conformance.errors import MissingComponent
from conformance.paths import HARNESS_DIR
from conformance.smime.options import EncryptOptions, SendOptions, SignedAttribute, SignOptions
from conformance.status import ErrorCode

PROGRAM = HARNESS_DIR / "go-pkcs7" / "osm-go-pkcs7-harness"
# The signed attributes AddSignerChain writes, always and only these.
SIGNED_ATTRIBUTES: frozenset[SignedAttribute] = frozenset(
    {"content-type", "message-digest", "signing-time"}
)
# The content ciphers pkcs7.Encrypt offers that the suite's vocabulary names (it also has
# single DES, the package's default). Its AES-GCM goes in an EnvelopedData, not in the
# AuthEnvelopedData of RFC 5083: the receivers show what they make of it.
CIPHERS = frozenset({"aes128-cbc", "aes256-cbc", "aes128-gcm", "aes256-gcm"})

_CHAIN = re.compile(r"failed to verify certificate chain", re.I)
_BAD_SIGNATURE = re.compile(r"message digest mismatch|verification error", re.I)
_NO_SIGNER_CERT = re.compile(r"no certificate for signer", re.I)
_SIGNING_TIME = re.compile(r"signing time .* is outside of certificate validity", re.I)
_UNSUPPORTED = re.compile(
    r"unsupported digest|unsupported algorithm|algorithm unimplemented|unknown hash|"
    r"cannot decrypt data: only|unimplemented content type|has no content cipher|"
    r"Unsupported Content Encryption Algorithm",
    re.I,
)
_CANNOT_DECRYPT = re.compile(
    r"no enveloped recipient|decryption error|invalid padding|message authentication failed",
    re.I,
)
EXIT_PANIC = 3  # the harness's exit code when the package panicked on the input


class GoPkcs7Agent(ToolAgent):
    """Go's pkcs7 package through its harness program (one per worker in harness mode)."""

    id = "go-pkcs7"
    package = "golang-github-fullsailor-pkcs7-dev"

    def _setup(self) -> None:
        if not os.access(PROGRAM, os.X_OK):
            raise MissingComponent(
                f"the Go pkcs7 harness is not built ({PROGRAM}): run make -C {PROGRAM.parent} "
                "(needs the Debian packages golang-go and golang-github-fullsailor-pkcs7-dev)"
            )
        self.exe = str(PROGRAM)

    def _default_options(self) -> SendOptions:
        return SendOptions(
            sign=SignOptions(signed_attributes=SIGNED_ATTRIBUTES),
            encrypt=EncryptOptions(content="aes256-cbc", key_transport="rsa-pkcs1v15"),
        )

    def version(self) -> str:
        return version_of(self.exe, "version")

    # -- send -------------------------------------------------------------------------

    def _refuse_unsupported(self, what: str) -> None:
        """What the package has no way to do: UNSUPPORTED_ALGORITHM before any call."""
        problems: list[str] = []
        if what == "sign":
            so = self.opts.sign
            if so.algorithm != "rsa-pkcs1v15":
                problems.append(f"pkcs7 signs with RSA PKCS#1 v1.5 only, not {so.algorithm}")
            if so.signer_identifier != "issuer-serial":
                problems.append("pkcs7 names the signer by issuer and serial only")
            if so.certificates == "none":
                problems.append("pkcs7 always includes the signer's certificate")
            attrs = frozenset(so.signed_attributes)
            if attrs and attrs != SIGNED_ATTRIBUTES:
                problems.append(
                    "pkcs7 signs content-type, message-digest and signing-time, "
                    f"not {', '.join(sorted(attrs))}"
                )
        else:
            eo = self.opts.encrypt
            if eo.key_transport != "rsa-pkcs1v15":
                problems.append(
                    f"pkcs7 encrypts keys with RSA PKCS#1 v1.5 only, not {eo.key_transport}"
                )
            if eo.recipient_identifier != "issuer-serial":
                problems.append("pkcs7 names recipients by issuer and serial only")
        if problems:
            raise SendFailure(ErrorCode.UNSUPPORTED_ALGORITHM, "; ".join(problems))

    @staticmethod
    def _path(cert: x509.Certificate, chain: list[x509.Certificate]) -> list[x509.Certificate]:
        """The signer's issuers, nearest first: AddSignerChain checks that parents[0] signed
        the signer, so the export's certificates off the signer's path are left out."""
        path: list[x509.Certificate] = []
        issuer = cert.issuer
        while True:
            parent = next((c for c in chain if c.subject == issuer and c not in path), None)
            if parent is None:
                return path
            path.append(parent)
            issuer = parent.issuer

    def _sign(self, content: bytes, sender: Party, ev: Evidence) -> bytes:
        self._refuse_unsupported("sign")
        so = self.opts.sign
        files = PartyFiles(sender.identity_dir)
        data = mime_wrap.canonical(content) if so.canonicalize else content
        src, out = self.tmp("content"), self.tmp("signed.p7s")
        src.write_bytes(data)
        detached = so.format == "multipart-signed"
        args: list[str | Path] = [
            "sign",
            *harness_argv.identity(sender, "sign"),
            "--digest",
            so.digest,
            "--in",
            src,
            "--out",
            out,
        ]
        chain = self._path(files.certificate("sign"), files.chain())
        if chain and so.certificates == "chain":
            args += ["--certfile", self._file_of(b"".join(pem(c) for c in chain), "chain.pem")]
        if detached:
            args.append("--detached")
        if not so.signed_attributes:
            args.append("--noattr")
        result = self._run(args, ev)
        if not result.ok:
            raise refused(result, "osm-go-pkcs7-harness sign", _UNSUPPORTED)
        return self._wrap_signed(data, out.read_bytes(), detached=detached, digest=so.digest)

    def _encrypt(
        self, entity: bytes, recipients: list[x509.Certificate], sender: Party, ev: Evidence
    ) -> bytes:
        self._refuse_unsupported("encrypt")
        eo = self.opts.encrypt
        src, out = self.tmp("inner.eml"), self.tmp("enveloped.p7m")
        src.write_bytes(entity)
        args: list[str | Path] = ["encrypt", "--cipher", eo.content, "--in", src, "--out", out]
        for cert in recipients:
            args += ["--recip", self._file_of(pem(cert), "recipient.pem")]
        result = self._run(args, ev)
        if not result.ok:
            raise refused(result, f"osm-go-pkcs7-harness encrypt ({eo.content})", _UNSUPPORTED)
        return self._wrap_enveloped(out.read_bytes())

    # -- receive ----------------------------------------------------------------------

    def _decrypt(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        src, out = self.cms_files(layer.cms)
        identity = harness_argv.identity(request.recipient, "encrypt")
        result = self._run(["decrypt", *identity, "--in", src, "--out", out], ev)
        if result.ok:
            return StepResult(out.read_bytes())
        text = result.text()
        message = f"osm-go-pkcs7-harness decrypt: {summary(result)}"
        if result.returncode == EXIT_PANIC:
            return StepResult(None, [(ErrorCode.MALFORMED, f"pkcs7 panicked: {message}")])
        if _UNSUPPORTED.search(text):
            return StepResult(None, [(ErrorCode.UNSUPPORTED_ALGORITHM, message)])
        if _CANNOT_DECRYPT.search(text):
            # The package tries PKCS#1 v1.5 whatever the key transport says: an OAEP key
            # fails as "decryption error", which is the package not supporting OAEP.
            others = [k for k in self._key_transports(layer.cms) if k != "rsa-pkcs1v15"]
            if others and "rsa-pkcs1v15" not in self._key_transports(layer.cms):
                reason = (
                    "pkcs7 decrypts RSA PKCS#1 v1.5 key transport only, the message uses "
                    f"{', '.join(others)}: {message}"
                )
                return StepResult(None, [(ErrorCode.UNSUPPORTED_ALGORITHM, reason)])
            return StepResult(None, [(ErrorCode.CANNOT_DECRYPT, message)])
        return StepResult(None, [(ErrorCode.MALFORMED, message)])

    @staticmethod
    def _key_transports(cms: bytes | None) -> list[str]:
        if cms is None:
            return []
        try:
            return list(cms_inspect.inspect(cms).algorithms.key_transport)
        except (ValueError, TypeError, KeyError):
            return []

    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        assert layer.cms is not None
        base, out, signer_file = harness_argv.verify(
            self.tmp, layer.cms, "in.p7s", layer.signed_content
        )
        # No CRLs: crypto/x509 has no revocation check (the profile says check_revocation false).
        trust = self._file_of(b"\n".join(trust_pems(request)), "trust.pem")
        result = self._run([*base, "--CAfile", trust], ev)
        signer = self._signer(signer_file, layer)
        if result.ok:
            return StepResult(out.read_bytes(), [], True, True, signer)
        text = result.text()
        message = f"osm-go-pkcs7-harness verify: {summary(result)}"
        if result.returncode == EXIT_PANIC:
            return StepResult(None, [(ErrorCode.MALFORMED, f"pkcs7 panicked: {message}")])
        if _BAD_SIGNATURE.search(text):
            return StepResult(None, [(ErrorCode.BAD_SIGNATURE, message)], False, None, signer)
        if _NO_SIGNER_CERT.search(text) or _SIGNING_TIME.search(text):
            return StepResult(None, [(ErrorCode.UNTRUSTED_SIGNER, message)], None, False, signer)
        if _UNSUPPORTED.search(text):
            return StepResult(
                None, [(ErrorCode.UNSUPPORTED_ALGORITHM, message)], None, None, signer
            )
        if not _CHAIN.search(text):
            return StepResult(None, [(ErrorCode.MALFORMED, message)], None, None, signer)
        # The chain failed (the digest was checked before it): the signature alone.
        errors = [(ErrorCode.UNTRUSTED_SIGNER, message)]
        again = self._run([*base, "--noverify"], ev)
        if again.ok:
            return StepResult(out.read_bytes(), errors, True, False, signer)
        if _BAD_SIGNATURE.search(again.text()):
            errors.append(
                (
                    ErrorCode.BAD_SIGNATURE,
                    f"osm-go-pkcs7-harness verify --noverify: {summary(again)}",
                )
            )
            return StepResult(None, errors, False, False, signer)
        return StepResult(None, errors, None, False, signer)
