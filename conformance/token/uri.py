"""PKCS#11 URIs (RFC 7512): how a key on a token is named on the command line.

Example: ``pkcs11:token=OSM-TEST;object=pro01-sign;id=%0a%1b;type=private
?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so``.

Hand-written because no maintained Python library parses RFC 7512 (the
grammar is small: attributes split on ';' and '&', values percent-decoded with
urllib.parse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, unquote_to_bytes

from conformance.errors import UserError

SCHEME = "pkcs11:"
PATH_ATTRIBUTES = frozenset(
    {
        "token", "manufacturer", "serial", "model", "library-manufacturer",
        "library-description", "library-version", "object", "type", "id",
        "slot-description", "slot-manufacturer", "slot-id",
    }
)  # fmt: skip
QUERY_ATTRIBUTES = frozenset({"pin-value", "pin-source", "module-name", "module-path"})
OBJECT_TYPES = frozenset({"public", "private", "cert", "secret-key", "data"})
# RFC 7512 "pk11-res-avail" / "pk11-qchar" characters that need no escaping.
_PATH_SAFE = "-._~:[]@!$'()*+,="
_QUERY_SAFE = "-._~:[]@!$'()*+,=/?|"


@dataclass(frozen=True)
class Pkcs11Uri:
    """The attributes of a PKCS#11 URI that this project uses, decoded."""

    token: str | None = None
    object: str | None = None
    id: bytes | None = None
    type: str | None = None
    serial: str | None = None
    slot_id: int | None = None
    pin_value: str | None = None
    module_path: str | None = None
    module_name: str | None = None
    # Any other path or query attribute (standard or vendor "x-"), decoded.
    other: dict[str, bytes] = field(default_factory=dict)
    other_query: dict[str, bytes] = field(default_factory=dict)

    def __str__(self) -> str:
        return format_uri(self)


def _split(part: str, separator: str, uri: str, allowed: frozenset[str]) -> dict[str, bytes]:
    attributes: dict[str, bytes] = {}
    if not part:
        return attributes
    for item in part.split(separator):
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UserError(f"PKCS#11 URI {uri!r}: attribute {item!r} is not name=value")
        if name not in allowed and not name.startswith("x-"):
            raise UserError(f"PKCS#11 URI {uri!r}: unknown attribute {name!r}")
        if name in attributes:
            raise UserError(f"PKCS#11 URI {uri!r}: attribute {name!r} given twice")
        attributes[name] = unquote_to_bytes(value)
    return attributes


def _text(value: bytes, name: str, uri: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"PKCS#11 URI {uri!r}: attribute {name!r} is not UTF-8") from None


def parse_uri(uri: str) -> Pkcs11Uri:
    """Parse a `pkcs11:` URI; a malformed one is a UserError naming the attribute."""
    if not uri.lower().startswith(SCHEME):
        raise UserError(f"{uri!r} is not a PKCS#11 URI (it must start with 'pkcs11:')")
    body = uri[len(SCHEME) :]
    path, _, query = body.partition("?")
    attrs = _split(path, ";", uri, PATH_ATTRIBUTES)
    query_attrs = _split(query, "&", uri, QUERY_ATTRIBUTES)
    if "pin-value" in query_attrs and "pin-source" in query_attrs:
        raise UserError(f"PKCS#11 URI {uri!r}: pin-value and pin-source are exclusive")

    def text(name: str, source: dict[str, bytes]) -> str | None:
        value = source.pop(name, None)
        return None if value is None else _text(value, name, uri)

    object_type = text("type", attrs)
    if object_type is not None and object_type not in OBJECT_TYPES:
        raise UserError(
            f"PKCS#11 URI {uri!r}: type={object_type!r}; expected one of {sorted(OBJECT_TYPES)}"
        )
    slot_text = text("slot-id", attrs)
    try:
        slot_id = None if slot_text is None else int(slot_text, 10)
    except ValueError:
        raise UserError(f"PKCS#11 URI {uri!r}: slot-id={slot_text!r} is not a number") from None
    return Pkcs11Uri(
        token=text("token", attrs),
        object=text("object", attrs),
        id=attrs.pop("id", None),
        type=object_type,
        serial=text("serial", attrs),
        slot_id=slot_id,
        pin_value=text("pin-value", query_attrs),
        module_path=text("module-path", query_attrs),
        module_name=text("module-name", query_attrs),
        other=attrs,
        other_query=query_attrs,
    )


def format_uri(uri: Pkcs11Uri, *, with_pin: bool = True) -> str:
    """The canonical text of a URI (the id fully percent-encoded, as RFC 7512 advises)."""
    path: list[str] = []
    query: list[str] = []
    for name, value in (("token", uri.token), ("serial", uri.serial), ("object", uri.object)):
        if value is not None:
            path.append(f"{name}={quote(value, safe=_PATH_SAFE)}")
    if uri.slot_id is not None:
        path.append(f"slot-id={uri.slot_id}")
    if uri.id is not None:
        path.append("id=" + "".join(f"%{byte:02x}" for byte in uri.id))
    if uri.type is not None:
        path.append(f"type={uri.type}")
    pin = uri.pin_value if with_pin else None
    for name, value in (
        ("pin-value", pin),
        ("module-name", uri.module_name),
        ("module-path", uri.module_path),
    ):
        if value is not None:
            query.append(f"{name}={quote(value, safe=_QUERY_SAFE)}")
    path += [f"{name}={quote(raw, safe=_PATH_SAFE)}" for name, raw in sorted(uri.other.items())]
    query += [f"{n}={quote(raw, safe=_QUERY_SAFE)}" for n, raw in sorted(uri.other_query.items())]
    result = SCHEME + ";".join(path)
    return result + ("?" + "&".join(query) if query else "")
