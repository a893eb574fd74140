"""The `nss` reference engine: NSS `cmsutil`, the CMS engine of Thunderbird.

Each instance has its own NSS database (certutil -N), into which it imports
the identities' PKCS#12 (pk12util), the CA certificates, the recipients'
certificates and the trust anchors and CRLs of each reception (certutil,
crlutil). cmsutil reads and writes raw CMS; mime_wrap adds the S/MIME MIME a
mail client would. cmsutil chooses its own content cipher and key transport
(PKCS#1 v1.5; NSS 3.87 has no OAEP and no AES-GCM): options asking for what
the tool cannot do make the send fail with UNSUPPORTED_ALGORITHM.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from conformance import pem_files
from conformance.agents import mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest
from conformance.agents.tool_agent import (
    P12_PASSWORD,
    PartyFiles,
    SendFailure,
    StepResult,
    ToolAgent,
    pem,
    require_ok,
    resolved,
    sha1_hex,
    summary,
)
from conformance.agents.tools import ToolRun, require, run, version_of
from conformance.core.vocabulary import Party
from conformance.status import ErrorCode

_DIGESTS = {"sha1": "SHA1", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}
_STATUS = re.compile(r"signer (\d+) status = (\w+)")
_NSS_ERROR = re.compile(r"(SEC_ERROR_\w+|SSL_ERROR_\w+|PR_\w+_ERROR)(?::\s*(.*))?")
# cmsutil's signer status names (NSSCMSVerificationStatus) that concern the certificate.
_CERT_STATUSES = {"SigningCertNotTrusted", "SigningCertNotFound", "SigningCertRevoked"}
_UNSUPPORTED_ERRORS = {
    "SEC_ERROR_INVALID_ALGORITHM",
    "SEC_ERROR_BAD_EXPORT_ALGORITHM",
    "SEC_ERROR_NO_TOKEN",
    "SEC_ERROR_PKCS7_KEYALG_MISMATCH",
    "SEC_ERROR_UNSUPPORTED_KEYALG",
    "SEC_ERROR_UNSUPPORTED_ELLIPTIC_CURVE",
    "SEC_ERROR_UNSUPPORTED_MESSAGE_TYPE",
    "SEC_ERROR_LIBRARY_FAILURE",
}


class NssAgent(ToolAgent):
    """NSS cmsutil with a private database per instance."""

    id = "nss"
    package = "libnss3-tools"

    def _setup(self) -> None:
        self.cmsutil = require("cmsutil", self.package)
        self.certutil = require("certutil", self.package)
        self.pk12util = require("pk12util", self.package)
        self.crlutil = require("crlutil", self.package)
        self._db: Path | None = None
        self._prepared: set[Path] = set()
        self._known: dict[str, str] = {}  # SHA-1 of every certificate added -> nickname used
        # nickname -> (SHA-1, subject) of the certificates filed under it, as last read
        self._filed: dict[str, list[tuple[str, x509.Name]]] = {}
        self._trusted: set[str] = set()
        self._crls: set[bytes] = set()  # the DER digests of the CRLs imported
        self._sign_nick: dict[Path, str] = {}

    def version(self) -> str:
        pkg = version_of("dpkg-query", "-W", "-f", "${Version}", "libnss3")
        return f"NSS cmsutil (libnss3 {pkg})"

    @property
    def db(self) -> str:
        if self._db is None:
            self._db = self.workdir / "nssdb"
            self._db.mkdir()
            self._tool(
                [self.certutil, "-N", "--empty-password", "-d", f"sql:{self._db}"],
                self.setup_evidence,
                must=True,
            )
        return f"sql:{self._db}"

    def _tool(self, args: list[str | Path], ev: Evidence, must: bool = False) -> ToolRun:
        result = run(args, evidence=ev, timeout=self.timeout)
        if must and not result.ok:
            raise SendFailure(
                ErrorCode.INTERNAL, f"{Path(str(args[0])).name} failed: {summary(result)}"
            )
        return result

    # -- the database ---------------------------------------------------------------

    def _add_cert(self, cert: x509.Certificate, trust: str, ev: Evidence) -> None:
        """Add (or re-trust) a certificate; NSS keeps the nickname it first filed it under."""
        fp = sha1_hex(cert)
        path = self.tmp("cert.pem")
        path.write_bytes(pem(cert))
        self._tool(
            [
                self.certutil,
                "-A",
                "-d",
                self.db,
                "-n",
                self._known.get(fp, f"c-{fp[:16]}"),
                "-t",
                trust,
                "-a",
                "-i",
                path,
            ],
            ev,
            must=True,
        )
        if fp not in self._known:
            self._refresh(ev, [cert])

    def _refresh(self, ev: Evidence, added: Sequence[x509.Certificate] | None = None) -> set[str]:
        """Re-read the db: every certificate's real nickname; returns those with a key.

        `added` are the certificates put in since the last reading: only the nicknames
        that are new, or that a new certificate of the same subject may have joined (NSS
        files one subject under one nickname), are read again (one certutil each); the
        others keep what was read before. When one of `added` is still not found, or with
        no `added`, every nickname is read."""
        listing = self._tool([self.certutil, "-L", "-d", self.db], ev, must=True)
        # A certificate already known is the same entry again: it files nothing anew.
        subjects = {c.subject for c in added or () if sha1_hex(c) not in self._known}
        users: set[str] = set()
        read: set[str] = set()  # a nickname is listed once per certificate under it
        self._known = {}
        for line in listing.stdout.decode("utf-8", "replace").splitlines()[3:]:
            m = re.match(r"^(.*?)\s+(\S*,\S*,\S*)\s*$", line)
            if not m:
                continue
            nick = m.group(1).strip()
            if nick not in read:
                read.add(nick)
                before = self._filed.get(nick) if added else None
                if before is None or any(subject in subjects for _, subject in before):
                    certs = self._tool([self.certutil, "-L", "-d", self.db, "-n", nick, "-a"], ev)
                    found = x509.load_pem_x509_certificates(certs.stdout) if certs.ok else []
                    self._filed[nick] = [(sha1_hex(c), c.subject) for c in found]
            for fp, _subject in self._filed[nick]:
                self._known[fp] = nick
                if "u" in m.group(2):
                    users.add(fp)
        if added and any(sha1_hex(c) not in self._known for c in added):
            return self._refresh(ev)
        return users

    def _key_ids(self, ev: Evidence) -> set[str]:
        """CKA_IDs of the private keys in the db (certutil -K)."""
        listing = self._tool([self.certutil, "-K", "-d", self.db], ev)
        return set(
            re.findall(
                r"^<\s*\d+>\s+\w+\s+([0-9a-f]{40})", listing.stdout.decode("utf-8", "replace"), re.M
            )
        )

    @staticmethod
    def _key_id(cert: x509.Certificate) -> str:
        """NSS's CKA_ID of an RSA key: SHA-1 of the modulus (certutil -L -n groups certs
        by subject, so the key list, not the certificate list, tells which ones have a key)."""
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return ""
        n = key.public_numbers().n
        return hashlib.sha1(n.to_bytes((n.bit_length() + 7) // 8, "big")).hexdigest()

    def prepare(self, party: Party) -> None:
        """Import the identity's PKCS#12 (and, for a role it lacks, one made from the PEM)."""
        directory = resolved(party.identity_dir)
        if directory in self._prepared:
            return
        ev = self.setup_evidence
        files = PartyFiles(directory)
        if files.p12 is not None:
            self._tool(
                [self.pk12util, "-i", files.p12, "-W", P12_PASSWORD.decode(), "-d", self.db],
                ev,
                must=True,
            )
        users = self._refresh(ev, _certificates_in(files.p12) if files.p12 is not None else None)
        for cert in files.ca_certificates():
            # Only new ones: re-adding would reset the trust a reception gave an anchor.
            if sha1_hex(cert) not in self._known:
                self._add_cert(cert, ",,", ev)
        keys = self._key_ids(ev)
        for role in ("sign", "encrypt"):
            if not files.key(role).exists():
                continue
            if self._key_id(files.certificate(role)) not in keys:
                ev.notes.append(f"identity.p12 lacks the {role} key: importing it alone")
                p12 = self.tmp(f"{role}.p12")
                p12.write_bytes(files.role_p12(role))
                self._tool(
                    [self.pk12util, "-i", p12, "-W", P12_PASSWORD.decode(), "-d", self.db],
                    ev,
                    must=True,
                )
                users = self._refresh(ev, [files.certificate(role)])
                keys = self._key_ids(ev)
        sign_fp = sha1_hex(files.certificate("sign"))
        if sign_fp in users:
            self._sign_nick[directory] = self._known[sign_fp]
        self._prepared.add(directory)

    def _sync_trust(self, request: ReceiveRequest, ev: Evidence) -> None:
        """Make the db trust exactly the request's anchors and hold its CRLs."""
        wanted: dict[str, x509.Certificate] = {}
        for path in request.trust:
            for cert in pem_files.certificates(path):
                wanted[sha1_hex(cert)] = cert
        for fp in self._trusted - wanted.keys():
            self._tool(
                [self.certutil, "-M", "-d", self.db, "-n", self._known[fp], "-t", ",,"],
                ev,
                must=True,
            )
        for fp, cert in wanted.items():
            if fp not in self._trusted:
                self._add_cert(cert, "C,C,C", ev)
        self._trusted = set(wanted)
        for crl_path in request.crls:
            path = resolved(Path(crl_path))
            # Known by its content, not its path: a rejection case's CRL comes in a new
            # file at each reception, a CRL rewritten in place is a new one.
            encoded, digest = _crl_digest(pem_files.version(path))
            if digest in self._crls:
                continue
            der = self.tmp("crl.der")
            der.write_bytes(encoded)
            importing: list[str | Path] = [self.crlutil, "-I", "-d", self.db, "-t", "1", "-i", der]
            result = self._tool(importing, ev)
            if not result.ok and "SEC_ERROR_UNKNOWN_ISSUER" in result.text():
                # The issuer only the message carries (a rejection case's CA): stored
                # without it (-B), not added to the database, where it would help verify
                # the next message; NSS checks the CRL's signature when it uses it,
                # against the issuer it then has (measured: a CRL signed by another key
                # is ignored, the issuer's own refuses the certificate it revokes).
                result = self._tool([*importing, "-B"], ev)
                if result.ok:
                    ev.notes.append(
                        f"crlutil imported {path} without its issuer (-B: not in the "
                        "database); NSS checks its signature when it uses it"
                    )
            if not result.ok:
                ev.notes.append(f"crlutil could not import {path}: {summary(result)}")
            self._crls.add(digest)

    # -- send -------------------------------------------------------------------------

    def _check_options(self, what: str) -> None:
        o = self.options
        if o is None:
            return
        problems: list[str] = []
        if what == "sign" and o.sign.algorithm == "rsa-pss":
            problems.append("cmsutil -S has no RSA-PSS option")
        if what == "encrypt":
            if o.encrypt.key_transport != "rsa-pkcs1v15":
                problems.append(f"cmsutil -E has no {o.encrypt.key_transport} key transport")
            if o.encrypt.content.endswith("gcm"):
                problems.append(f"cmsutil -E cannot make AuthEnvelopedData ({o.encrypt.content})")
        if problems:
            raise SendFailure(ErrorCode.UNSUPPORTED_ALGORITHM, "; ".join(problems))

    def _sign(self, content: bytes, sender: Party, ev: Evidence) -> bytes:
        self._check_options("sign")
        so = self.options.sign if self.options else None
        nick = self._sign_nick.get(resolved(sender.identity_dir))
        if nick is None:
            raise SendFailure(
                ErrorCode.INTERNAL, f"no signing key of {sender.identity_dir} in the NSS database"
            )
        detached = so is None or so.format == "multipart-signed"
        canonical = so is None or so.canonicalize
        data = mime_wrap.canonical(content) if canonical else content
        src, out = self.tmp("content"), self.tmp("signed.p7s")
        src.write_bytes(data)
        digest = so.digest if so else "sha256"
        args: list[str | Path] = [
            self.cmsutil,
            "-S",
            "-d",
            self.db,
            "-N",
            nick,
            "-Y",
            "NONE",
            "-H",
            _DIGESTS[digest],
            "-i",
            src,
            "-o",
            out,
        ]
        if detached:
            args.append("-T")
        if so is None or "signing-time" in so.signed_attributes:
            args.append("-G")
        if so is None or "smime-capabilities" in so.signed_attributes:
            args.append("-P")
        result = self._tool(args, ev)
        require_ok(result, "cmsutil -S")
        cms = out.read_bytes()
        return self._wrap_signed(data, cms, detached=detached, digest=digest)

    def _encrypt(
        self, entity: bytes, recipients: list[x509.Certificate], sender: Party, ev: Evidence
    ) -> bytes:
        self._check_options("encrypt")
        for cert in recipients:
            if sha1_hex(cert) not in self._known:
                self._add_cert(cert, ",,", ev)
        src, out = self.tmp("inner.eml"), self.tmp("enveloped.p7m")
        src.write_bytes(entity)
        # -r takes nicknames; NSS files certificates of one subject under one nickname and
        # picks among them the one fit for encryption.
        nicks = ",".join(dict.fromkeys(self._known[sha1_hex(c)] for c in recipients))
        result = self._tool(
            [self.cmsutil, "-E", "-d", self.db, "-r", nicks, "-i", src, "-o", out], ev
        )
        require_ok(result, "cmsutil -E")
        return self._wrap_enveloped(out.read_bytes())

    # -- receive ----------------------------------------------------------------------

    def _decrypt(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        src, out = self.cms_files(layer.cms)
        result = self._tool([self.cmsutil, "-D", "-d", self.db, "-i", src, "-o", out], ev)
        if result.ok:
            return StepResult(out.read_bytes())
        return StepResult(None, [self._decrypt_error(result, layer)])

    @staticmethod
    def _decrypt_error(result: ToolRun, layer: mime_wrap.Layer) -> tuple[ErrorCode, str]:
        text = result.text()
        m = _NSS_ERROR.search(text)
        name = m.group(1) if m else ""
        message = f"cmsutil -D: {summary(result)}"
        if layer.kind == "authEnveloped-data" or name in _UNSUPPORTED_ERRORS:
            return ErrorCode.UNSUPPORTED_ALGORITHM, message
        if name in ("SEC_ERROR_BAD_DER", "SEC_ERROR_BAD_DATA", "SEC_ERROR_INVALID_ARGS"):
            return ErrorCode.MALFORMED, message
        return ErrorCode.CANNOT_DECRYPT, message

    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        assert layer.cms is not None
        self._sync_trust(request, ev)
        src, out = self.tmp("in.p7s"), self.tmp("verified")
        src.write_bytes(layer.cms)
        args: list[str | Path] = [self.cmsutil, "-D", "-d", self.db, "-i", src, "-o", out]
        if layer.signed_content is not None:
            content = self.tmp("content")
            content.write_bytes(layer.signed_content)
            args += ["-c", content]
        result = self._tool(args, ev)
        signer = self.signer_from_cms(layer.cms)
        recovered = (
            layer.signed_content
            if layer.signed_content is not None
            else (out.read_bytes() if out.exists() else None)
        )
        statuses = _STATUS.findall(result.text())
        if result.ok:
            return StepResult(recovered, [], True, True, signer)
        message = f"cmsutil -D: {summary(result)}"
        worst = next((s for _, s in statuses if s != "GoodSignature"), "")
        m = _NSS_ERROR.search(result.text())
        name = m.group(1) if m else ""
        if worst in ("BadSignature", "DigestMismatch"):
            return StepResult(None, [(ErrorCode.BAD_SIGNATURE, message)], False, None, signer)
        if worst == "SigningCertRevoked" or name == "SEC_ERROR_REVOKED_CERTIFICATE":
            # cmsutil checks the certificate before the signature: the latter is unknown. A
            # revoked signer reads "SigningCertNotTrusted" beside the error that names it.
            return StepResult(recovered, [(ErrorCode.REVOKED_SIGNER, message)], None, False, signer)
        if worst in _CERT_STATUSES:
            return StepResult(
                recovered, [(ErrorCode.UNTRUSTED_SIGNER, message)], None, False, signer
            )
        if worst in (
            "UnsupportedSignatureAlgorithm",
            "SignatureAlgorithmUnknown",
            "DigestAlgorithmUnknown",
        ):
            return StepResult(
                None, [(ErrorCode.UNSUPPORTED_ALGORITHM, message)], None, None, signer
            )
        if name in (
            "SEC_ERROR_UNTRUSTED_ISSUER",
            "SEC_ERROR_UNKNOWN_ISSUER",
            "SEC_ERROR_UNTRUSTED_CERT",
            "SEC_ERROR_EXPIRED_CERTIFICATE",
            "SEC_ERROR_INADEQUATE_KEY_USAGE",
            "SEC_ERROR_INADEQUATE_CERT_TYPE",
        ):
            return StepResult(
                recovered, [(ErrorCode.UNTRUSTED_SIGNER, message)], None, False, signer
            )
        if name == "SEC_ERROR_PKCS7_BAD_SIGNATURE":
            return StepResult(None, [(ErrorCode.BAD_SIGNATURE, message)], False, None, signer)
        return StepResult(None, [(ErrorCode.MALFORMED, message)], None, None, signer)


def _certificates_in(p12: Path) -> list[x509.Certificate] | None:
    """The certificates a PKCS#12 of the export holds (what pk12util adds), or None when
    cryptography cannot read it (then the agent reads every nickname again)."""
    try:
        bundle = pkcs12.load_pkcs12(p12.read_bytes(), P12_PASSWORD)
    except (ValueError, UnsupportedAlgorithm):
        return None
    certs = [bundle.cert, *bundle.additional_certs]
    return [c.certificate for c in certs if c is not None]


@functools.lru_cache(maxsize=256)
def _crl_digest(at: pem_files.FileVersion) -> tuple[bytes, bytes]:
    """A CRL file's DER and its SHA-256, once per version of the file (every reception
    names the run's CRLs again)."""
    encoded = pem_files.crl(at.path).public_bytes(serialization.Encoding.DER)
    return encoded, hashlib.sha256(encoded).digest()
