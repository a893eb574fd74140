"""What the real-engine agents share: the layer walk, the status, the files.

Each real engine (openssl, NSS, gpgsm, BouncyCastle, Go pkcs7, GnuTLS, PKI.js)
only knows how to sign, encrypt, decrypt and verify one layer with its tool.
This base class turns those steps into the Agent protocol: it composes the
layers of a function on send, walks the layers of a message on receive (outside
in), fills the algorithms from the CMS itself, and derives the four services
from what the tool said. A hung tool or an unexpected crash becomes an INTERNAL
error, never a verdict. It also holds what the agents' steps share: the files
written once per content, the signer a tool wrote, the tool's words classified.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance import pem_files
from conformance.agents import cms_inspect, mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest, Reception, SendRequest, SendResult
from conformance.agents.recipients import OnBehalf, looked_up
from conformance.agents.tools import ToolRun, ToolTimeout, run
from conformance.core import certificates
from conformance.core.vocabulary import FUNCTIONS, Capabilities, Digest, Party
from conformance.paths import memory_dir, scratch_prefix
from conformance.pki.export import P12_PASSWORD as P12_PASSWORD  # the agents import it here
from conformance.pki.export import pkcs12_bytes
from conformance.smime.algorithms import micalg_name
from conformance.smime.options import SendOptions
from conformance.status import Algorithms, ErrorCode, Status

MAX_LAYERS = 8


class SendFailure(Exception):
    """A send step the tool refused; carries the status code and the tool's words."""

    def __init__(self, code: ErrorCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class StepResult:
    """The outcome of one receive step (decrypt or verify) as the tool reported it."""

    content: bytes | None
    errors: list[tuple[ErrorCode, str]] = field(default_factory=list)
    signature_valid: bool | None = None
    chain_valid: bool | None = None
    signer: x509.Certificate | None = None


@dataclass(frozen=True)
class PartyFiles:
    """The files of an identity in the PKI export layout."""

    directory: Path

    def cert(self, role: str) -> Path:
        return self.directory / f"{role}.pem"

    def key(self, role: str) -> Path:
        return self.directory / f"{role}.key.pem"

    def certificate(self, role: str) -> x509.Certificate:
        return pem_files.certificate(self.cert(role))

    @property
    def p12(self) -> Path | None:
        path = self.directory / "identity.p12"
        return path if path.exists() else None

    def ca_certificates(self) -> list[x509.Certificate]:
        """The CA certificates that come with the export (DIR/ca/*.pem beside identities/)."""
        return list(pem_files.directory_certificates(self.directory.parent.parent / "ca"))

    def chain(self) -> list[x509.Certificate]:
        """Intermediates (not self-signed) of the export, each once."""
        unique = {sha1_hex(c): c for c in self.ca_certificates() if c.issuer != c.subject}
        return list(unique.values())

    def roots(self) -> list[x509.Certificate]:
        return [c for c in self.ca_certificates() if c.issuer == c.subject]

    def role_p12(self, role: str) -> bytes:
        """A legacy-PBE PKCS#12 of one role, for a tool whose import of identity.p12 lacked it.

        The export's own <role>.p12 when there is one; otherwise made from the PEM files.
        """
        exported = self.directory / f"{role}.p12"
        if exported.exists():
            return exported.read_bytes()
        key = serialization.load_pem_private_key(self.key(role).read_bytes(), None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{self.key(role)}: not an RSA key")
        return pkcs12_bytes(role, key, self.certificate(role), self.chain())


def summary(result: ToolRun) -> str:
    """A tool's output on one line, cut to 600 characters: for error messages and notes."""
    return " ".join(result.text().split())[:600]


def unsupported_or(text: str, words: re.Pattern[str], otherwise: ErrorCode) -> ErrorCode:
    """UNSUPPORTED_ALGORITHM when the tool's `words` say it lacks an algorithm, else `otherwise`."""
    return ErrorCode.UNSUPPORTED_ALGORITHM if words.search(text) else otherwise


def refused(result: ToolRun, what: str, unsupported: re.Pattern[str]) -> SendFailure:
    """A send step the tool refused: UNSUPPORTED_ALGORITHM when its words say so, else
    INTERNAL, with the command (`what`) and its words in the reason."""
    code = unsupported_or(result.text(), unsupported, ErrorCode.INTERNAL)
    return SendFailure(code, f"{what} failed: {summary(result)}")


def require_ok(result: ToolRun, what: str) -> None:
    """A send step the tool refused: a SendFailure naming the command and its words."""
    if not result.ok:
        raise SendFailure(ErrorCode.INTERNAL, f"{what} failed: {summary(result)}")


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def trust_pems(request: ReceiveRequest) -> list[bytes]:
    """The reception's trust anchor files, as they are (PEM)."""
    return [Path(p).read_bytes() for p in request.trust]


def crl_pems(request: ReceiveRequest) -> list[bytes]:
    """The reception's CRLs in PEM, a DER one converted: for a tool that reads PEM only."""
    parts = []
    for crl_path in request.crls:
        data = Path(crl_path).read_bytes()
        if b"BEGIN X509 CRL" not in data:
            data = x509.load_der_x509_crl(data).public_bytes(serialization.Encoding.PEM)
        parts.append(data)
    return parts


def sha1_hex(cert: x509.Certificate) -> str:
    """The SHA-1 fingerprint the tools show, of the DER `core.certificates` keeps per
    certificate object (`cert.fingerprint` encodes the certificate again at each call)."""
    return hashlib.sha1(certificates.certificate_der(cert)).hexdigest().upper()


@functools.lru_cache(maxsize=1024)
def resolved(path: Path) -> Path:
    """`path.resolve()`, once per path and process: the agents key what they prepared by
    the identity directories' real paths, at every call."""
    return path.resolve()


def services(status: Status) -> None:
    """The four services from what was found (see conformance/status.py)."""
    s = status.services
    s.integrity = status.signature_valid is True
    s.authentication = s.integrity and status.chain_valid is True
    s.non_repudiation = s.authentication and bool(status.signer and status.signer.non_repudiation)
    s.confidentiality = status.encrypted and status.decrypted


class ToolAgent(ABC):
    """A real engine seen as an Agent; subclasses implement the four tool steps."""

    id: str
    package: str
    exe: str  # the tool `_run` calls, found by `_setup` (NSS and gpgsm call several their way)

    def __init__(
        self,
        options: SendOptions | None = None,
        workdir: Path | None = None,
        identity: Party | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.setup_evidence = Evidence()
        self._written: dict[tuple[str, bytes], Path] = {}
        self._setup()
        self.options = options if options is not None else self._default_options()
        self.timeout = timeout
        self._own_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix=scratch_prefix(self.id), dir=memory_dir()))
            if workdir is None
            else workdir
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._counter = 0
        self._transient: list[Path] = []  # tmp() files of the current call
        if identity is not None:
            self.prepare(identity)

    def _setup(self) -> None:  # noqa: B027 - optional hook
        """Find the tool and set up its own state; runs first, before any work directory."""

    def _default_options(self) -> SendOptions | None:
        """The send options when none are given: None lets the tool use its own defaults."""
        return None

    @property
    def opts(self) -> SendOptions:
        """The send options, for an agent whose `_default_options` gives some."""
        assert self.options is not None
        return self.options

    def _run(self, args: list[str | Path], ev: Evidence, stdin: bytes = b"") -> ToolRun:
        """One call of the tool with `args`, bounded in time, its words kept in `ev`."""
        return run([self.exe, *args], evidence=ev, input=stdin, timeout=self.timeout)

    # -- the tool steps ---------------------------------------------------------------

    def prepare(self, party: Party) -> None:  # noqa: B027 - optional hook
        """Load an identity into the tool's own store (NSS db, GNUPGHOME); default none."""

    @abstractmethod
    def _sign(self, content: bytes, sender: Party, ev: Evidence) -> bytes:
        """A signed MIME entity (no message headers) around `content`."""

    @abstractmethod
    def _encrypt(
        self, entity: bytes, recipients: list[x509.Certificate], sender: Party, ev: Evidence
    ) -> bytes:
        """An enveloped MIME entity around `entity`."""

    @abstractmethod
    def _decrypt(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult: ...

    @abstractmethod
    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult: ...

    @abstractmethod
    def version(self) -> str: ...

    @property
    def _legacy(self) -> bool:
        """The profile asks for the legacy application/x-pkcs7-* media types."""
        return bool(self.options and self.options.mime.media_types == "legacy")

    def _wrap_signed(self, data: bytes, cms: bytes, *, detached: bool, digest: Digest) -> bytes:
        """The tool's raw signature as S/MIME: multipart/signed around `data`, or opaque."""
        if detached:
            return mime_wrap.wrap_detached(data, cms, micalg_name(digest, "lower"), self._legacy)
        return mime_wrap.wrap_cms(cms, "signed-data", self._legacy)

    def _wrap_enveloped(self, cms: bytes) -> bytes:
        """The tool's raw EnvelopedData as an S/MIME entity."""
        return mime_wrap.wrap_cms(cms, "enveloped-data", self._legacy)

    def _headers(self, request: SendRequest) -> bytes:
        return mime_wrap.envelope_headers(
            request.sender.email,
            request.recipient_emails,
            request.subject,
            request.date,
            request.message_id,
        )

    def _finish(self, entity: bytes, request: SendRequest, ev: Evidence) -> bytes:
        """The whole message: the mail client's headers above the last entity."""
        return self._headers(request) + entity

    # -- the Agent protocol -----------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return Capabilities(send=frozenset(FUNCTIONS), receive=frozenset(FUNCTIONS))

    def tmp(self, name: str) -> Path:
        """A fresh file name in this instance's work directory, for the current send or
        receive: the file is removed when that call ends (a run makes thousands, and the
        work directory may be in memory)."""
        path = self._fresh(name)
        self._transient.append(path)
        return path

    def _fresh(self, name: str) -> Path:
        self._counter += 1
        return self.workdir / f"{self._counter:05d}-{name}"

    def _forget_transient(self) -> None:
        for path in self._transient:
            with contextlib.suppress(OSError):
                path.unlink()
        self._transient.clear()

    def cms_files(self, cms: bytes | None) -> tuple[Path, Path]:
        """(input file holding a layer's CMS, fresh output file) for a decrypt step."""
        assert cms is not None
        src, out = self.tmp("in.p7m"), self.tmp("decrypted")
        src.write_bytes(cms)
        return src, out

    def _file_of(self, data: bytes, name: str) -> Path:
        """A file holding `data`, written once per content: the trust bundle, the chain
        and the recipients are the same at nearly every call."""
        path = self._written.get((name, data))
        if path is None or not path.exists():
            path = self._fresh(name)
            path.write_bytes(data)
            if len(self._written) > 64:
                self._written.clear()
            self._written[(name, data)] = path
        return path

    def close(self) -> None:
        """Remove the instance's temporary directory (databases, homes, files)."""
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:  # `with NssAgent(...) as nss` is an NssAgent
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: SendRequest) -> SendResult:
        ev = Evidence()
        found = self._find_recipients(request, ev)
        if isinstance(found, SendResult):
            return found
        request = found
        try:
            self.prepare(request.sender)
            message = self._compose(request, ev)
        except SendFailure as exc:
            return SendResult(None, exc.code, exc.reason, ev)
        except ToolTimeout as exc:
            return SendResult(None, ErrorCode.INTERNAL, str(exc), ev)
        finally:
            self._forget_transient()
        return SendResult(message, evidence=ev)

    def _find_recipients(self, request: SendRequest, ev: Evidence) -> SendRequest | SendResult:
        """A first contact's certificates: the tool has no directory client, so the suite
        looks up on its behalf, and the evidence says so (gpgsm overrides this)."""
        return looked_up(request, ev, OnBehalf(self.id, "no-directory-client"))

    def _recipients(self, request: SendRequest) -> list[x509.Certificate]:
        recipients = list(request.recipients)
        to_self = self.options.encrypt.encrypt_to_self if self.options else True
        if to_self:
            own = PartyFiles(request.sender.identity_dir).certificate("encrypt")
            if own not in recipients:
                recipients.append(own)
        return recipients

    def _compose(self, request: SendRequest, ev: Evidence) -> bytes:
        order = self.options.order if self.options else "sign-then-encrypt"
        content = request.content
        if request.function == "sign":
            return self._finish(self._sign(content, request.sender, ev), request, ev)
        if request.function == "encrypt":
            entity = self._encrypt(content, self._recipients(request), request.sender, ev)
            return self._finish(entity, request, ev)
        # sign-encrypt, hprim-net, attachments: both services, in the configured order.
        recipients = self._recipients(request)
        if order == "encrypt-then-sign":
            entity = self._sign(
                self._encrypt(content, recipients, request.sender, ev), request.sender, ev
            )
        else:
            entity = self._encrypt(
                self._sign(content, request.sender, ev), recipients, request.sender, ev
            )
            if order == "triple-wrap":
                entity = self._sign(entity, request.sender, ev)
        return self._finish(entity, request, ev)

    def receive(self, request: ReceiveRequest) -> Reception:
        ev = Evidence()
        status = Status()
        content: bytes | None = None
        try:
            self.prepare(request.recipient)
            content = self._walk(request, status, ev)
        except mime_wrap.MalformedMessage as exc:
            status.add_error(ErrorCode.MALFORMED, str(exc))
        except ToolTimeout as exc:
            status.add_error(ErrorCode.INTERNAL, str(exc))
        finally:
            self._forget_transient()
        services(status)
        return Reception(content, status, ev)

    def _walk(self, request: ReceiveRequest, status: Status, ev: Evidence) -> bytes | None:
        data = request.message
        for _ in range(MAX_LAYERS):
            layer = mime_wrap.classify(data)
            if layer.kind == "plain":
                return data
            status.layers.append(layer.kind)
            if layer.cms is not None:
                self._note_algorithms(layer.cms, status.algorithms, ev)
            if layer.kind in ("enveloped-data", "authEnveloped-data"):
                status.encrypted = True
                step = self._decrypt(data, layer, request, ev)
                if step.content is not None and not step.errors:
                    status.decrypted = True
            else:
                status.signed = True
                step = self._verify(data, layer, request, ev)
                # The outermost verdict wins: an inner layer does not repair an outer one.
                if status.signature_valid is not False:
                    status.signature_valid = step.signature_valid
                if status.chain_valid is not False:
                    status.chain_valid = step.chain_valid
                if step.signer is not None and status.signer is None:
                    status.signer = cms_inspect.signer_of(step.signer)
            for code, message in step.errors:
                status.add_error(code, message)
            if step.content is None:
                return None
            data = step.content
        status.add_error(ErrorCode.MALFORMED, f"more than {MAX_LAYERS} S/MIME layers")
        return None

    @staticmethod
    def _note_algorithms(cms: bytes, algs: Algorithms, ev: Evidence) -> None:
        try:
            facts = cms_inspect.inspect(cms)
        except (ValueError, TypeError, KeyError) as exc:
            ev.notes.append(f"could not read the CMS structure for its algorithms: {exc}")
            return
        for name in ("digest", "signature", "content_encryption", "key_transport"):
            values: list[str] = getattr(algs, name)
            for value in getattr(facts.algorithms, name):
                if value not in values:
                    values.append(value)

    def _signer(self, path: Path, layer: mime_wrap.Layer) -> x509.Certificate | None:
        """The signer's certificate the tool wrote to `path`, else the one the CMS names."""
        if path.exists() and path.stat().st_size:
            return x509.load_pem_x509_certificates(path.read_bytes())[0]
        return self.signer_from_cms(layer.cms)

    @staticmethod
    def signer_from_cms(cms: bytes | None) -> x509.Certificate | None:
        if cms is None:
            return None
        try:
            return cms_inspect.inspect(cms).signer_certificate
        except (ValueError, TypeError, KeyError):
            return None
