"""The seed corpus: real messages to mutate.

The golden corpus (what every profile-driven product writes), RFC 4134's
objects (made by others, wrapped as mail where they are bare CMS), and,
when the tools are installed, what openssl, NSS cmsutil, gpgsm, Go's pkcs7
and GnuTLS certtool write for pro01 -> pro02 of the test PKI. The real
engines draw their own randomness, so their messages are made once and kept
under `fuzz/seeds/` of the cache.
"""

from __future__ import annotations

import base64
import random
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from conformance.agents import identity_files as files
from conformance.agents.base import SendRequest
from conformance.core.vocabulary import Function, Party
from conformance.paths import HARNESS_DIR, PKI_DIR, RFC4134_DIR, VECTORS_DIR, cache_dir
from conformance.token.files import intermediates

__all__ = ["Seed", "large_seeds", "load_seeds"]

SENDER, RECIPIENT = "pro01", "pro02"
ENGINE_TOOLS = {"openssl": ("openssl",), "nss": ("cmsutil", "certutil", "pk12util")}
ENGINE_TOOLS["gpgsm"] = ("gpgsm", "gpg-agent", "gpg-connect-agent")
# Go's pkcs7 through its harness program (built by set-up); GnuTLS certtool signs only.
ENGINE_TOOLS["go-pkcs7"] = (str(HARNESS_DIR / "go-pkcs7" / "osm-go-pkcs7-harness"),)
ENGINE_TOOLS["gnutls"] = ("certtool",)
_FUNCTIONS: tuple[Function, ...] = ("sign", "encrypt", "sign-encrypt")
_CONTENT = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Compte rendu: r\xc3\xa9sultat normal.\r\n"
)


@dataclass(frozen=True)
class Seed:
    name: str  # where it came from: golden/reference/sign, rfc4134/4.2, openssl/sign
    message: bytes


def _wrap(der: bytes) -> bytes:
    """A bare CMS object as the body of an application/pkcs7-mime message."""
    text = base64.encodebytes(der).replace(b"\n", b"\r\n")
    return (
        b"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: RFC 4134\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: application/pkcs7-mime; name="smime.p7m"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + text
    )


def golden_seeds() -> list[Seed]:
    return [
        Seed(f"golden/{p.parent.name}/{p.stem}", p.read_bytes())
        for p in sorted((VECTORS_DIR / "golden").glob("*/*.eml"))
    ]


def rfc4134_seeds() -> list[Seed]:
    seeds = [Seed(f"rfc4134/{p.stem}", p.read_bytes()) for p in sorted(RFC4134_DIR.glob("*.eml"))]
    for path in sorted(RFC4134_DIR.glob("*.bin")):
        der = path.read_bytes()
        if der.startswith(b"\x30"):  # a CMS object (ExContent.bin is the bare content)
            seeds.append(Seed(f"rfc4134/{path.stem}", _wrap(der)))
    return seeds


def _party(name: str) -> Party:
    directory = PKI_DIR / "identities" / name
    data = files.identity_json(directory)
    return Party(directory, str(data["email"]), str(data["name"]), frozenset({"cps"}))


def _engine_messages(engine: str, workdir: Path) -> dict[str, bytes]:
    from conformance.agents.gnutls import GnutlsAgent
    from conformance.agents.go_pkcs7 import GoPkcs7Agent
    from conformance.agents.gpgsm import GpgsmAgent
    from conformance.agents.nss import NssAgent
    from conformance.agents.openssl import OpenSSLAgent
    from conformance.agents.tool_agent import ToolAgent
    from conformance.smime.options import EncryptOptions, SendOptions

    kinds: dict[str, type[ToolAgent]] = {
        "openssl": OpenSSLAgent,
        "nss": NssAgent,
        "gpgsm": GpgsmAgent,
        "go-pkcs7": GoPkcs7Agent,
        "gnutls": GnutlsAgent,
    }
    # Go's pkcs7 and certtool with their agent's defaults: what their library can do.
    own_defaults = engine in ("go-pkcs7", "gnutls")
    options = (
        None if own_defaults else SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15"))
    )
    agent = kinds[engine](options, workdir)
    sender, recipient = _party(SENDER), _party(RECIPIENT)
    made: dict[str, bytes] = {}
    try:
        for function in _FUNCTIONS:
            sent = agent.send(
                SendRequest(
                    function=function,
                    content=_CONTENT,
                    sender=sender,
                    recipients=(files.role_certificate(recipient.identity_dir, "encrypt"),),
                    recipient_emails=(recipient.email,),
                    recipient_parties=(recipient,),
                    subject="fuzz seed",
                )
            )
            if sent.message is not None:
                made[function] = sent.message
    finally:
        agent.close()
    return made


def engine_seeds(engines: tuple[str, ...] = tuple(ENGINE_TOOLS)) -> list[Seed]:
    """Messages of the real engines whose tools are installed, made once and kept."""
    seeds: list[Seed] = []
    base = cache_dir() / "fuzz" / "seeds"
    for engine in engines:
        if any(shutil.which(tool) is None for tool in ENGINE_TOOLS[engine]):
            continue
        folder = base / engine
        if not (folder / ".complete").exists():
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory() as work:
                for function, message in _engine_messages(engine, Path(work)).items():
                    (folder / f"{function}.eml").write_bytes(message)
            (folder / ".complete").write_text("ok\n")
        seeds += [Seed(f"{engine}/{p.stem}", p.read_bytes()) for p in sorted(folder.glob("*.eml"))]
    return seeds


def option_seeds() -> list[Seed]:
    """What the engine writes under options no golden profile uses (RSA-PSS, opaque signing,
    SHA-512, subject key identifiers, AES-GCM): their parameters are fields to mutate too.
    Made afresh (PSS salts and content keys are random); their bytes are not pinned."""
    from conformance.smime.compose import Headers, Operation, build_message
    from conformance.smime.options import EncryptOptions, SendOptions, SignOptions

    sender, recipient = _party(SENDER), _party(RECIPIENT)
    signer = files.key(sender, "sign", software=True)
    headers = Headers(from_addr=sender.email, to=[recipient.email], subject="fuzz seed")
    chain = intermediates(sender.identity_dir)
    to = [files.role_certificate(recipient.identity_dir, "encrypt")]
    variants: dict[str, tuple[Operation, SendOptions]] = {
        "pss-sign": ("sign", SendOptions(sign=SignOptions(algorithm="rsa-pss"))),
        "opaque-sha512-ski": (
            "sign",
            SendOptions(
                sign=SignOptions(format="opaque", digest="sha512", signer_identifier="ski")
            ),
        ),
        "gcm-pss-sign-encrypt": (
            "sign-encrypt",
            SendOptions(
                sign=SignOptions(algorithm="rsa-pss"),
                encrypt=EncryptOptions(content="aes128-gcm"),
            ),
        ),
    }
    return [
        Seed(f"engine/{name}", build_message(_CONTENT, op, options, signer, chain, to, headers))
        for name, (op, options) in variants.items()
    ]


# The attachment of the large seed: its sign-encrypt message (base64 twice) is then over
# `Limits().spool_above_bytes`, 4 MiB, the size from which a receiver reads from a spool.
LARGE_ATTACHMENT_BYTES = 2_400_000


def large_seeds() -> list[Seed]:
    """A letter with a binary attachment, signed and encrypted, over the receiver's spool
    threshold: its mutations are read from a spool, as the agents read a large message
    (the CMS objects too, their large contents left in the spool). Its randomness is
    seeded: the same bytes every time."""
    from conformance.smime.compose import Headers, build_message
    from conformance.smime.options import SendOptions

    sender, recipient = _party(SENDER), _party(RECIPIENT)
    mark = b"osm-fuzz-large"
    attachment = base64.encodebytes(random.Random(0).randbytes(LARGE_ATTACHMENT_BYTES))
    content = (
        b'Content-Type: multipart/mixed; boundary="' + mark + b'"\r\n\r\n--' + mark + b"\r\n"
        + _CONTENT + b"--" + mark + b"\r\nContent-Type: application/dicom\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + attachment.replace(b"\n", b"\r\n") + b"--" + mark + b"--\r\n"
    )  # fmt: skip
    message = build_message(
        content,
        "sign-encrypt",
        SendOptions(),
        files.key(sender, "sign", software=True),
        intermediates(sender.identity_dir),
        [files.role_certificate(recipient.identity_dir, "encrypt")],
        Headers(
            from_addr=sender.email,
            to=[recipient.email],
            subject="fuzz seed",
            date=datetime(2025, 7, 15, 10, 0, tzinfo=UTC),
            message_id="<large@osm-test.example>",
        ),
        rng=random.Random(1).randbytes,
    )
    return [Seed("engine/large-sign-encrypt", message)]


def load_seeds(*, engines: bool = True) -> list[Seed]:
    """Every seed: golden, RFC 4134, the engine's other options, and (when asked and
    installed) the real engines'."""
    seeds = [*golden_seeds(), *rfc4134_seeds(), *option_seeds()]
    return seeds + (engine_seeds() if engines else [])
