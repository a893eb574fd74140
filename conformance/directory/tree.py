"""The directory tree built from the test PKI, modelled on the GIP-CPS directory, and its LDIF.

The GIP-CPS directory published each professional's certificates in
`userCertificate;binary` and each CA's CRL in `certificateRevocationList;binary`
(docs/design.md). No source at hand gives the rest of its tree: every such
choice is listed in ASSUMED, with its reason, and written at the head of the
LDIF, so a reader never takes it for the real directory's layout.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from conformance.core.vocabulary import ROLES
from conformance.pki.model import Identity, TestPKI

BASE_DN = "o=TEST GIP-CPS,c=FR"
CA_UNIT = "autorites"

# (what, why it is assumed): the parts of the tree no source gives.
ASSUMED: tuple[tuple[str, str], ...] = (
    (
        f"base {BASE_DN}",
        "the real directory's suffix is not in the source; TEST marks this one as the test copy",
    ),
    ("ou=<profession>", "one organizational unit per profession (médecin, pharmacien, ...)"),
    ("uid=<idNat>", "an entry per professional named by the national identifier (RPPS/ADELI)"),
    (
        "inetOrgPerson: cn, sn, givenName, mail, title=<profession>",
        "the standard person class; the profession in title, as in the certificates' subject",
    ),
    (
        "userCertificate;binary: auth, sign and encrypt together",
        "one multi-valued attribute: a sender picks the key-encipherment certificate itself",
    ),
    (
        f"cn=<CA>,ou={CA_UNIT}: pkiCA with cACertificate;binary, certificateRevocationList;binary",
        "the CAs under the base; a CRL is found by its issuer's common name (the test "
        "certificates carry no distribution point)",
    ),
)

Value = str | bytes


@dataclass
class Entry:
    """One LDAP entry: its DN and its attributes, each with its values in order."""

    dn: str
    attributes: dict[str, list[Value]] = field(default_factory=dict)

    def add(self, name: str, *values: Value) -> None:
        self.attributes.setdefault(name, []).extend(values)


@dataclass
class Tree:
    """The entries under `base`, parents before children (the order slapadd needs)."""

    base: str
    entries: list[Entry]

    def entry(self, dn: str) -> Entry | None:
        return next((e for e in self.entries if e.dn == dn), None)

    def ldif(self) -> str:
        head = ["# The CPS directory of the osm-conformance test PKI (TEST ONLY)."]
        head += ["# Assumed parts of the tree (no source gives them):"]
        head += [f"#   {what}: {why}" for what, why in ASSUMED]
        blocks = ["\n".join(head)]
        blocks += [_ldif_entry(e) for e in self.entries]
        return "\n\n".join(blocks) + "\n"


def escape_rdn(value: str) -> str:
    """An attribute value as RFC 4514 writes it in a DN (ldap3's own import costs a tenth of
    a second, which every `agent` call would pay)."""
    out = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if out[:1] in ("#", " "):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


def escape_filter(value: str) -> str:
    """An assertion value as RFC 4515 writes it in a search filter."""
    return "".join(f"\\{ord(c):02x}" if c in "*()\\\0" else c for c in value)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def unit_dn(profession: str, base: str = BASE_DN) -> str:
    return f"ou={escape_rdn(profession)},{base}"


def person_dn(identity: Identity, base: str = BASE_DN) -> str:
    return f"uid={escape_rdn(identity.idnat)},{unit_dn(identity.profession, base)}"


def ca_dn(cert: x509.Certificate, base: str = BASE_DN) -> str:
    return f"cn={escape_rdn(common_name(cert.subject))},ou={CA_UNIT},{base}"


def common_name(name: x509.Name) -> str:
    found = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(found[0].value) if found else name.rfc4514_string()


def person_entry(identity: Identity, base: str = BASE_DN) -> Entry:
    entry = Entry(person_dn(identity, base))
    entry.add("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson")
    entry.add("uid", identity.idnat)
    entry.add("cn", identity.name)
    entry.add("sn", identity.surname)
    entry.add("givenName", identity.given_name)
    entry.add("mail", identity.email)
    entry.add("title", identity.profession)
    entry.add("userCertificate;binary", *(der(identity.certificate(r)) for r in ROLES))
    return entry


def build_tree(
    pki: TestPKI, base: str = BASE_DN, identities: Iterable[Identity] | None = None
) -> Tree:
    """Every identity of the PKI (valid and defective; `identities` to choose) and its CAs."""
    people = sorted(pki.identities.values() if identities is None else identities, key=_order)
    top = Entry(base)
    top.add("objectClass", "top", "organization")
    top.add("o", _first_value(base))
    entries = [top]
    cas = Entry(f"ou={CA_UNIT},{base}")
    cas.add("objectClass", "top", "organizationalUnit")
    cas.add("ou", CA_UNIT)
    entries.append(cas)
    for cert in (pki.root, pki.intermediate):
        ca = Entry(ca_dn(cert, base))
        ca.add("objectClass", "top", "applicationProcess", "pkiCA")
        ca.add("cn", common_name(cert.subject))
        ca.add("cACertificate;binary", der(cert))
        for crl in pki.crls:
            if crl.issuer == cert.subject:
                ca.add("certificateRevocationList;binary", crl.public_bytes(Encoding.DER))
        entries.append(ca)
    for profession in sorted({p.profession for p in people}):
        unit = Entry(unit_dn(profession, base))
        unit.add("objectClass", "top", "organizationalUnit")
        unit.add("ou", profession)
        entries.append(unit)
    entries += [person_entry(p, base) for p in people]
    return Tree(base, entries)


def _order(identity: Identity) -> tuple[str, str]:
    return identity.profession, identity.id


def _first_value(dn: str) -> str:
    return dn.split(",", 1)[0].split("=", 1)[1]


# --- LDIF (RFC 2849) ---------------------------------------------------------------------


def _safe(value: str) -> bool:
    """A SAFE-STRING of RFC 2849: written as is; anything else is base64."""
    if not value:
        return True
    if value[0] in " :<" or value[-1] == " ":
        return False
    return all(0 < ord(c) < 128 and c not in "\r\n" for c in value)


def _line(name: str, value: Value) -> str:
    if isinstance(value, str) and _safe(value):
        text = f"{name}: {value}"
    else:
        raw = value.encode("utf-8") if isinstance(value, str) else value
        text = f"{name}:: {base64.b64encode(raw).decode('ascii')}"
    # Folded at 76 columns: a continuation line starts with one space.
    parts = [text[:76]] + [" " + text[i : i + 75] for i in range(76, len(text), 75)]
    return "\n".join(parts)


def _ldif_entry(entry: Entry) -> str:
    lines = [_line("dn", entry.dn)]
    for name, values in entry.attributes.items():
        lines += [_line(name, v) for v in values]
    return "\n".join(lines)
