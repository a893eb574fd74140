"""The product profile: one pydantic model per section, closed value sets.

A profile is data: everything in which one product differs from another.
The `send`, `receive` and `quirks` sections map one to one onto the engine
options of `conformance.smime.options` and reuse its Literal types, so a
value the engine does not implement cannot be written in a profile. Every
model forbids unknown keys, and every field has a description (the JSON
Schema and docs/profiles.md are generated from them).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from conformance.core.vocabulary import (
    AgentKind,
    Capabilities,
    CertificateSource,
    CmsTransferEncoding,
    ContentCipher,
    Digest,
    DirectoryFetch,
    Function,
    KeyTransport,
    SignatureAlgorithm,
)
from conformance.smime.options import (
    CertificatesIncluded,
    Charset,
    ContentEncoding,
    EncryptOptions,
    MediaTypes,
    MicalgCase,
    MimeOptions,
    Order,
    ReceiveOptions,
    ReceiveQuirks,
    RecipientIdentifier,
    SendOptions,
    SignatureFormat,
    SignedAttribute,
    SignOptions,
)

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
ProfileId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
SourceId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")]
Text = Annotated[str, StringConstraints(min_length=1)]

Kind = Literal["client", "webmail", "relay-client", "reference-engine", "builtin"]
Platform = Literal["windows", "macos", "linux", "web"]
HomologationStatus = Literal["osm", "pending", "none", "not-applicable"]
InteropClaim = Literal["yes", "partial", "no"]
ComplianceClaim = Literal["yes", "yes-but", "no"]
Integration = Literal["relay", "integrated", "both", "none"]
Ease = Literal["+", "++", "+++"]
SendFormat = Literal["smime", "apicrypt"]
ApicryptReading = Literal["none", "envelope-only", "full"]
KeyStore = Literal["card", "software"]
SourceKind = Literal["source-document", "vendor-statement", "engine-documentation", "project"]

T = TypeVar("T")


def _unique(values: list[T]) -> list[T]:
    seen: list[T] = []
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.append(value)
    return values


UniqueList = Annotated[
    list[T], AfterValidator(_unique), Field(json_schema_extra={"uniqueItems": True})
]


class Section(BaseModel):
    """Strict, closed, immutable: unknown keys and loose types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- provenance ---------------------------------------------------------------------


class Source(Section):
    """A document a fact can cite."""

    id: SourceId = Field(description="Short id that citations use.")
    title: Text = Field(description="What the source is, in a few words (English).")
    title_fr: Text | None = Field(
        default=None, description="The title in French, for the French pages of the report."
    )
    kind: SourceKind = Field(
        description="Source document, vendor statement, engine docs, or a project choice."
    )
    document: str | None = Field(default=None, description="File or reference of the document.")
    location: str | None = Field(
        default=None, description="Where in the document (slide, section, table)."
    )
    date: DateText | None = Field(
        default=None, description="Date of the facts it states (YYYY, YYYY-MM or YYYY-MM-DD)."
    )
    columns: UniqueList[ProfileId] | None = Field(
        default=None,
        description="For a table with one column per product: the profile ids of its columns, "
        "in the document's order (the report lays its table out in this order).",
    )


class Citation(Section):
    """Where a fact comes from: a cited source, or an assumption with its reason."""

    source: SourceId | None = Field(
        default=None, description="Id of the source the fact comes from."
    )
    quote: str | None = Field(default=None, description="The source's own words, verbatim.")
    note: str | None = Field(default=None, description="How the source's words became this value.")
    assumed: bool = Field(
        default=False,
        description="True when no source gives the fact: the value is a plausible choice.",
    )
    reason: str | None = Field(
        default=None, description="Why the assumed value was chosen (required when assumed)."
    )
    reason_fr: str | None = Field(
        default=None, description="The reason in French, for the French pages of the report."
    )
    column: ProfileId | None = Field(
        default=None,
        description="For a criteria fact quoted from the comparison table: the id of the "
        "profile whose column it quotes (lint: the profile's own id).",
    )
    copied_from: ProfileId | None = Field(
        default=None,
        description="Set by `profiles new`: the profile whose values this citation documents "
        "(copied into the draft as an assumption). A value the draft itself sets needs a "
        "citation of its own (lint).",
    )

    @property
    def label(self) -> str:
        """`sourced (where)` or `assumed (why)`, for reports."""
        if self.assumed:
            return f"assumed ({self.reason})"
        return f"sourced ({self.source})"


# --- identity, homologation, criteria -----------------------------------------------------


class Identity(Section):
    """What the product is."""

    name: Text = Field(description="Product name as the source document writes it.")
    name_fr: Text | None = Field(
        default=None,
        description="The name on French pages, where `name` is words rather than a brand "
        "(the suite's reference agent); deep-merged like every field, so a profile that "
        "extends one with it and renames itself sets its own (or null).",
    )
    vendor: str | None = Field(default=None, description="Publisher of the product.")
    kind: Kind = Field(
        description="client (mail client), webmail, relay-client (works beside the user's mail "
        "client), reference-engine (a real S/MIME engine run here), builtin (the project's agent)."
    )
    platforms: UniqueList[Platform] = Field(description="Platforms it runs on.")


class Homologation(Section):
    """Its OSM homologation by GIP-CPS."""

    status: HomologationStatus = Field(
        description="osm (homologated by GIP-CPS), pending, none (not homologable), "
        "not-applicable (reference engines)."
    )
    date: DateText | None = Field(default=None, description="Date the status was stated.")
    note: str | None = Field(default=None, description="Anything the status alone does not say.")


class MinimumConfiguration(Section):
    text: Text = Field(description="The comparison table's words (for example 'Sobre').")
    ram_mb: int | None = Field(
        default=None, gt=0, description="RAM it needs, in MB, where the source gives it."
    )
    disk_mb: int | None = Field(
        default=None, gt=0, description="Disk space it needs, in MB, where given."
    )


class Criteria(Section):
    """The rows of the source document's comparison table ('Comment choisir ?')."""

    interoperability: InteropClaim | None = Field(
        default=None, description="Claimed interoperability ('Interopérabilité')."
    )
    compliance: ComplianceClaim | None = Field(
        default=None,
        description="Compliance with the regulation; yes-but is the table's 'Oui mais'.",
    )
    compliance_note: str | None = Field(default=None, description="What the 'but' is.")
    proprietary: bool | None = Field(
        default=None, description="Proprietary format ('Solutions propriétaires')."
    )
    macintosh: bool | None = Field(
        default=None, description="Runs on the Macintosh ('Support du Macintosh')."
    )
    integration: Integration | None = Field(
        default=None,
        description="Integration in practice software ('Intégration dans les LGC'): "
        "relay ('Relais'), integrated ('Intégré'), both ('Relais et intégré').",
    )
    integrated_in: UniqueList[str] | None = Field(
        default=None, description="Practice software it is integrated in."
    )
    installation_ease: Ease | None = Field(
        default=None, description="Ease of installation, '+' to '+++'."
    )
    ease_of_use: bool | None = Field(
        default=None, description="Ease of use ('Facilité d'utilisation')."
    )
    minimum_configuration: MinimumConfiguration | None = Field(
        default=None, description="Minimum configuration of the workstation."
    )


# --- send -------------------------------------------------------------------------------


class Signature(Section):
    """How it signs; maps onto SignOptions (canonicalisation and micalg case are quirks)."""

    format: SignatureFormat = Field(
        description="multipart-signed (detached) or opaque signed-data."
    )
    digest: Digest = Field(description="Digest algorithm.")
    algorithm: SignatureAlgorithm = Field(description="Signature algorithm.")
    certificates: CertificatesIncluded = Field(description="Certificates put in the signature.")
    signed_attributes: UniqueList[SignedAttribute] = Field(
        description="Signed attributes; an empty list signs the content digest itself."
    )
    signer_identifier: RecipientIdentifier = Field(description="How the signer is identified.")


class Encryption(Section):
    """How it encrypts; maps onto EncryptOptions."""

    content: ContentCipher = Field(description="Content encryption algorithm.")
    key_transport: KeyTransport = Field(
        description="Key transport of the content key to each recipient."
    )
    recipient_identifier: RecipientIdentifier = Field(description="How recipients are identified.")
    encrypt_to_self: bool = Field(description="Also encrypts to the sender's own certificate.")


class Mime(Section):
    """How the message is written; maps onto MimeOptions."""

    media_types: MediaTypes = Field(
        description="modern application/pkcs7-* or legacy application/x-pkcs7-*."
    )
    cms_transfer_encoding: CmsTransferEncoding = Field(
        default="base64", description="Transfer encoding of the CMS parts."
    )
    content_encoding: ContentEncoding = Field(
        description="What it does to text parts before signing."
    )
    charset: Charset = Field(description="Charset of the text it writes.")
    name_parameters: bool = Field(description="Puts name=smime.p7m / smime.p7s on the CMS parts.")


class Send(Section):
    """What it sends and how (S/MIME options map onto SendOptions)."""

    format: SendFormat = Field(
        description="smime, or apicrypt (the project's model of the Apicrypt format)."
    )
    functions: UniqueList[Function] = Field(description="Functions it can send.")
    apicrypt_functions: UniqueList[Function] = Field(
        default_factory=list,
        description="Functions it can also send in the Apicrypt model format, to a recipient that "
        "holds an Apicrypt key (an S/MIME product that speaks some Apicrypt).",
    )
    order: Order | None = Field(
        default=None, description="Order of signing and encrypting (S/MIME only)."
    )
    signature: Signature | None = Field(
        default=None, description="Signature options (S/MIME only)."
    )
    encryption: Encryption | None = Field(
        default=None, description="Encryption options (S/MIME only)."
    )
    mime: Mime | None = Field(default=None, description="MIME options (S/MIME only).")
    recipient_certificate: CertificateSource = Field(
        default="manual",
        description="How it finds a recipient's encryption certificate: directory (looks the "
        "address up in the CPS directory over LDAP), prior-message (takes it from a signed "
        "message received earlier) or manual (imported by hand). Only a directory user can "
        "write to a colleague never met (function first-contact).",
    )


# --- receive ----------------------------------------------------------------------------


class SmimeReceive(Section):
    """What it accepts and requires in S/MIME; maps onto ReceiveOptions.

    A null accept list means anything the engine reads (used where it is observed, not declared).
    """

    ciphers: UniqueList[ContentCipher] | None = Field(description="Content ciphers it decrypts.")
    key_transports: UniqueList[KeyTransport] | None = Field(
        description="Key transports it decrypts."
    )
    digests: UniqueList[Digest] | None = Field(description="Digests it verifies.")
    signature_algorithms: UniqueList[SignatureAlgorithm] | None = Field(
        description="Signature algorithms it verifies."
    )
    formats: UniqueList[SignatureFormat] | None = Field(
        description="Signed message structures it reads."
    )
    media_types: UniqueList[MediaTypes] | None = Field(description="Media type families it reads.")
    require_signature: bool = Field(description="Refuses a message that is not signed.")
    require_encryption: bool = Field(description="Refuses a message that is not encrypted.")
    require_chain: bool = Field(
        description="Requires a chain to the health CA to authenticate the signer."
    )
    check_revocation: bool = Field(description="Checks the signer's certificate against the CRLs.")
    check_sender_address: bool = Field(
        description="Requires one author (one From: field with one mailbox, or a Sender: naming "
        "one when From: holds several) who is the signer certificate's address."
    )
    check_validity: bool = Field(
        description="Refuses a signer certificate outside its validity period (expired or not "
        "yet valid)."
    )
    check_key_usage: bool = Field(
        description="Requires the signer certificate's key usage and extended key usage to "
        "allow S/MIME signing (RFC 8550 4.4)."
    )


class ApicryptReceive(Section):
    """How far it reads the Apicrypt model format (a stand-in for the secret real one)."""

    reads: ApicryptReading = Field(
        description="none; envelope-only (decrypts, cannot check the Apicrypt signature); full."
    )
    holds_key: bool = Field(description="Holds an Apicrypt key issued by the association.")
    require_signature: bool = Field(
        description="Refuses an Apicrypt message that carries no Apicrypt signature."
    )


class Receive(Section):
    """What it reads: S/MIME, HPRIM-Net, the Apicrypt model."""

    functions: UniqueList[Function] = Field(description="Functions it can receive.")
    reads_hprim_net: bool = Field(
        description="Reads HPRIM-Net (HPRIM lab results in S/MIME with the CPS)."
    )
    smime: SmimeReceive | None = Field(
        description="S/MIME reading; null when it reads no S/MIME at all."
    )
    apicrypt: ApicryptReceive = Field(description="Apicrypt model reading.")
    directory_fetches: UniqueList[DirectoryFetch] = Field(
        default_factory=list,
        description="What it fetches from the CPS directory when it reads a message: crls "
        "(each CA's CRL from the CA's entry) and signers (the certificate of a signer the "
        "message does not carry, by issuer and serial).",
    )


# --- quirks, engine ---------------------------------------------------------------------


class Quirks(Section):
    """Named deviations from the standards, each an engine option. All off by default."""

    send_no_canonicalize: bool = Field(
        default=False,
        description="Signs without converting line endings to CRLF "
        "(SignOptions.canonicalize = false).",
    )
    send_micalg_case: MicalgCase = Field(
        default="lower",
        description="Case of the micalg parameter it writes (SignOptions.micalg_case).",
    )
    receive_strip_trailing_whitespace: bool = Field(
        default=False, description="Strips trailing blanks before verifying."
    )
    receive_no_canonicalize: bool = Field(
        default=False, description="Verifies over LF lines instead of CRLF."
    )
    receive_micalg_case_sensitive: bool = Field(
        default=False, description="Refuses micalg=SHA-256 when it expects sha-256."
    )
    receive_max_message_bytes: int | None = Field(
        default=None,
        gt=0,
        description="Refuses messages over this size (bytes) as too-large: a product's real "
        "limit, below the reference's 1 GiB.",
    )


# The engines the suite plays from the profile itself (the others are real tools or a
# vendor's adapter, measured as they are).
PROFILE_DRIVEN_ENGINES = ("builtin", "apicrypt-model")
# The engines that put their private keys where `engine.keys` says: the suite's own, and
# gpgsm (gpg-agent's own store, or the card through gnupg-pkcs11-scd). The other real
# tools keep them in their own store.
KEY_STORE_ENGINES = (*PROFILE_DRIVEN_ENGINES, "gpgsm")


class Engine(Section):
    """How the agent is realised."""

    type: AgentKind = Field(
        description="builtin (profile-driven engine), apicrypt-model, openssl, nss, gpgsm, "
        "go-pkcs7, gnutls, pkijs, bouncycastle, or command "
        "(a vendor adapter implementing the agent command line)."
    )
    argv: list[Text] | None = Field(
        default=None,
        min_length=1,
        description="Command and arguments (type command only); a word with a `/` that is "
        "not absolute is a path taken from the directory the suite is run in, not the "
        "profile's.",
    )
    executable: str | None = Field(
        default=None, description="Tool to run instead of the one on PATH (openssl, nss, gpgsm)."
    )
    timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds before a run of the tool is abandoned."
    )
    mime: Literal["engine", "suite"] = Field(
        default="engine",
        description="Who writes the MIME around the CMS: the engine itself, or the suite "
        "(the engine does CMS only; the report says 'CMS by <engine>')",
    )
    keys: KeyStore = Field(
        default="card",
        description="Where the engine keeps the user's private keys: card (the CPS card: a "
        "PKCS#11 token, SoftHSM2 standing in) or software (a key store in the program, as a "
        "modern mail client has). Honoured by builtin and gpgsm (card: gpg-agent reaches "
        "the card through gnupg-pkcs11-scd; software: gpg-agent's own store); the other "
        "engines keep their keys in their own store whatever it says (an adapter's profile "
        "inherits it from the profile it extends).",
    )


# --- the profile --------------------------------------------------------------------------

# Sections whose leaves are facts about the product (the rest is structure).
FACT_SECTIONS = ("identity", "homologation", "criteria", "send", "receive", "quirks", "engine")


class Profile(Section):
    """One product (or engine) as the matrix sees it."""

    id: ProfileId = Field(description="Profile id; equals the file name without .yaml.")
    extends: ProfileId | None = Field(
        default=None, description="Profile whose values this one starts from."
    )
    abstract: bool = Field(
        default=False, description="A base for others, not an agent of the matrix (not inherited)."
    )
    draft: bool = Field(
        default=False,
        description="Written by `profiles new` and not yet checked against a source: it plays "
        "in the matrix but stays out of the 2008 comparison table (not inherited).",
    )
    identity: Identity
    homologation: Homologation
    criteria: Criteria = Criteria()
    send: Send
    receive: Receive
    quirks: Quirks = Quirks()
    engine: Engine
    sources: list[Source] = Field(
        default_factory=list, description="Sources only this profile cites."
    )
    provenance: dict[str, Citation] = Field(
        default_factory=dict,
        description="Citation per fact: keys are dotted field paths "
        "(a section cites all its fields "
        "unless a longer path says otherwise).",
    )

    # --- engine options ---

    def send_options(self) -> SendOptions:
        """The engine's send options; only for S/MIME senders."""
        send = self.send
        if send.format != "smime" or not (
            send.signature and send.encryption and send.mime and send.order
        ):
            raise ValueError(f"profile {self.id!r} sends no S/MIME: it has no S/MIME send options")
        sig, enc, mime, quirks = send.signature, send.encryption, send.mime, self.quirks
        return SendOptions(
            sign=SignOptions(
                format=sig.format,
                digest=sig.digest,
                algorithm=sig.algorithm,
                certificates=sig.certificates,
                signed_attributes=frozenset(sig.signed_attributes),
                signer_identifier=sig.signer_identifier,
                canonicalize=not quirks.send_no_canonicalize,
                micalg_case=quirks.send_micalg_case,
            ),
            encrypt=EncryptOptions(
                content=enc.content,
                key_transport=enc.key_transport,
                recipient_identifier=enc.recipient_identifier,
                encrypt_to_self=enc.encrypt_to_self,
            ),
            mime=MimeOptions(
                media_types=mime.media_types,
                cms_transfer_encoding=mime.cms_transfer_encoding,
                content_encoding=mime.content_encoding,
                charset=mime.charset,
                name_parameters=mime.name_parameters,
            ),
            order=send.order,
        )

    def receive_options(self) -> ReceiveOptions:
        """The engine's receive options; only for S/MIME readers."""
        smime = self.receive.smime
        if smime is None:
            raise ValueError(
                f"profile {self.id!r} reads no S/MIME: it has no S/MIME receive options"
            )
        quirks = self.quirks
        return ReceiveOptions(
            ciphers=_frozen(smime.ciphers),
            key_transports=_frozen(smime.key_transports),
            digests=_frozen(smime.digests),
            signature_algorithms=_frozen(smime.signature_algorithms),
            formats=_frozen(smime.formats),
            media_types=_frozen(smime.media_types),
            require_signature=smime.require_signature,
            require_encryption=smime.require_encryption,
            require_chain=smime.require_chain,
            check_revocation=smime.check_revocation,
            check_sender_address=smime.check_sender_address,
            check_validity=smime.check_validity,
            check_key_usage=smime.check_key_usage,
            quirks=ReceiveQuirks(
                strip_trailing_whitespace=quirks.receive_strip_trailing_whitespace,
                no_canonicalize=quirks.receive_no_canonicalize,
                micalg_case_sensitive=quirks.receive_micalg_case_sensitive,
                max_message_bytes=quirks.receive_max_message_bytes,
            ),
        )

    def capabilities(self) -> Capabilities:
        """The functions it declares it sends and receives (in any format)."""
        send = frozenset(self.send.functions) | frozenset(self.send.apicrypt_functions)
        receive = frozenset(self.receive.functions)
        # A first contact is a signed and encrypted letter: whoever sends (reads) one may be
        # asked to, and whether it finds the certificate is what the cell measures. A vendor
        # adapter lists it itself: `send --to-address` is contract 4, which it may not speak.
        first: frozenset[Function] = (
            frozenset({"first-contact"}) if self.engine.type != "command" else frozenset()
        )
        return Capabilities(
            send=send | (first if "sign-encrypt" in send else frozenset()),
            receive=receive | (first if "sign-encrypt" in receive else frozenset()),
        )

    # --- provenance ---

    def citation(self, path: str) -> Citation | None:
        """The citation covering a dotted fact path: the longest provenance key that prefixes it."""
        key = self.citation_key(path)
        return None if key is None else self.provenance[key]

    def citation_key(self, path: str) -> str | None:
        """The provenance key covering a dotted fact path (lint asks which file wrote it)."""
        parts = path.split(".")
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            if key in self.provenance:
                return key
        return None

    def facts(self) -> list[tuple[str, Any, Citation | None]]:
        """Every known fact (dotted path, value, citation); unknown (null) facts are left out."""
        out: list[tuple[str, Any, Citation | None]] = []
        for name in FACT_SECTIONS:
            for path, value in _leaves(getattr(self, name), name):
                out.append((path, value, self.citation(path)))
        return out


def _frozen(values: list[T] | None) -> frozenset[T] | None:
    return None if values is None else frozenset(values)


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, BaseModel):
        out: list[tuple[str, Any]] = []
        for name in type(value).model_fields:
            out.extend(_leaves(getattr(value, name), f"{path}.{name}"))
        return out
    return [] if value is None else [(path, value)]


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The model class inside an annotation such as `Signature | None`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = section_model(arg)
        if found is not None:
            return found
    return None


def field_paths(model: type[BaseModel] = Profile, prefix: str = "") -> set[str]:
    """Every dotted path of a fact field (sections and leaves), for provenance keys."""
    paths: set[str] = set()
    names = FACT_SECTIONS if model is Profile else tuple(model.model_fields)
    for name in names:
        path = f"{prefix}{name}"
        paths.add(path)
        sub = section_model(model.model_fields[name].annotation)
        if sub is not None:
            paths |= field_paths(sub, f"{path}.")
    return paths
