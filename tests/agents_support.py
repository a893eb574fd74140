"""Shared by the agent tests: what two profiles imply for an exchange, and the cast.

`implied(sender, receiver, function)` reads the two profiles (send format and
options, accept lists, Apicrypt reading, key) and says whether a basic
exchange must pass and, if not, which words its reason must contain. It is
the profiles' meaning written once more, independently of the engine, so
that an engine which stops honouring a profile field fails a test. The only
facts it adds are the real tools' known limits (docs/design.md, "Real components
and known facts"), which their profiles leave open (null accept lists).
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.agents.pkijs import modules_dir
from conformance.cli import main
from conformance.core.vocabulary import Function
from conformance.functions import OPERATION, REQUIRED_SERVICES
from conformance.matrix.cast import Cast, directories_of
from conformance.profiles.schema import Profile, Quirks
from conformance.token import token_kind

REPO = Path(__file__).resolve().parent.parent

# The tools each real engine runs; an engine whose tools are missing is skipped, visibly.
ENGINE_TOOLS: dict[str, tuple[str, ...]] = {
    "openssl": ("openssl",),
    "nss": ("cmsutil", "certutil", "pk12util"),
    "gpgsm": ("gpgsm", "gpg-agent", "gpg-connect-agent"),
    "go-pkcs7": (str(REPO / "harnesses" / "go-pkcs7" / "osm-go-pkcs7-harness"),),
    "gnutls": ("certtool",),
    "pkijs": ("node",),
    "bouncycastle": ("java",),
}
REAL_ENGINES = tuple(ENGINE_TOOLS)

# docs/design.md: "NSS cmsutil 3.87 and gpgsm 2.2.40 handle neither OAEP nor AES-GCM".
# Their profiles say "anything the tool reads" (null lists); this is what it cannot.
ENGINE_CANNOT_READ: dict[str, frozenset[str]] = {
    "nss": frozenset({"rsa-oaep-sha1", "rsa-oaep-sha256", "aes128-gcm", "aes256-gcm"}),
    "gpgsm": frozenset({"rsa-oaep-sha1", "rsa-oaep-sha256", "aes128-gcm", "aes256-gcm"}),
    # Go's pkcs7 decrypts RSA PKCS#1 v1.5 only and parses no AuthEnvelopedData.
    "go-pkcs7": frozenset({"rsa-oaep-sha1", "rsa-oaep-sha256", "aes128-gcm", "aes256-gcm"}),
    # PKI.js 4.0.0: no AuthEnvelopedData class, and WebCrypto has neither DES nor RC2.
    "pkijs": frozenset({"aes128-gcm", "aes256-gcm", "des-ede3-cbc", "rc2-40-cbc", "rc2-128-cbc"}),
}
# (sender engine, receiver engine) -> why the receiver cannot decrypt what the sender
# encrypts: Go's pkcs7 writes the encryptedContent as a constructed [0] inside a
# definite-length EncryptedContentInfo, which gpgsm 2.2.40 (libksba) reads only when that
# length is indefinite ("invalid padding"); the same bytes with an indefinite
# EncryptedContentInfo, or a primitive [0], decrypt.
ENGINE_PAIR_CANNOT_DECRYPT: dict[tuple[str, str], str] = {
    ("go-pkcs7", "gpgsm"): "gpgsm misreads Go pkcs7's constructed encryptedContent",
}
# Key transports a real engine cannot decrypt, apart from the list above since
# "rsa-pkcs1v15" also names a signature algorithm: WebCrypto has no RSAES-PKCS1-v1_5,
# so PKI.js reads no classic key transport (profiles/pkijs.yaml).
ENGINE_CANNOT_UNWRAP: dict[str, frozenset[str]] = {"pkijs": frozenset({"rsa-pkcs1v15"})}
MEDIA_TYPES = {"modern": ("application/pkcs7-",), "legacy": ("application/x-pkcs7-",)}
# docs/design.md: "SoftHSM 2.6.1 decrypts RSA PKCS#1 v1.5 and OAEP with SHA-1 only".
SOFTHSM_CANNOT_DECRYPT = frozenset({"rsa-oaep-sha256"})


def missing_tools(engine_type: str) -> list[str]:
    missing = [t for t in ENGINE_TOOLS.get(engine_type, ()) if shutil.which(t) is None]
    if engine_type == "pkijs" and not (modules_dir() / "pkijs" / "package.json").is_file():
        missing.append("PKI.js (make -C harnesses/pkijs)")
    if engine_type == "bouncycastle":
        from conformance.agents.bouncycastle import PROGRAM

        if not os.access(PROGRAM, os.X_OK):
            missing.append(f"{PROGRAM.name} (make -C harnesses/bouncycastle)")
    return missing


def need_tools(*profiles: Profile) -> None:
    """Skip (with the reason shown) when a real engine of these profiles is not installed,
    or holds its keys on the card (gpgsm-cps) where the token is off or its daemon missing."""
    for profile in profiles:
        missing = missing_tools(profile.engine.type)
        card = profile.engine.type == "gpgsm" and profile.engine.keys == "card"
        if card and shutil.which("gnupg-pkcs11-scd") is None:
            missing.append("gnupg-pkcs11-scd")
        if missing:
            pytest.skip(f"{profile.id}: {', '.join(missing)} not installed")
        if card and token_kind() == "software":
            pytest.skip(f"{profile.id}: its keys are on the card, and the token is off here")


def is_real_engine(profile: Profile) -> bool:
    return profile.engine.type in REAL_ENGINES


@dataclass(frozen=True)
class Implied:
    """What an exchange must give: a pass, or a failure whose reason holds one of `words`."""

    ok: bool
    words: tuple[str, ...] = ()
    why: str = ""

    def check(self, ok: bool, reason: str | None) -> None:
        if self.ok:
            assert ok, f"profiles imply a pass ({self.why}); got: {reason}"
            return
        assert not ok, f"profiles imply a failure ({self.why}); the exchange passed"
        assert reason is not None and any(w in reason for w in self.words), (
            f"profiles imply a failure naming one of {self.words} ({self.why}); got: {reason}"
        )


def _fail(why: str, *words: str) -> Implied:
    return Implied(False, words, why)


def _services_missing(held: set[str], function: Function) -> Implied | None:
    missing = [s for s in REQUIRED_SERVICES[function] if s not in held]
    if not missing:
        return None
    names = ", ".join(m.replace("_", "-") for m in missing)
    return _fail(f"services not held: {names}", f"services not held: {names}")


def sends_apicrypt(sender: Profile, receiver: Profile, function: Function) -> bool:
    """Whether the sender writes the Apicrypt model to this receiver's user."""
    listed = directories_of(receiver)
    if sender.send.format == "apicrypt":
        return True
    return function in sender.send.apicrypt_functions and listed == {"apicrypt"}


def implied(sender: Profile, receiver: Profile, function: Function) -> Implied | None:
    """The outcome the two profiles imply; None when a side does not do the function."""
    for profile in (sender, receiver):
        if profile.quirks != Quirks():
            pytest.fail(f"{profile.id}: implied() does not model quirks yet; teach it first")
    if function not in sender.capabilities().send or function not in receiver.receive.functions:
        return None
    if sends_apicrypt(sender, receiver, function):
        return _apicrypt(sender, receiver, function)
    return _smime(sender, receiver, function)


def _apicrypt(sender: Profile, receiver: Profile, function: Function) -> Implied:
    reading = receiver.receive.apicrypt
    signed = sender.send.format == "apicrypt" and function != "encrypt"
    if reading.reads == "none":
        if is_real_engine(receiver):
            # A real S/MIME tool sees a plain mail with an armoured block: no service.
            return _fail("a real S/MIME engine knows no Apicrypt", "services not held")
        return _fail(f"{receiver.id} does not read the Apicrypt model", "unsupported-format")
    if not reading.holds_key:
        return _fail(f"{receiver.id} holds no Apicrypt key", "cannot-decrypt")
    if reading.require_signature and not signed:
        return _fail(f"{receiver.id} requires an Apicrypt signature", "no-signature")
    held = {"confidentiality"}
    if signed and reading.reads == "full":
        held |= {"authentication", "integrity", "non_repudiation"}
    return _services_missing(held, function) or Implied(True, why="Apicrypt model, relay")


def _smime(sender: Profile, receiver: Profile, function: Function) -> Implied:
    accept = receiver.receive.smime
    if accept is None:
        return _fail(f"{receiver.id} reads no S/MIME", "unsupported-format")
    send = sender.send
    assert send.signature and send.encryption and send.mime, f"{sender.id}: S/MIME send options"
    operation = OPERATION[function]
    signs, encrypts = operation != "encrypt", operation != "sign"
    used: list[tuple[str, Sequence[str] | None]] = [(send.mime.media_types, accept.media_types)]
    if encrypts:
        used += [
            (send.encryption.content, accept.ciphers),
            (send.encryption.key_transport, accept.key_transports),
        ]
    if signs:
        used += [
            (send.signature.digest, accept.digests),
            (send.signature.algorithm, accept.signature_algorithms),
            (send.signature.format, accept.formats),
        ]
    for value, accepted in used:
        if accepted is not None and value not in accepted:
            # A media type family is named by its media types in reasons.
            return _fail(
                f"{receiver.id} does not accept {value}", value, *MEDIA_TYPES.get(value, ())
            )
    cannot = ENGINE_CANNOT_READ.get(receiver.engine.type, frozenset())
    for value, _ in used:
        if value in cannot:
            # The tool's own words are kept; they need not name the algorithm.
            return _fail(
                f"{receiver.engine.type} cannot read {value}",
                "unsupported-algorithm",
                "cannot-decrypt",
                "malformed",
            )
    pair = ENGINE_PAIR_CANNOT_DECRYPT.get((sender.engine.type, receiver.engine.type))
    if encrypts and pair is not None:
        return _fail(pair, "cannot-decrypt")
    if encrypts and send.encryption.key_transport in ENGINE_CANNOT_UNWRAP.get(
        receiver.engine.type, frozenset()
    ):
        return _fail(
            f"{receiver.engine.type} cannot decrypt {send.encryption.key_transport}",
            "unsupported-algorithm",
            "cannot-decrypt",
        )
    on_card = receiver.engine.type == "builtin" and receiver.engine.keys == "card"
    softhsm_cannot = on_card and send.encryption.key_transport in SOFTHSM_CANNOT_DECRYPT
    if encrypts and softhsm_cannot and token_kind() == "softhsm":
        return _fail("SoftHSM cannot decrypt it", "cannot-decrypt", "unsupported-algorithm")
    if accept.require_signature and not signs:
        return _fail(f"{receiver.id} requires a signature", "no-signature")
    if accept.require_encryption and not encrypts:
        return _fail(f"{receiver.id} requires encryption", "not-encrypted")
    return Implied(True, why="S/MIME within the receiver's accept lists")


@pytest.fixture(scope="module")
def software_keys() -> Iterator[None]:
    """Keys in the program instead of SoftHSM: the same engine code, much faster."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSM_CONFORMANCE_TOKEN", "software")
        yield


@dataclass(frozen=True)
class Ran:
    """What an `agent` command run in process gave: exit code, standard output and error."""

    code: int
    stdout: bytes
    stderr: str


def run_agent(*args: str, stdin: bytes = b"") -> Ran:
    """`osm-conformance agent ARGS` in this process, `stdin` its input (faster than a
    subprocess); argparse's usage errors and --help give their exit code, not SystemExit."""
    out, err = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(out)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", err)
        try:
            code = main(["agent", *args])
        except SystemExit as exc:
            code = int(exc.code or 0)
        stdout.flush()
    return Ran(code, out.getvalue(), err.getvalue())


def make_cast(profiles: dict[str, Profile], workdir: Path) -> Cast:
    return Cast(profiles, workdir=workdir)


def with_changes(profile: Profile, new_id: str, **sections: dict[str, object]) -> Profile:
    """A copy of `profile` under `new_id`, with nested fields changed:
    with_changes(p, "x", receive={"apicrypt.holds_key": False})."""
    update: dict[str, object] = {"id": new_id}
    for section, changes in sections.items():
        current = getattr(profile, section)
        for dotted, value in changes.items():
            current = _set(current, dotted.split("."), value)
        update[section] = current
    return profile.model_copy(update=update)


def _set(model: object, path: list[str], value: object) -> object:
    assert hasattr(model, "model_copy"), f"not a section: {model!r}"
    if len(path) == 1:
        return model.model_copy(update={path[0]: value})
    inner = _set(getattr(model, path[0]), path[1:], value)
    return model.model_copy(update={path[0]: inner})
