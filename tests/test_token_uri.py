"""PKCS#11 URI parsing (RFC 7512) and its errors."""

from __future__ import annotations

import pytest

from conformance.errors import UserError
from conformance.token.uri import Pkcs11Uri, format_uri, parse_uri


def test_parse_full_uri() -> None:
    uri = parse_uri(
        "pkcs11:token=OSM-TEST;object=pro01-sign;id=%0a%1B%ff;type=private"
        "?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so"
    )
    assert uri.token == "OSM-TEST"
    assert uri.object == "pro01-sign"
    assert uri.id == b"\x0a\x1b\xff"
    assert uri.type == "private"
    assert uri.pin_value == "1234"
    assert uri.module_path == "/usr/lib/softhsm/libsofthsm2.so"
    assert uri.other == {} and uri.other_query == {}


def test_rfc7512_examples_and_escapes() -> None:
    # Examples in the spirit of RFC 7512 section 3.1: escaped spaces, vendor attributes.
    uri = parse_uri(
        "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc."
    )
    assert uri.token == "Software PKCS#11 softtoken"
    assert uri.other == {"manufacturer": b"Snake Oil, Inc."}
    assert parse_uri("pkcs11:").token is None
    vendor = parse_uri("pkcs11:object=a;x-vendor=b?x-q=c")
    assert vendor.other == {"x-vendor": b"b"} and vendor.other_query == {"x-q": b"c"}
    assert parse_uri("PKCS11:slot-id=3").slot_id == 3


def test_format_round_trip() -> None:
    original = Pkcs11Uri(
        token="OSM TEST;x",
        object="pro01-sign",
        id=bytes(range(0, 256, 51)),
        type="private",
        pin_value="12&34",
        module_path="/usr/lib/softhsm/libsofthsm2.so",
    )
    text = format_uri(original)
    assert text.startswith("pkcs11:token=OSM%20TEST%3Bx;object=pro01-sign;id=%00%33%66")
    assert "pin-value=12%2634" in text
    assert parse_uri(text) == original
    assert "pin-value" not in format_uri(original, with_pin=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file:/x", "is not a PKCS#11 URI"),
        ("pkcs11:object", "is not name=value"),
        ("pkcs11:colour=red", "unknown attribute 'colour'"),
        ("pkcs11:object=a;object=b", "given twice"),
        ("pkcs11:type=secret", "type='secret'"),
        ("pkcs11:slot-id=x", "slot-id='x' is not a number"),
        ("pkcs11:object=a?pin-value=1&pin-source=f", "exclusive"),
        ("pkcs11:object=%ff", "not UTF-8"),
        ("pkcs11:object=a?token=b", "unknown attribute 'token'"),
    ],
)
def test_malformed_uris_are_user_errors(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        parse_uri(text)
