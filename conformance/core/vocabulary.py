"""The shared vocabulary: the names every layer speaks, each defined once.

The PKI, the token, the engine, the profiles, the agents, the matrix and the
reports all speak of certificate roles, functions, security services, parties
and the real tools. When each package defined its own copy the copies could
drift, and a package needing another's name had to import it, which is how
the packages came to import each other in a circle. Here, below everything,
they share the names without depending on one another. This module imports
nothing from the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

# The three keys and certificates of a professional: the CPS card's
# authentication and signature keys, and the encryption key issued beside it.
Role = Literal["auth", "sign", "encrypt"]
ROLES: tuple[Role, ...] = get_args(Role)

# What a user does with a product; the matrix has one column per function.
# first-contact: a signed and encrypted letter to a colleague never met, whose
# certificate the sender must find itself (in the directory, issue 19).
Function = Literal["sign", "encrypt", "sign-encrypt", "hprim-net", "attachments", "first-contact"]
FUNCTIONS: tuple[Function, ...] = get_args(Function)
# How a sender finds a recipient's encryption certificate (a profile's
# send.recipient_certificate): in the CPS directory (LDAP), from a signed message
# received earlier, or imported by hand.
CertificateSource = Literal["directory", "prior-message", "manual"]
CERTIFICATE_SOURCES: tuple[CertificateSource, ...] = get_args(CertificateSource)
# What a receiver may fetch from the directory: CRLs (from the CA's entry) and the
# certificate of a signer the message does not carry.
DirectoryFetch = Literal["crls", "signers"]

# The four security services every report speaks of, spelled as in the status JSON.
Service = Literal["authentication", "integrity", "non_repudiation", "confidentiality"]
SERVICES: tuple[Service, ...] = get_args(Service)

# What runs an agent: the built-in engine, the Apicrypt model, a real tool, or
# a vendor's adapter command (a profile's `engine.type`).
AgentKind = Literal[
    "builtin",
    "apicrypt-model",
    "openssl",
    "nss",
    "gpgsm",
    "go-pkcs7",
    "gnutls",
    "pkijs",
    "bouncycastle",
    "command",
]
AGENT_KINDS: tuple[AgentKind, ...] = get_args(AgentKind)
# The real S/MIME tools the suite drives beside the profiles.
RealTool = Literal["openssl", "nss", "gpgsm", "go-pkcs7", "gnutls", "pkijs", "bouncycastle"]
REAL_TOOLS: tuple[RealTool, ...] = get_args(RealTool)
# What an agent's cells measure, from the least to the most real (results.json
# `measurement`): a profile played by the suite's engine, the Apicrypt model,
# the suite's own reference agent, a real S/MIME tool, a vendor's adapter
# driving the real product, messages of the real product observed by hand.
Measurement = Literal[
    "simulated", "model", "suite-reference", "real-engine", "real-adapter", "real-vectors"
]
MEASUREMENTS: tuple[Measurement, ...] = get_args(Measurement)
# The measurements of real software: what "real implementations only" keeps.
REAL_MEASUREMENTS: frozenset[Measurement] = frozenset(
    {"real-engine", "real-adapter", "real-vectors"}
)
# A product's own interoperability is a measurement only when the product itself ran.
PRODUCT_MEASUREMENTS: frozenset[Measurement] = frozenset({"real-adapter", "real-vectors"})


def measurement_of(engine: str, kind: str, observed_by_hand: bool = False) -> Measurement:
    """What an agent's cells measure, from what runs it (the one place this is decided).

    `engine` is a profile's `engine.type` (or `real-product` for messages a person made
    with the real product), `kind` its `identity.kind` (`builtin` is the suite's own
    reference agent).
    """
    if observed_by_hand or engine == "real-product":
        return "real-vectors"
    if engine == "command":
        return "real-adapter"
    if engine in REAL_TOOLS:
        return "real-engine"
    if engine == "apicrypt-model":
        return "model"
    if kind == "builtin":
        return "suite-reference"
    return "simulated"


# The agents that run in a process of their own: they draw their randomness
# themselves (the seed of a run cannot reproduce their messages), and their
# cells take several times longer.
PROCESS_AGENTS: tuple[AgentKind, ...] = (*REAL_TOOLS, "command")

# The languages of what a person reads (the reports, `check`); French first, the default.
Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "fr"

# Algorithm names, shared by the engine's options, the profiles and the token.
Digest = Literal["sha1", "sha256", "sha384", "sha512"]
DIGESTS: tuple[Digest, ...] = get_args(Digest)
SignatureAlgorithm = Literal["rsa-pkcs1v15", "rsa-pss"]
SIGNATURE_ALGORITHMS: tuple[SignatureAlgorithm, ...] = get_args(SignatureAlgorithm)
KeyTransport = Literal["rsa-pkcs1v15", "rsa-oaep-sha1", "rsa-oaep-sha256"]
KEY_TRANSPORTS: tuple[KeyTransport, ...] = get_args(KeyTransport)
ContentCipher = Literal[
    "des-ede3-cbc",
    "rc2-40-cbc",
    "rc2-128-cbc",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "aes128-gcm",  # AuthEnvelopedData (RFC 5083/5084)
    "aes256-gcm",  # AuthEnvelopedData (RFC 5083/5084)
]
CONTENT_CIPHERS: tuple[ContentCipher, ...] = get_args(ContentCipher)
# Every artefact of the Apicrypt model (key files, messages) carries this label,
# so that none is taken for the real, secret format (docs/apicrypt-model.md).
MODEL_LABEL = "osm-conformance model of Apicrypt (NOT the real Apicrypt format)"

# How the CMS blob is written in the message: the engine and the profiles offer one.
CmsTransferEncoding = Literal["base64"]


@dataclass(frozen=True)
class Party:
    """A professional as an agent sees it: an exported identity directory.

    `identity_dir` follows the PKI export layout (sign.pem, sign.key.pem,
    encrypt.pem, ..., identity.json). Agents that use a token address the keys
    through it; agents that run a tool import the files.
    """

    identity_dir: Path
    email: str
    name: str
    # The directories ("annuaires") this professional is listed in: "cps" (the
    # health CA's, for S/MIME) and/or "apicrypt" (the association's). A sender
    # looks the recipient up there to choose what format it can use.
    directories: frozenset[str] = frozenset({"cps"})
    # PKCS#11 URIs (RFC 7512) for keys kept on a token instead of in the directory,
    # as (role, uri) pairs: a real CPS card, for instance.
    key_uris: tuple[tuple[str, str], ...] = ()

    def key_uri(self, role: str) -> str | None:
        return dict(self.key_uris).get(role)


@dataclass(frozen=True)
class Capabilities:
    """The functions an agent sends and receives (a profile declares them)."""

    send: frozenset[Function]
    receive: frozenset[Function]
