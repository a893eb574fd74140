"""The `openssl` reference engine: OpenSSL's `openssl cms`, driven as a mail client would.

Send maps SendOptions onto `openssl cms -sign` / `-encrypt` flags; receive runs
`-decrypt` and `-verify` on each layer (OpenSSL reads and writes S/MIME MIME
itself) and maps its exit code and error strings onto status codes, keeping
the strings in the messages.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509

from conformance.agents import mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest, SendRequest
from conformance.agents.tool_agent import (
    PartyFiles,
    SendFailure,
    StepResult,
    ToolAgent,
    crl_pems,
    pem,
    trust_pems,
    unsupported_or,
)
from conformance.agents.tools import ToolRun, require, version_of
from conformance.core.vocabulary import ContentCipher, Party
from conformance.smime.options import SendOptions
from conformance.status import ErrorCode

CIPHER_FLAGS: dict[ContentCipher, str] = {
    "des-ede3-cbc": "-des3",
    "rc2-40-cbc": "-rc2-40",
    "rc2-128-cbc": "-rc2-128",
    "aes128-cbc": "-aes-128-cbc",
    "aes192-cbc": "-aes-192-cbc",
    "aes256-cbc": "-aes-256-cbc",
    "aes128-gcm": "-aes-128-gcm",
    "aes256-gcm": "-aes-256-gcm",
}

_UNSUPPORTED = re.compile(
    r"unsupported|unknown cipher|cipher not supported|unknown digest|not supported|"
    r"no cipher set|unsupported algorithm|initialization error",
    re.IGNORECASE,
)
_MALFORMED = re.compile(
    r"asn1|header too long|bad base64|no content type|invalid mime|mime parse|"
    r"mime_parse|not enough data|wrong tag|nested asn1 error|no multipart",
    re.IGNORECASE,
)
_BAD_SIGNATURE = re.compile(
    r"content verify error|digest failure|signature failure|verification failure.*signature|"
    r"bad signature|message digest mismatch",
    re.IGNORECASE,
)
_CHAIN = re.compile(r"Verify error:\s*(.*)", re.IGNORECASE)


def _classify_decrypt(result: ToolRun) -> tuple[ErrorCode, str]:
    text = result.text()
    summary = " ".join(line.strip() for line in text.splitlines() if line.strip())[:600]
    if _UNSUPPORTED.search(text):
        return ErrorCode.UNSUPPORTED_ALGORITHM, f"openssl cms -decrypt: {summary}"
    if re.search(r"no recipient|decrypt error|bad decrypt|wrong final block|oaep", text, re.I):
        return ErrorCode.CANNOT_DECRYPT, f"openssl cms -decrypt: {summary}"
    if _MALFORMED.search(text):
        return ErrorCode.MALFORMED, f"openssl cms -decrypt: {summary}"
    return ErrorCode.CANNOT_DECRYPT, f"openssl cms -decrypt: {summary}"


class OpenSSLAgent(ToolAgent):
    """OpenSSL `cms` as an agent; options choose its flags (defaults: SendOptions())."""

    id = "openssl"
    package = "openssl"

    def _setup(self) -> None:
        self.exe = require("openssl", self.package)

    def _default_options(self) -> SendOptions:
        return SendOptions()

    def version(self) -> str:
        return version_of(self.exe, "version")

    # -- send -------------------------------------------------------------------------

    def _finish(self, entity: bytes, request: SendRequest, ev: Evidence) -> bytes:
        # OpenSSL writes MIME-Version and the CMS entity; the client adds the rest.
        return mime_wrap.above_tool_entity(self._headers(request), entity)

    def _sign(self, content: bytes, sender: Party, ev: Evidence) -> bytes:
        files = PartyFiles(sender.identity_dir)
        so = self.opts.sign
        src, out = self.tmp("content"), self.tmp("signed.eml")
        src.write_bytes(content)
        args: list[str | Path] = [
            "cms",
            "-sign",
            "-in",
            src,
            "-out",
            out,
            "-outform",
            "SMIME",
            "-signer",
            files.cert("sign"),
            "-inkey",
            files.key("sign"),
            "-md",
            so.digest,
        ]
        if so.algorithm == "rsa-pss":
            args += ["-keyopt", "rsa_padding_mode:pss"]
        if so.format == "opaque":
            args.append("-nodetach")
        intermediates = files.chain() if so.certificates == "chain" else []
        if intermediates:
            chain = self._file_of(b"".join(pem(c) for c in intermediates), "chain.pem")
            args += ["-certfile", chain]
        elif so.certificates == "none":
            args.append("-nocerts")
        if not so.signed_attributes:
            args.append("-noattr")
        elif "smime-capabilities" not in so.signed_attributes:
            args.append("-nosmimecap")
        if so.signer_identifier == "ski":
            args.append("-keyid")
        if so.canonicalize:
            args.append("-crlfeol")
        else:
            args.append("-binary")
        result = self._run(args, ev)
        if not result.ok:
            code = unsupported_or(result.text(), _UNSUPPORTED, ErrorCode.INTERNAL)
            raise SendFailure(code, f"openssl cms -sign failed: {result.text().strip()[:600]}")
        return out.read_bytes()

    def _encrypt(
        self, entity: bytes, recipients: list[x509.Certificate], sender: Party, ev: Evidence
    ) -> bytes:
        eo = self.opts.encrypt
        src, out = self.tmp("inner.eml"), self.tmp("enveloped.eml")
        src.write_bytes(entity)
        args: list[str | Path] = [
            "cms",
            "-encrypt",
            "-binary",
            "-crlfeol",
            "-in",
            src,
            "-out",
            out,
            "-outform",
            "SMIME",
            CIPHER_FLAGS[eo.content],
        ]
        if eo.recipient_identifier == "ski":
            args.append("-keyid")
        for cert in recipients:
            path = self._file_of(pem(cert), "recipient.pem")
            args += ["-recip", path]
            # -keyopt applies to the -recip just before it.
            if eo.key_transport == "rsa-oaep-sha1":
                args += ["-keyopt", "rsa_padding_mode:oaep"]
            elif eo.key_transport == "rsa-oaep-sha256":
                args += [
                    "-keyopt",
                    "rsa_padding_mode:oaep",
                    "-keyopt",
                    "rsa_oaep_md:sha256",
                    "-keyopt",
                    "rsa_mgf1_md:sha256",
                ]
        result = self._run(args, ev)
        if not result.ok:
            code = unsupported_or(result.text(), _UNSUPPORTED, ErrorCode.INTERNAL)
            raise SendFailure(
                code,
                f"openssl cms -encrypt ({eo.content}, {eo.key_transport}) failed: "
                f"{result.text().strip()[:600]}",
            )
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
                "cms",
                "-decrypt",
                "-binary",
                "-inform",
                "SMIME",
                "-in",
                src,
                "-out",
                out,
                "-recip",
                files.cert("encrypt"),
                "-inkey",
                files.key("encrypt"),
            ],
            ev,
        )
        if not result.ok:
            return StepResult(None, [_classify_decrypt(result)])
        return StepResult(out.read_bytes())

    def _trust_bundle(self, request: ReceiveRequest) -> Path:
        """Trust anchors and CRLs in one CAfile: `openssl cms` has no -CRLfile."""
        return self._file_of(b"\n".join([*trust_pems(request), *crl_pems(request)]), "trust.pem")

    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        src, out, signer = self.tmp("in.eml"), self.tmp("verified"), self.tmp("signer.pem")
        src.write_bytes(entity)
        base: list[str | Path] = [
            "cms",
            "-verify",
            "-inform",
            "SMIME",
            "-in",
            src,
            "-out",
            out,
            "-signer",
            signer,
            "-purpose",
            "smimesign",
        ]
        full = [*base, "-CAfile", self._trust_bundle(request), "-no-CApath", "-no-CAstore"]
        if request.crls:
            full.append("-crl_check")
        result = self._run(full, ev)
        if result.ok:
            return StepResult(out.read_bytes(), [], True, True, self._signer(signer, layer))
        text = result.text()
        summary = " ".join(line.strip() for line in text.splitlines() if line.strip())[:600]
        chain = _CHAIN.search(text)
        if chain is None:
            if _BAD_SIGNATURE.search(text):
                errors = [(ErrorCode.BAD_SIGNATURE, f"openssl cms -verify: {summary}")]
                return StepResult(None, errors, False, None, self.signer_from_cms(layer.cms))
            if re.search(r"signer certificate not found|no signer", text, re.I):
                return StepResult(
                    None,
                    [(ErrorCode.UNTRUSTED_SIGNER, f"openssl cms -verify: {summary}")],
                    None,
                    False,
                )
            code = unsupported_or(text, _UNSUPPORTED, ErrorCode.MALFORMED)
            return StepResult(None, [(code, f"openssl cms -verify: {summary}")])
        # The chain failed: ask OpenSSL about the signature alone (-noverify).
        reason = chain.group(1).strip()
        code = (
            ErrorCode.REVOKED_SIGNER if "revoked" in reason.lower() else ErrorCode.UNTRUSTED_SIGNER
        )
        errors = [(code, f"openssl cms -verify: {summary}")]
        again = self._run([*base, "-noverify"], ev)
        if again.ok:
            return StepResult(out.read_bytes(), errors, True, False, self._signer(signer, layer))
        sig_text = again.text()
        if _BAD_SIGNATURE.search(sig_text):
            errors.append(
                (
                    ErrorCode.BAD_SIGNATURE,
                    "openssl cms -verify -noverify: " + " ".join(sig_text.split())[:600],
                )
            )
            return StepResult(None, errors, False, False, self.signer_from_cms(layer.cms))
        return StepResult(None, errors, None, False, self.signer_from_cms(layer.cms))
