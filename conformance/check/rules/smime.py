"""S/MIME layer rules: media types, smime-type, names, multipart/signed parameters, micalg."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.check.catalogue import Outcome, not_checked, rule
from conformance.check.context import Context
from conformance.check.layers import PKCS7_SIGNATURE, CmsLayer, is_cms_part
from conformance.check.rules import EIGHT_BIT
from conformance.check.tree import Node
from conformance.core import oids
from conformance.core.apicrypt_mark import is_apicrypt
from conformance.core.bilingual import SEMICOLON, Bilingual
from conformance.core.cms import SMIME_CONTENT_TYPES

# RFC 5751 / 8551 3.5.3.2 names, and the RFC 3851 spellings still met in 2008.
MICALG_RFC5751 = {
    "sha-1": "sha1",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
    "md5": "md5",
}
MICALG_RFC3851 = {"sha1": "sha1"}


def _signed_multiparts(context: Context) -> list[Node]:
    return [n for n in context.nodes if n.content_type == "multipart/signed"]


def _cms_parts(context: Context) -> list[Node]:
    """Every part that carries a CMS object: pkcs7-mime parts and signature parts."""
    found = [n for n in context.nodes if is_cms_part(n)]
    for node in _signed_multiparts(context):
        if len(node.children) >= 2:
            found.append(node.children[1])
    return sorted(found, key=lambda n: n.path)


def _layer_of(context: Context, part: Node) -> CmsLayer | None:
    return next((layer for layer in context.layers if layer.part is part), None)


@rule(
    "SMIME-001",
    "S/MIME media types are the standard ones",
    "RFC 8551 3.2 / 3.2.1",
    "application/pkcs7-mime and application/pkcs7-signature; the legacy x-pkcs7-* types "
    "(and application/octet-stream named .p7m) are read by most agents but are not standard.",
)
def media_types(context: Context) -> Iterator[Outcome]:
    for part in _cms_parts(context):
        ctype = part.content_type
        modern = (
            "application/pkcs7-signature" if ctype in PKCS7_SIGNATURE else "application/pkcs7-mime"
        )
        yield Outcome(part.path, ctype == modern, ctype, modern)
    for node in _signed_multiparts(context):
        protocol = (node.param("protocol") or "").lower()
        if protocol.startswith("application/x-"):
            yield Outcome(node.path, False, f'protocol="{protocol}"', "application/pkcs7-signature")


@rule(
    "SMIME-002",
    "smime-type present and right",
    "RFC 8551 3.2.2",
    "An application/pkcs7-mime part names what its CMS object is: signed-data, "
    "enveloped-data, authEnveloped-data or certs-only, matching the object (an object of "
    "no S/MIME type is CMS-001's).",
)
def smime_type(context: Context) -> Iterator[Outcome]:
    for part in _cms_parts(context):
        if part.content_type in PKCS7_SIGNATURE:
            continue
        declared = part.param("smime-type")
        layer = _layer_of(context, part)
        if layer is not None and layer.content_type not in ("", *SMIME_CONTENT_TYPES):
            continue  # no smime-type names such an object: CMS-001 reports it
        actual = None
        if layer is not None and layer.content_type:
            actual = layer.name
            if layer.signed is not None and not layer.signed.signers:
                actual = "certs-only"
        expected = (
            Bilingual.same(f"smime-type={actual}")
            if actual
            else Bilingual("un paramètre smime-type", "an smime-type parameter")
        )
        if declared is None:
            found = Bilingual("aucun paramètre smime-type", "no smime-type parameter")
            yield Outcome(part.path, False, found, expected)
        elif actual is not None and declared.lower() != actual.lower():
            found = Bilingual(
                f"smime-type={declared}, mais l'objet CMS est {actual}",
                f"smime-type={declared}, but the CMS object is {actual}",
            )
            yield Outcome(part.path, False, found, expected)
        else:
            yield Outcome(part.path, True, f"smime-type={declared}", expected)


def _expected_extension(part: Node, context: Context) -> str:
    if part.content_type in PKCS7_SIGNATURE:
        return ".p7s"
    layer = _layer_of(context, part)
    if layer is not None and layer.signed is not None and not layer.signed.signers:
        return ".p7c"
    return ".p7m"


@rule(
    "SMIME-003",
    "CMS parts named smime.p7m / smime.p7s",
    "RFC 8551 3.2.1",
    "A name (or filename) parameter with the extension of the CMS object, which many "
    "agents use to recognise S/MIME.",
)
def name_parameters(context: Context) -> Iterator[Outcome]:
    for part in _cms_parts(context):
        extension = _expected_extension(part, context)
        name = part.param("name") or part.param("filename", "content-disposition")
        expected = f"name=smime{extension}"
        if name is None:
            found = Bilingual("aucun paramètre name ni filename", "no name or filename parameter")
            yield Outcome(part.path, False, found, expected)
        else:
            ok = name.lower().endswith(extension)
            wanted = Bilingual(
                f"un nom se terminant par {extension}", f"a name ending in {extension}"
            )
            yield Outcome(part.path, ok, f'name="{name}"', wanted)


@rule(
    "SMIME-004",
    "multipart/signed protocol exact",
    "RFC 1847 2.1 / RFC 8551 3.5.3",
    "The protocol parameter is present and is exactly the signature part's type "
    "(application/pkcs7-signature).",
)
def protocol(context: Context) -> Iterator[Outcome]:
    for node in _signed_multiparts(context):
        value = node.param("protocol")
        signature = node.children[1].content_type if len(node.children) >= 2 else None
        expected = signature if signature in PKCS7_SIGNATURE else "application/pkcs7-signature"
        if value is None:
            found = Bilingual("aucun paramètre protocol", "no protocol parameter")
            yield Outcome(node.path, False, found, f'protocol="{expected}"')
        else:
            ok = value.lower() == expected and value.lower() in PKCS7_SIGNATURE
            yield Outcome(node.path, ok, f'protocol="{value}"', f'protocol="{expected}"')


@rule(
    "SMIME-005",
    "micalg present",
    "RFC 8551 3.5.3 / 3.5.3.2",
    "multipart/signed carries the micalg parameter naming the digest of the signature.",
)
def micalg_present(context: Context) -> Iterator[Outcome]:
    for node in _signed_multiparts(context):
        value = node.param("micalg")
        expected = Bilingual(
            "un paramètre micalg (sha-256, ...)", "a micalg parameter (sha-256, ...)"
        )
        found = (
            Bilingual.same(f"micalg={value}")
            if value
            else Bilingual("aucun paramètre micalg", "no micalg parameter")
        )
        yield Outcome(node.path, bool(value), found, expected)


def _signer_digests(context: Context, node: Node) -> list[str]:
    if len(node.children) < 2:
        return []
    layer = _layer_of(context, node.children[1])
    if layer is None or layer.signed is None:
        return []
    return sorted({s.digest for s in layer.signed.signers})


def _micalg_tokens(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


@rule(
    "SMIME-006",
    "micalg equals the digest used",
    "RFC 8551 3.5.3.2 / RFC 5751 3.4.3.2",
    "Each micalg value names, exactly (compared case-insensitively, whole names only), a digest "
    "algorithm the SignerInfos use, and every SignerInfo digest is named.",
)
def micalg_matches(context: Context) -> Iterator[Outcome]:
    names = {**MICALG_RFC5751, **MICALG_RFC3851}
    for node in _signed_multiparts(context):
        value = node.param("micalg")
        digests = _signer_digests(context, node)
        if not value or not digests:
            continue
        expected_names = ", ".join(f"sha-{d[3:]}" if d.startswith("sha") else d for d in digests)
        tokens = _micalg_tokens(value)
        named = {names.get(t.lower(), f"?{t}") for t in tokens}
        ok = named == set(digests)
        used = ", ".join(digests)
        found = Bilingual(
            f"micalg={value} ; condensé du SignerInfo {used}",
            f"micalg={value}; SignerInfo digest {used}",
        )
        yield Outcome(node.path, ok, found, f"micalg={expected_names}")


@rule(
    "SMIME-007",
    "micalg in lower case",
    "RFC 8551 3.5.3.2",
    "Values are case-insensitive, but the RFC writes them in lower case and some agents "
    "compare them exactly: upper case is reported.",
)
def micalg_case(context: Context) -> Iterator[Outcome]:
    for node in _signed_multiparts(context):
        value = node.param("micalg")
        if value:
            yield Outcome(
                node.path, value == value.lower(), f"micalg={value}", f"micalg={value.lower()}"
            )


@rule(
    "SMIME-008",
    "micalg uses the RFC 5751 names",
    "RFC 5751 3.4.3.2 / RFC 8551 3.5.3.2",
    "sha-1, sha-256, sha-384, sha-512; the RFC 3851 spelling sha1 is reported.",
)
def micalg_names(context: Context) -> Iterator[Outcome]:
    for node in _signed_multiparts(context):
        value = node.param("micalg")
        if not value:
            continue
        bad = [t for t in _micalg_tokens(value) if t.lower() not in MICALG_RFC5751]
        found = Bilingual.same(f"micalg={value}")
        if bad:
            names = ", ".join(bad)
            found += Bilingual(
                f" ({names} : pas un nom de la RFC 5751)", f" ({names} not an RFC 5751 name)"
            )
        wanted = Bilingual(
            "sha-1, sha-256, sha-384 ou sha-512", "sha-1, sha-256, sha-384 or sha-512"
        )
        yield Outcome(node.path, not bad, found, wanted)


def _eight_bit_leaves(node: Node) -> list[Bilingual]:
    """The leaves that are not 7-bit, each saying why: declared 8bit or binary, or holding
    8-bit octets under a 7-bit declaration (then the part is mislabelled, MIME-006)."""
    found = []
    for part in node.walk():
        if part.is_multipart:
            continue
        cte = part.transfer_encoding
        if cte in ("8bit", "binary"):
            found.append(
                Bilingual(f"partie {part.path} déclarée {cte}", f"part {part.path} declared {cte}")
            )
        elif part.search_body(EIGHT_BIT):
            found.append(
                Bilingual(
                    f"la partie {part.path} contient des octets 8 bits bien que déclarée {cte}",
                    f"part {part.path} holds 8-bit octets though declared {cte}",
                )
            )
    return found


@rule(
    "SMIME-009",
    "Signed content is 7-bit",
    "RFC 8551 3.1.2 / 3.1.3",
    "The content of a multipart/signed is transfer-encoded to 7 bits (quoted-printable or base64) "
    "so that no relay re-encodes it, which would break the signature.",
)
def signed_seven_bit(context: Context) -> Iterator[Outcome]:
    expected = Bilingual(
        "des parties 7bit, quoted-printable ou base64 seulement",
        "7bit, quoted-printable or base64 parts only",
    )
    for node in _signed_multiparts(context):
        if not node.children:
            continue
        bad = _eight_bit_leaves(node.children[0])
        found = SEMICOLON.join(bad) if bad else Bilingual("7 bits", "7-bit")
        yield Outcome(node.children[0].path, not bad, found, expected)


@rule(
    "SMIME-010",
    "multipart/signed has content and signature",
    "RFC 1847 2.1 / RFC 8551 3.5.3",
    "Exactly two body parts: the signed content, then the signature of the protocol's type.",
)
def two_parts(context: Context) -> Iterator[Outcome]:
    for node in _signed_multiparts(context):
        count = len(node.children)
        expected = Bilingual(
            "2 parties, la seconde application/pkcs7-signature",
            "2 parts, the second application/pkcs7-signature",
        )
        if count != 2:
            found = Bilingual(f"{count} partie(s)", f"{count} part(s)")
            yield Outcome(node.path, False, found, expected)
            continue
        second = node.children[1].content_type
        ok = second in PKCS7_SIGNATURE
        found = Bilingual(f"2 parties, la seconde {second}", f"2 parts, the second {second}")
        yield Outcome(node.path, ok, found, expected)


@rule(
    "SMIME-011",
    "CMS parts are base64-encoded",
    "RFC 8551 3.1.3 / 3.2",
    "The binary CMS object is carried in base64, the only encoding that survives every transport.",
)
def cms_base64(context: Context) -> Iterator[Outcome]:
    for part in _cms_parts(context):
        cte = part.transfer_encoding
        yield Outcome(part.path, cte == "base64", f"Content-Transfer-Encoding: {cte}", "base64")


# The CMS types that protect what they carry: signed (a SignedData without signers too, which
# CMS-011 reports) or encrypted.
_PROTECTING = SMIME_CONTENT_TYPES - {oids.COMPRESSED_DATA}  # compressed-data protects nothing


@rule(
    "SMIME-012",
    "Message signed or encrypted",
    "RFC 8551 3.3 / 3.4 / 3.5 / 3.7",
    "The message has an S/MIME layer: a multipart/signed, or an application/pkcs7-mime part "
    "holding a SignedData, an EnvelopedData or an AuthEnvelopedData. A message with none, or "
    "whose CMS objects are of another type (a bare id-data), is not an S/MIME secure message "
    "(an Apicrypt message, protected in its own format, neither). A compressed-data object, "
    "which is not opened, leaves it not checked.",
)
def protected(context: Context) -> Iterator[Outcome]:
    layers = context.layers
    expected = Bilingual(
        "une couche S/MIME : signé, chiffré ou les deux",
        "an S/MIME layer: signed, encrypted or both",
    )
    protecting = [layer for layer in layers if layer.content_type in _PROTECTING]
    if protecting:
        shown = Bilingual(
            ", ".join(f"{layer.name} (partie {layer.part.path})" for layer in protecting),
            ", ".join(f"{layer.name} (part {layer.part.path})" for layer in protecting),
        )
        yield Outcome("1", True, shown, expected)
    elif any(not layer.content_type for layer in layers):
        return  # an unreadable CMS object: CMS-001 reports it, nothing to say of its kind
    elif any(layer.content_type == oids.COMPRESSED_DATA for layer in layers):
        found = Bilingual(
            "non vérifié : le contenu de compressed-data n'est pas ouvert",
            "not checked: the content of compressed-data is not opened",
        )
        yield not_checked("1", found, expected)
    else:
        found = Bilingual(
            "aucune couche S/MIME : ni signé ni chiffré en S/MIME",
            "no S/MIME layer: neither signed nor encrypted with S/MIME",
        )
        if layers:
            names = ", ".join(sorted({layer.name for layer in layers}))
            found += Bilingual(
                f" (objet(s) CMS de type {names} seulement)",
                f" (CMS object(s) of type {names} only)",
            )
        elif is_apicrypt(context.message):  # named, so that a reader knows what it is
            found += Bilingual(
                " : un message du modèle d'Apicrypt de la suite (docs/apicrypt-model.md), "
                "protégé dans son propre format, par son relais",
                ": a message of the suite's Apicrypt model (docs/apicrypt-model.md), "
                "protected in its own format, through its relay",
            )
        yield Outcome("1", False, found, expected)
