"""The `gpgsm` reference engine: GnuPG's S/MIME, the engine of KMail and Kleopatra.

Each instance has its own GNUPGHOME (loopback pinentry, policy checks off)
with its own offline dirmngr, into which it imports the identities'
legacy-PBE PKCS#12 and the CA certificates; or, with `keys="card"` (a profile's
`engine.keys: card`), whose gpg-agent reaches the private keys on the CPS card
through gnupg-pkcs11-scd, as gpgsm does with a card's PKCS#11 module: the
identities' token (SoftHSM2 standing in for the card, a copy of its own) and
`gpgsm --learn-card`, the PIN given where the passphrase was. Trust is gpg-agent's
trustlist.txt: the sender's roots while sending (gpgsm signs and encrypts only
along a trusted chain), exactly the request's anchors while receiving. The
CRLs a reception is given are loaded into that dirmngr (`gpgsm --call-dirmngr
loadcrl`, the certificates the message carries handed to dirmngr first), so
gpgsm's own revocation check is what the matrix measures; the harness adds no
check of its own. gpgsm reads and writes raw CMS; mime_wrap adds the S/MIME
MIME. gpgsm 2.2.40 has no OAEP and no AES-GCM: options asking for them make the
send fail, and an envelope whose recipient info for the reader uses OAEP, which
gpgsm answers as a missing secret key, reads unsupported-algorithm. A padding
error names the encoding libksba misreads when the envelope has it (a constructed
encryptedContent in a definite-length EncryptedContentInfo, Go's pkcs7's), and
never the padding value gpgsm prints, which changes at every run.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from asn1crypto import parser
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conformance import pem_files
from conformance.agents import cms_inspect, mime_wrap
from conformance.agents.base import Evidence, ReceiveRequest, SendRequest, SendResult
from conformance.agents.harness import close_all as close_harnesses
from conformance.agents.recipients import OnBehalf, looked_up, needs_lookup
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
from conformance.core import certificates, oids
from conformance.core import cms as core_cms
from conformance.core.vocabulary import ContentCipher, Party
from conformance.directory.lookup import DEFAULT_TIMEOUT_S as LOOKUP_TIMEOUT_S
from conformance.directory.lookup import NO_CERTIFICATE, Address
from conformance.errors import MissingComponent, UserError
from conformance.profiles.schema import KeyStore
from conformance.smime import algorithms as alg
from conformance.smime import cms_read
from conformance.smime.options import SendOptions
from conformance.status import ErrorCode
from conformance.token import TOKEN_ENV, softhsm, token_kind
from conformance.token.files import key_roles
from conformance.token.softhsm import USER_PIN

CIPHERS: dict[ContentCipher, str] = {
    "des-ede3-cbc": "3DES",
    "aes128-cbc": "AES128",
    "aes192-cbc": "AES192",
    "aes256-cbc": "AES256",
}
_DIGESTS = {"sha1": "SHA1", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}
# The test PKI's certificates carry no CRL distribution point: without
# enable-issuer-based-crl-check gpgsm would skip their CRL check altogether.
CONFIG = "disable-policy-checks\nenable-issuer-based-crl-check\n"
NO_DIRMNGR_CONFIG = "disable-dirmngr\ndisable-crl-checks\ndisable-policy-checks\n"
# dirmngr offline: it reads only the CRLs it is given, never the network.
DIRMNGR_CONFIG = "disable-http\ndisable-ldap\n"
CRL_NOTE = (
    "gpgsm: CRL checks are off: dirmngr is not installed (Debian package dirmngr), "
    "so this engine cannot load CRLs; revocation is not checked by it"
)
NO_CRL_NOTE = "gpgsm: no CRL given: its CRL checks are off for this reception"
_TRUST_BAD = ("TRUST_UNDEFINED", "TRUST_NEVER")
# What gpgsm says when it could not decrypt the content-encryption key for any recipient.
_NO_SESSION_KEY = re.compile(r"error getting encrypted session key")
# What gpgsm says when the decrypted content does not end in CBC padding: "invalid padding
# with value N" or "inconsistent padding", as the last byte of a garbled block falls, so
# different from run to run; reasons say BAD_PADDING instead (the log keeps its words).
_BAD_PADDING = re.compile(r"invalid padding with value \d+|inconsistent padding")
BAD_PADDING = "[invalid or inconsistent padding]"
SEGMENTED_CONTENT = (
    "the envelope's encryptedContent is a constructed [0] (BER OCTET STRING segments) in an "
    "EncryptedContentInfo of definite length: gpgsm (libksba) reads segments only in one of "
    "indefinite length, so it took the segment headers for ciphertext"
)


def _status(result: ToolRun) -> list[list[str]]:
    """The [GNUPG:] status lines gpgsm wrote, split into words."""
    lines = []
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("[GNUPG:] "):
            lines.append(line[9:].split())
    return lines


class GpgsmAgent(ToolAgent):
    """gpgsm with a private GNUPGHOME per instance."""

    id = "gpgsm"
    package = "gpgsm"

    def __init__(
        self,
        options: SendOptions | None = None,
        workdir: Path | None = None,
        identity: Party | None = None,
        timeout: float = 60.0,
        keys: KeyStore = "software",
    ) -> None:
        self.keys = keys
        super().__init__(options, workdir, identity, timeout)

    def _setup(self) -> None:
        self.gpgsm = require("gpgsm", self.package)
        self.connect = require("gpg-connect-agent", "gnupg-utils")
        self.gpgconf = require("gpgconf", "gpgconf")
        # A short path of its own: gpg-agent's socket path must stay under 108 bytes.
        self.home = Path(tempfile.mkdtemp(prefix="osm-gh-", dir="/tmp"))
        self.home.chmod(0o700)
        # Whatever happens to this instance (never closed, interpreter exit), its
        # gpg-agent is stopped and its home removed.
        self._finalizer = weakref.finalize(self, _stop_home, self.gpgconf, self.home)
        # The lowest S2K count: keys are re-protected with it on import, so unlocking
        # one for each signature costs milliseconds instead of a calibrated ~0.5 s.
        agent_conf = "allow-loopback-pinentry\ns2k-count 65536\n"
        self.env = {"GNUPGHOME": str(self.home)}
        self._card: Path | None = None  # the cards' tokens: their directory
        if self.keys == "card":
            agent_conf += f"scdaemon-program {self._card_setup()}\n"
        (self.home / "gpg-agent.conf").write_text(agent_conf)
        # The CRLs need dirmngr, and dirmngr-client to hand it the CA certificates first
        # (`gpgsm --call-dirmngr` cannot answer the SENDCERT_SKI dirmngr asks when it
        # checks a CRL's issuer).
        try:
            require("dirmngr", "dirmngr")
            self.dirmngr_client: str | None = require("dirmngr-client", "dirmngr")
        except MissingComponent:
            self.dirmngr_client = None
        (self.home / "gpgsm.conf").write_text(CONFIG if self.dirmngr_client else NO_DIRMNGR_CONFIG)
        (self.home / "dirmngr.conf").write_text(DIRMNGR_CONFIG)
        (self.home / "trustlist.txt").write_text("")
        self._crls: set[str] = set()  # sha256 of the CRLs dirmngr holds
        self._cached: set[str] = set()  # the CA certificates dirmngr holds
        self._prepared: set[Path] = set()
        self._trusted: frozenset[str] = frozenset()
        self._imported: set[str] = set()
        self._lookup_homes: dict[str, Path] = {}  # directory URL -> GNUPGHOME that asks it

    def _card_setup(self) -> str:
        """gnupg-pkcs11-scd told where the card's module is; the token's own SoftHSM2
        configuration in the home (SOFTHSM2_CONF, read by the daemon gpg-agent starts).
        Returns the daemon's path."""
        daemon = require("gnupg-pkcs11-scd", "gnupg-pkcs11-scd")
        module = softhsm.require()
        if token_kind() == "software":
            raise MissingComponent(
                f"gpgsm with keys on the card needs the SoftHSM2 token, turned off here "
                f"({TOKEN_ENV}=software)"
            )
        (self.home / "gnupg-pkcs11-scd.conf").write_text(
            f"providers card\nprovider-card-library {module}\n"
        )
        # Named as the token copies of a process are (softhsm.process_directory): the
        # files of a process killed before its finalizer ran are removed by the next one.
        self._card = self.home / f"proc-gpgsm-{os.getpid()}"
        self.env["SOFTHSM2_CONF"] = str(softhsm.write_conf(self._card))
        self.setup_evidence.notes.append(
            f"gpgsm: private keys on the CPS card (SoftHSM2 standing in), reached by gpg-agent "
            f"through {version_of(daemon, '--version')}"
        )
        return daemon

    def version(self) -> str:
        return version_of(self.gpgsm, "--version")

    def close(self) -> None:
        self._finalizer()
        super().close()

    def _gpgsm(self, args: list[str | Path], ev: Evidence, passphrase: bool = False) -> ToolRun:
        argv: list[str | Path] = [
            self.gpgsm,
            "--homedir",
            self.home,
            "--batch",
            "--no-tty",
            "--status-fd",
            "1",
        ]
        stdin = b""
        if passphrase:
            argv += ["--pinentry-mode", "loopback", "--passphrase-fd", "0"]
            # A key on the card is unlocked with the card's PIN; a PKCS#12 file with its own.
            card = self.keys == "card" and "--import" not in args
            stdin = (USER_PIN.encode() if card else P12_PASSWORD) + b"\n"
        return run([*argv, *args], evidence=ev, input=stdin, timeout=self.timeout, env=self.env)

    # -- a first contact: gpgsm's own lookup through dirmngr's LDAP support ------------

    def _find_recipients(self, request: SendRequest, ev: Evidence) -> SendRequest | SendResult:
        """gpgsm looks the recipients up itself: `--list-external-keys` asks dirmngr, which
        asks the directory over LDAP; what it found is exported and imported, as Kleopatra's
        lookup does. Without dirmngr, the suite's lookup, labelled so."""
        if not needs_lookup(request) or request.directory is None:
            return looked_up(request, ev, self.id)  # nothing to look up, or nowhere to
        if self.dirmngr_client is None:
            return looked_up(request, ev, OnBehalf(self.id, "no-dirmngr"))
        try:
            home = self._lookup_home(request.directory)
        except UserError as exc:
            return SendResult(None, ErrorCode.NO_RECIPIENT_CERTIFICATE, str(exc), ev)
        found: list[x509.Certificate] = []
        for mail in request.recipient_emails:
            started = time.perf_counter()
            listed = self._in_home(home, ["--with-colons", "--list-external-keys", mail], ev)
            records = _external_keys(listed.stdout.decode("utf-8", "replace"))
            usable = [fpr for caps, fpr in records if "e" in caps]
            seconds = time.perf_counter() - started
            if not usable:
                seen = ", ".join(f"capabilities {caps or '-'}" for caps, _ in records) or "none"
                last = listed.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
                said = f"; {last[0]}" if last and not records else ""
                reason = (
                    f"{NO_CERTIFICATE}: gpgsm's own lookup of {mail} in {request.directory} "
                    f"(dirmngr LDAP) found {len(records)} certificate(s), none for encryption "
                    f"({seen}){said}"
                )
                ev.notes.append(reason)
                return SendResult(None, ErrorCode.NO_RECIPIENT_CERTIFICATE, reason, ev)
            exported = self._in_home(home, ["--with-ephemeral-keys", "--export", usable[0]], ev)
            try:
                cert = x509.load_der_x509_certificate(exported.stdout)
            except ValueError:
                reason = (
                    f"{NO_CERTIFICATE}: gpgsm --export of {mail}'s certificate gave no certificate"
                )
                return SendResult(None, ErrorCode.NO_RECIPIENT_CERTIFICATE, reason, ev)
            found.append(cert)
            ev.notes.append(
                f"gpgsm looked {mail} up itself (dirmngr LDAP, {request.directory}): "
                f"{len(records)} certificate(s), encryption certificate serial "
                f"{cert.serial_number:x} ({seconds * 1000:.1f} ms)"
            )
        return replace(request, recipients=tuple(found))

    def _lookup_home(self, url: str) -> Path:
        """A GNUPGHOME beside the main one whose dirmngr knows the directory (the main
        one's stays offline, holding the CRLs it was given)."""
        if url not in self._lookup_homes:
            where = Address.parse(url)
            home = Path(tempfile.mkdtemp(prefix="osm-gl-", dir="/tmp"))
            home.chmod(0o700)
            weakref.finalize(self, _stop_home, self.gpgconf, home)
            (home / "gpgsm.conf").write_text("disable-policy-checks\n")
            server = f"{where.host}:{where.port}:::{where.base}"
            timeout = max(1, math.ceil(LOOKUP_TIMEOUT_S))
            (home / "dirmngr.conf").write_text(
                f"disable-http\nldapserver {server}\nldaptimeout {timeout}\n"
            )
            self._lookup_homes[url] = home
        return self._lookup_homes[url]

    def _in_home(self, home: Path, args: list[str], ev: Evidence) -> ToolRun:
        argv: list[str | Path] = [self.gpgsm, "--homedir", home, "--batch", "--no-tty", *args]
        return run(argv, evidence=ev, timeout=self.timeout, env={"GNUPGHOME": str(home)})

    # -- the home -------------------------------------------------------------------

    def _import_certs(self, certs: list[x509.Certificate], ev: Evidence) -> None:
        new = [c for c in certs if sha1_hex(c) not in self._imported]
        if not new:
            return
        path = self.tmp("certs.pem")
        path.write_bytes(b"".join(pem(c) for c in new))
        result = self._gpgsm(["--import", path], ev)
        require_ok(result, "gpgsm --import")
        self._imported.update(sha1_hex(c) for c in new)

    def _secret_fingerprints(self, ev: Evidence) -> set[str]:
        result = self._gpgsm(["--with-colons", "--list-secret-keys"], ev)
        return {
            line.split(":")[9].upper()
            for line in result.stdout.decode().splitlines()
            if line.startswith("fpr:")
        }

    def prepare(self, party: Party) -> None:
        """Import the identity's PKCS#12 (and, for a role it lacks, one made from the PEM)."""
        directory = resolved(party.identity_dir)
        if directory in self._prepared:
            return
        ev = self.setup_evidence
        files = PartyFiles(directory)
        if self.keys == "card":
            self._import_certs(files.ca_certificates(), ev)  # before the card's own
            self._put_on_card(directory, files, ev)
            self._prepared.add(directory)
            return
        if files.p12 is not None:
            result = self._gpgsm(["--import", files.p12], ev, passphrase=True)
            if not result.ok:
                ev.notes.append(f"gpgsm could not import {files.p12}: {summary(result)}")
        self._import_certs(files.ca_certificates(), ev)
        have = self._secret_fingerprints(ev)
        for role in ("sign", "encrypt"):
            if files.key(role).exists() and sha1_hex(files.certificate(role)) not in have:
                ev.notes.append(f"identity.p12 lacks the {role} key: importing it alone")
                p12 = self.tmp(f"{role}.p12")
                p12.write_bytes(files.role_p12(role))
                result = self._gpgsm(["--import", p12], ev, passphrase=True)
                if not result.ok:
                    raise SendFailure(
                        ErrorCode.INTERNAL, f"gpgsm --import {role} key failed: {summary(result)}"
                    )
        self._prepared.add(directory)

    def _put_on_card(self, directory: Path, files: PartyFiles, ev: Evidence) -> None:
        """The identity's own card (a copy of its token) beside those the home holds, then
        `gpgsm --learn-card`, which imports the cards' certificates and points gpg-agent at
        their keys. gnupg-pkcs11-scd reads the tokens once, when it starts: for a second
        card gpg-agent (which starts it again) is stopped, and so are the harness's
        servers, connected to the old gpg-agent."""
        assert self._card is not None
        template = softhsm.ensure_template(
            [directory], softhsm.TOKEN_LABEL, softhsm.USER_PIN, softhsm.SO_PIN
        )
        tokens = self._card / "tokens"
        if not tokens.is_dir() or not any(tokens.iterdir()):  # no card yet: no daemon read one
            softhsm.copy_token(template, self._card, in_memory=True)
        else:
            close_harnesses(self.env)
            kill: list[str | Path] = [self.gpgconf, "--homedir", self.home, "--kill", "gpg-agent"]
            run(kill, evidence=ev, timeout=self.timeout, env=self.env)
            for token in (template / "tokens").iterdir():  # the same card: the same files
                shutil.copytree(token, tokens.resolve() / token.name, dirs_exist_ok=True)
        learnt = self._gpgsm(["--learn-card"], ev)
        # gpgsm stops at the first certificate of a card it cannot take and exits 2; the
        # identity's own keys are what this card is for.
        have = self._secret_fingerprints(ev)
        lacking = [r for r in key_roles(directory) if sha1_hex(files.certificate(r)) not in have]
        if lacking:
            raise SendFailure(
                ErrorCode.INTERNAL,
                f"gpgsm --learn-card did not find the {', '.join(lacking)} key(s) of "
                f"{directory.name} on its card: {summary(learnt)}",
            )

    def _set_trust(self, certs: list[x509.Certificate], ev: Evidence) -> None:
        """trustlist.txt lists exactly these roots (flag S: trusted for S/MIME)."""
        self._import_certs(certs, ev)
        wanted = frozenset(sha1_hex(c) for c in certs)
        if wanted == self._trusted:
            return
        (self.home / "trustlist.txt").write_text("".join(f"{fp} S\n" for fp in sorted(wanted)))
        run(
            [self.connect, "--homedir", self.home, "reloadagent", "/bye"],
            evidence=ev,
            timeout=self.timeout,
            env=self.env,
        )
        self._trusted = wanted

    def _load_crls(
        self, request: ReceiveRequest, ev: Evidence, carried: Sequence[x509.Certificate] = ()
    ) -> None:
        """Hand dirmngr the CA certificates and those the message carries, then load each
        given CRL with `gpgsm --call-dirmngr loadcrl`. dirmngr asks for a CRL's issuer
        (SENDCERT_SKI), which `--call-dirmngr` cannot answer, whereas a verifying gpgsm
        answers it from the certificates the message brought: cached first, the CRL of an
        issuer only the message carries loads too. A CRL is taken only once its issuer's
        own revocation is known (the root's CRL before the intermediate's), so the files
        are tried again while one more loads."""
        assert self.dirmngr_client is not None
        certs: list[x509.Certificate] = []
        for path in request.trust:
            certs.extend(pem_files.certificates(path))
        certs.extend(PartyFiles(request.recipient.identity_dir).ca_certificates())
        certs.extend(carried)
        env = self.env
        for cert in certs:
            if sha1_hex(cert) in self._cached:
                continue
            path = self.tmp("ca.pem")
            path.write_bytes(pem(cert))
            result = run(
                [self.dirmngr_client, "--pem", "--cache-cert", path],
                evidence=ev,
                timeout=self.timeout,
                env=env,
            )
            if result.ok:
                self._cached.add(sha1_hex(cert))
        pending: dict[str, bytes] = {}
        for crl_path in request.crls:
            der = _crl_der(Path(crl_path))
            if der is None:
                ev.notes.append(f"{crl_path}: not a CRL, not given to dirmngr")
                continue
            digest = hashlib.sha256(der).hexdigest()
            if digest not in self._crls:
                pending[digest] = der
        refused: dict[str, str] = {}
        while pending:
            loaded = []
            for digest, der in pending.items():
                path = self.tmp(f"{digest[:16]}.crl")
                path.write_bytes(der)
                result = self._gpgsm(["--call-dirmngr", "loadcrl", path], ev)
                if result.ok:
                    loaded.append(digest)
                else:
                    refused[digest] = summary(result)
            if not loaded:
                break
            for digest in loaded:
                self._crls.add(digest)
                del pending[digest]
                refused.pop(digest, None)
        for reason in refused.values():
            ev.notes.append(f"dirmngr did not load a CRL: {reason}")
        ev.notes.append(
            f"gpgsm: CRL checks on; dirmngr holds {len(self._crls)} CRL(s) "
            "(gpgsm --call-dirmngr loadcrl)"
        )

    # -- send -------------------------------------------------------------------------

    def _check_options(self, what: str) -> None:
        o = self.options
        if o is None:
            return
        problems: list[str] = []
        if what == "sign" and o.sign.algorithm == "rsa-pss":
            problems.append("gpgsm 2.2 does not sign with RSA-PSS")
        if what == "encrypt":
            if o.encrypt.key_transport != "rsa-pkcs1v15":
                problems.append(f"gpgsm 2.2 has no {o.encrypt.key_transport} key transport")
            if o.encrypt.content not in CIPHERS:
                problems.append(f"gpgsm 2.2 cannot encrypt with {o.encrypt.content}")
        if problems:
            raise SendFailure(ErrorCode.UNSUPPORTED_ALGORITHM, "; ".join(problems))

    def _sign(self, content: bytes, sender: Party, ev: Evidence) -> bytes:
        self._check_options("sign")
        files = PartyFiles(sender.identity_dir)
        self._set_trust(files.roots(), ev)
        so = self.options.sign if self.options else None
        detached = so is None or so.format == "multipart-signed"
        data = mime_wrap.canonical(content) if so is None or so.canonicalize else content
        src, out = self.tmp("content"), self.tmp("signed.p7s")
        src.write_bytes(data)
        include = {"chain": "-1", "signer": "1", "none": "0"}[so.certificates if so else "chain"]
        digest = so.digest if so else "sha256"
        args: list[str | Path] = [
            "--local-user",
            "0x" + sha1_hex(files.certificate("sign")),
            "--include-certs",
            include,
            "--digest-algo",
            _DIGESTS[digest],
            "--output",
            out,
            "--detach-sign" if detached else "--sign",
            src,
        ]
        # Signing is not where revocation is measured: the sender's own chain is
        # not checked against CRLs (a reception is given them, a sending is not).
        result = self._gpgsm(["--disable-crl-checks", *args], ev, passphrase=True)
        require_ok(result, "gpgsm --sign")
        cms = out.read_bytes()
        return self._wrap_signed(data, cms, detached=detached, digest=digest)

    def _encrypt(
        self, entity: bytes, recipients: list[x509.Certificate], sender: Party, ev: Evidence
    ) -> bytes:
        self._check_options("encrypt")
        self._set_trust(PartyFiles(sender.identity_dir).roots(), ev)
        self._import_certs(recipients, ev)
        src, out = self.tmp("inner.eml"), self.tmp("enveloped.p7m")
        src.write_bytes(entity)
        args: list[str | Path] = []
        for cert in recipients:
            args += ["--recipient", "0x" + sha1_hex(cert)]
        if self.options is not None:
            args += ["--cipher-algo", CIPHERS[self.options.encrypt.content]]
        result = self._gpgsm(["--disable-crl-checks", *args, "--output", out, "--encrypt", src], ev)
        require_ok(result, "gpgsm --encrypt")
        return self._wrap_enveloped(out.read_bytes())

    # -- receive ----------------------------------------------------------------------

    def _decrypt(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        src, out = self.cms_files(layer.cms)
        result = self._gpgsm(["--output", out, "--decrypt", src], ev, passphrase=True)
        words = _status(result)
        # gpgsm exits 2 when it could not look up a certificate of another recipient,
        # yet decrypts: its DECRYPTION_OKAY status is the verdict.
        if any(w[0] == "DECRYPTION_OKAY" for w in words) and out.exists():
            if not result.ok:
                ev.notes.append(f"gpgsm --decrypt exited {result.returncode} after DECRYPTION_OKAY")
            return StepResult(out.read_bytes())
        text = result.text()
        said = _BAD_PADDING.sub(BAD_PADDING, summary(result))
        message = f"gpgsm --decrypt: {said}"
        if layer.kind == "authEnveloped-data" or re.search(
            r"unsupported|not supported|unknown (cipher|algorithm)|invalid cipher algorithm",
            text,
            re.I,
        ):
            return StepResult(None, [(ErrorCode.UNSUPPORTED_ALGORITHM, message)])
        if _NO_SESSION_KEY.search(text):
            # gpgsm answers an RSAES-OAEP key transport as a key it has no secret for.
            oaep = _oaep_for_reader(layer.cms, request.recipient)
            if oaep:
                reason = (
                    f"gpgsm --decrypt: the reader's recipient info uses {oaep}, gpgsm got "
                    f"no session key: {summary(result)}"
                )
                return StepResult(None, [(ErrorCode.UNSUPPORTED_ALGORITHM, reason)])
        if _BAD_PADDING.search(text) and _segmented_in_definite(layer.cms):
            reason = f"gpgsm --decrypt: {SEGMENTED_CONTENT}: {said}"
            return StepResult(None, [(ErrorCode.CANNOT_DECRYPT, reason)])
        if re.search(r"invalid object|ber error|der error|malformed|invalid CMS", text, re.I):
            return StepResult(None, [(ErrorCode.MALFORMED, message)])
        return StepResult(None, [(ErrorCode.CANNOT_DECRYPT, message)])

    def _verify(
        self, entity: bytes, layer: mime_wrap.Layer, request: ReceiveRequest, ev: Evidence
    ) -> StepResult:
        assert layer.cms is not None
        roots: list[x509.Certificate] = []
        for path in request.trust:
            roots.extend(pem_files.certificates(path))
        self._set_trust(roots, ev)
        crl_checks: list[str | Path] = []
        if self.dirmngr_client is None:
            if request.crls:
                ev.notes.append(CRL_NOTE)
        elif request.crls:
            self._load_crls(request, ev, _carried(layer.cms))
        else:
            ev.notes.append(NO_CRL_NOTE)
            crl_checks = ["--disable-crl-checks"]
        src, out = self.tmp("in.p7s"), self.tmp("verified")
        src.write_bytes(layer.cms)
        if layer.signed_content is not None:
            content = self.tmp("content")
            content.write_bytes(layer.signed_content)
            result = self._gpgsm([*crl_checks, "--verify", src, content], ev)
            recovered: bytes | None = layer.signed_content
        else:
            result = self._gpgsm([*crl_checks, "--output", out, "--verify", src], ev)
            recovered = out.read_bytes() if out.exists() else None
        words = _status(result)
        signer = self.signer_from_cms(layer.cms)
        kinds = [w[0] for w in words]
        message = f"gpgsm --verify: {summary(result)}"
        if "BADSIG" in kinds:
            return StepResult(None, [(ErrorCode.BAD_SIGNATURE, message)], False, None, signer)
        if "GOODSIG" in kinds or "VALIDSIG" in kinds:
            # EXPKEYSIG/EXPSIG/REVKEYSIG stand where GOODSIG would: a good signature by a
            # certificate gpgsm found expired or revoked, even beside TRUST_FULLY and exit 0
            # (GPGME reports such a signature as not valid).
            flagged = {"EXPKEYSIG", "EXPSIG", "REVKEYSIG"} & set(kinds)
            trusted = "TRUST_FULLY" in kinds or "TRUST_ULTIMATE" in kinds
            if result.ok and trusted and not flagged:
                return StepResult(recovered, [], True, True, signer)
            code = (
                ErrorCode.REVOKED_SIGNER
                if "REVKEYSIG" in kinds or re.search(r"revoked", result.text(), re.I)
                else ErrorCode.UNTRUSTED_SIGNER
            )
            return StepResult(recovered, [(code, message)], True, False, signer)
        errsig = next((w for w in words if w[0] == "ERRSIG"), None)
        if errsig is not None:
            # ERRSIG <keyid> <pkalgo> <hashalgo> ... <rc>: 4 = unsupported algorithm, 9 = no key.
            rc = errsig[6] if len(errsig) > 6 else ""
            if rc == "4":
                return StepResult(
                    None, [(ErrorCode.UNSUPPORTED_ALGORITHM, message)], None, None, signer
                )
            return StepResult(None, [(ErrorCode.UNTRUSTED_SIGNER, message)], None, False, signer)
        if re.search(
            r"certificate chain|not trusted|no issuer|root certificate", result.text(), re.I
        ):
            return StepResult(
                recovered, [(ErrorCode.UNTRUSTED_SIGNER, message)], None, False, signer
            )
        return StepResult(None, [(ErrorCode.MALFORMED, message)], None, None, signer)


def _carried(cms: bytes) -> list[x509.Certificate]:
    """The certificates a signed message carries (the one CMS reader); none for what it
    cannot read, which the verification itself then reports."""
    try:
        content = cms_inspect.parsed(cms).content
    except core_cms.CmsError:
        return []
    if not isinstance(content, core_cms.SignedParts):
        return []
    found: list[x509.Certificate] = []
    for der in content.certificates:
        with contextlib.suppress(ValueError):
            found.append(certificates.crypto_certificate(der))
    return found


def _oaep_for_reader(cms: bytes | None, reader: Party) -> str:
    """The RSAES-OAEP key transport of the envelope's recipient infos for `reader` (its
    option name, e.g. rsa-oaep-sha256, else "RSAES-OAEP"), or "" when one of them uses
    another or none is the reader's."""
    if cms is None:
        return ""
    try:
        content = cms_inspect.parsed(cms).content
    except core_cms.CmsError:
        return ""
    if not isinstance(content, core_cms.EnvelopedParts):
        return ""
    files = PartyFiles(reader.identity_dir)
    mine = [
        certificates.asn1_certificate(files.certificate(role))
        for role in ("encrypt", "sign", "auth")
        if files.cert(role).exists()
    ]
    names: list[str] = []
    for info in content.recipients:
        if info.rid is None or not any(certificates.matches(info.rid, c) for c in mine):
            continue
        try:
            names.append(cms_read.key_transport_of(info.key_algorithm))
        except alg.UnsupportedAlgorithm as exc:
            names.append("RSAES-OAEP" if exc.oid == oids.RSAES_OAEP else exc.oid)
        except core_cms.PARSE_ERRORS:
            return ""
    if not names or not all(n == "RSAES-OAEP" or n.startswith("rsa-oaep") for n in names):
        return ""
    return ", ".join(dict.fromkeys(names))


def _segmented_in_definite(cms: bytes | None) -> bool:
    """Whether an EnvelopedData's encryptedContent is a constructed [0] (legitimate BER,
    as Go's pkcs7 writes it) inside an EncryptedContentInfo of definite length. libksba 1.6
    picks how to read the encryptedContent by the EncryptedContentInfo's length form, not by
    the [0]'s (cms-parser.c parse_encrypted_content_info, cms.c read_encrypted_cont): it
    reads segments only when that length is indefinite, else the [0]'s contents whole."""
    if cms is None:
        return False
    try:
        if not isinstance(cms_inspect.parsed(cms).content, core_cms.EnvelopedParts):
            return False
        elements = core_cms.element_encodings
        explicit = elements(parser.parse(cms)[4])[1]  # ContentInfo's content [0]
        fields = elements(parser.parse(parser.parse(explicit)[4])[4])  # EnvelopedData's
        content_info = next(f for f in fields if f[0] == 0x30)  # after version, SET
        content = elements(parser.parse(content_info)[4])
    except (ValueError, StopIteration, core_cms.CmsError):
        return False
    return content_info[1] != 0x80 and len(content) == 3 and content[2][0] == 0xA0


def _crl_der(path: Path) -> bytes | None:
    """A CRL file (PEM or DER) as DER, which is what dirmngr loads; None if it is none.
    Parsed once per version of the file (pem_files): every reception brings the same."""
    pem_files.version(path)  # a file that cannot be read is an error, not "no CRL"
    try:
        return pem_files.crl(path).public_bytes(serialization.Encoding.DER)
    except UserError:
        return None


def _external_keys(colons: str) -> list[tuple[str, str]]:
    """(capabilities, fingerprint) of each certificate a --with-colons listing gives."""
    found: list[tuple[str, str]] = []
    caps = ""
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] == "crt" and len(fields) > 11:
            caps = fields[11]
        elif fields[0] == "fpr" and len(fields) > 9:
            found.append((caps, fields[9]))
    return found


def _stop_home(gpgconf: str, home: Path) -> None:
    with contextlib.suppress(Exception):
        subprocess.run(
            # gpg-agent (and the card daemon it started) and dirmngr
            [gpgconf, "--homedir", str(home), "--kill", "all"],
            capture_output=True,
            timeout=15,
            check=False,
        )
    for card in home.glob("proc-gpgsm-*"):
        softhsm.remove_copy(card)  # the token's files, in tmpfs, first
    shutil.rmtree(home, ignore_errors=True)
