"""The security status of a received message: the agent contract's JSON.

One shape for every agent (built-in engine, real engines, vendor adapters),
documented in docs/agent-cli.md. Error codes are stable strings; each maps to
a process exit code so that an adapter's outcome can be told apart without
parsing its output.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

# The version of the agent contract (docs/agent-cli.md): the status JSON, the exit codes and
# the capabilities. Every change to the contract bumps it and updates the exit-code table.
# 2: the status JSON gains `coverage` (the MIME parts each service covers) and
# `contract_version`; capabilities gain `contract_version`.
# 3: the harness protocol "osm-harness/1" (`serve`), declared in capabilities' `protocols`.
# 4: the error code `too-large` (exit 17): a message over the receiver's size limit is not
# malformed; `send --to-address MAIL --directory ldap://HOST:PORT/BASE` (the sender finds
# the certificate in the CPS directory), the function first-contact, the error code
# no-recipient-certificate (exit 18).
CONTRACT_VERSION = 4
WHOLE_MESSAGE = "message"  # the coverage name of the whole message


class ErrorCode(StrEnum):
    NO_SIGNATURE = "no-signature"  # a signature was required and there is none
    BAD_SIGNATURE = "bad-signature"  # the signature does not verify over what arrived
    UNTRUSTED_SIGNER = "untrusted-signer"  # no valid chain to the trust anchors
    REVOKED_SIGNER = "revoked-signer"  # the signer's certificate is on a CRL
    SIGNER_MISMATCH = (
        "signer-mismatch"  # the author (From:, Sender:) is ambiguous or not the signer
    )
    CANNOT_DECRYPT = "cannot-decrypt"  # not for me, no key, or the token refused
    NOT_ENCRYPTED = "not-encrypted"  # encryption was required and there is none
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    UNSUPPORTED_FORMAT = "unsupported-format"  # not a format it reads (S/MIME vs Apicrypt model)
    UNSUPPORTED_FUNCTION = "unsupported-function"
    MALFORMED = "malformed"  # not MIME, not CMS, over a structure limit, inconsistent
    # well formed or not, over the receiver's size limit (bytes, or ASN.1 elements, which grow
    # with the size): not read
    TOO_LARGE = "too-large"
    # A sender found no usable certificate for a recipient: none given, or the directory
    # lookup failed (absent, no encryption certificate, expired, revoked, down, timeout).
    NO_RECIPIENT_CERTIFICATE = "no-recipient-certificate"
    INTERNAL = "internal"  # the agent itself broke: a harness error, never a verdict


EXIT_CODES: dict[ErrorCode, int] = {
    ErrorCode.NO_SIGNATURE: 10,
    ErrorCode.BAD_SIGNATURE: 11,
    ErrorCode.UNTRUSTED_SIGNER: 12,
    ErrorCode.REVOKED_SIGNER: 12,
    ErrorCode.SIGNER_MISMATCH: 12,
    ErrorCode.CANNOT_DECRYPT: 13,
    ErrorCode.NOT_ENCRYPTED: 13,
    ErrorCode.UNSUPPORTED_ALGORITHM: 14,
    ErrorCode.UNSUPPORTED_FORMAT: 14,
    ErrorCode.UNSUPPORTED_FUNCTION: 15,
    ErrorCode.MALFORMED: 16,
    ErrorCode.TOO_LARGE: 17,
    ErrorCode.NO_RECIPIENT_CERTIFICATE: 18,
    ErrorCode.INTERNAL: 70,
}

# When several errors are present the exit code is that of the first in this order:
# what stopped the reading comes before what was found about a signature.
PRECEDENCE: list[ErrorCode] = [
    ErrorCode.INTERNAL,
    ErrorCode.MALFORMED,
    ErrorCode.TOO_LARGE,
    ErrorCode.UNSUPPORTED_FUNCTION,
    ErrorCode.NO_RECIPIENT_CERTIFICATE,
    ErrorCode.UNSUPPORTED_FORMAT,
    ErrorCode.CANNOT_DECRYPT,
    ErrorCode.UNSUPPORTED_ALGORITHM,
    ErrorCode.NOT_ENCRYPTED,
    ErrorCode.BAD_SIGNATURE,
    ErrorCode.REVOKED_SIGNER,
    ErrorCode.UNTRUSTED_SIGNER,
    ErrorCode.SIGNER_MISMATCH,
    ErrorCode.NO_SIGNATURE,
]

CODE_BY_EXIT: dict[int, ErrorCode] = {}
for _code in reversed(PRECEDENCE):
    CODE_BY_EXIT.setdefault(EXIT_CODES[_code], _code)


@dataclass
class StatusError:
    # The status JSON is a contract: an unknown key is an adapter's mistake, named as such
    # (and `additionalProperties: false` in docs/status.schema.json).
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    code: ErrorCode
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


@dataclass
class Signer:
    # The status JSON is a contract: an unknown key is an adapter's mistake, named as such
    # (and `additionalProperties: false` in docs/status.schema.json).
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    subject: str
    email: str | None
    idnat: str | None
    non_repudiation: bool  # the certificate's key usage allows non-repudiation


@dataclass
class Algorithms:
    # The status JSON is a contract: an unknown key is an adapter's mistake, named as such
    # (and `additionalProperties: false` in docs/status.schema.json).
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    digest: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    content_encryption: list[str] = field(default_factory=list)
    key_transport: list[str] = field(default_factory=list)


@dataclass
class Services:
    # The status JSON is a contract: an unknown key is an adapter's mistake, named as such
    # (and `additionalProperties: false` in docs/status.schema.json).
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    authentication: bool = False
    integrity: bool = False
    non_repudiation: bool = False
    confidentiality: bool = False

    def as_set(self) -> set[str]:
        # Fields read directly: `asdict` deep-copies, ~25 µs a call on every message read.
        return {name for name in _SERVICE_FIELDS if getattr(self, name)}


_SERVICE_FIELDS = tuple(f.name for f in fields(Services))


@dataclass
class Coverage:
    """Per service, what it covers: "message" (the whole message) or the names of MIME
    parts ("part 1", "part 1.2", IMAP numbering) when a signature covers only a part
    beside others. A service is held (`Services`) only when it covers the whole message."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    authentication: list[str] = field(default_factory=list)
    integrity: list[str] = field(default_factory=list)
    non_repudiation: list[str] = field(default_factory=list)
    confidentiality: list[str] = field(default_factory=list)

    @classmethod
    def of_services(cls, services: Services) -> Coverage:
        """The coverage a status without one implies: each service held covers the whole."""
        held = services.as_set()
        return cls(**{name: [WHOLE_MESSAGE] if name in held else [] for name in asdict(services)})


@dataclass
class Status:
    """What a receiver found. `layers` lists the S/MIME layers outside in."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    decrypted: bool = False
    encrypted: bool = False
    signed: bool = False
    signature_valid: bool | None = None
    chain_valid: bool | None = None
    signer: Signer | None = None
    algorithms: Algorithms = field(default_factory=Algorithms)
    services: Services = field(default_factory=Services)
    coverage: Coverage = field(default_factory=Coverage)
    layers: list[str] = field(default_factory=list)
    errors: list[StatusError] = field(default_factory=list)
    contract_version: int = CONTRACT_VERSION

    def add_error(self, code: ErrorCode, message: str) -> None:
        self.errors.append(StatusError(code, message))

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def broke(self) -> bool:
        """The receiver's harness failed (an `internal` error): no answer of the product."""
        return any(e.code == ErrorCode.INTERNAL for e in self.errors)

    def primary_error(self) -> StatusError | None:
        for code in PRECEDENCE:
            for err in self.errors:
                if err.code == code:
                    return err
        return None

    def exit_code(self) -> int:
        err = self.primary_error()
        return 0 if err is None else EXIT_CODES[err.code]

    def covered(self) -> Coverage:
        """The coverage with the whole message added to every service held: an agent that
        sets only `services` (the real engines) covers the whole message or nothing."""
        held = self.services.as_set()
        found = asdict(self.coverage)
        for name, parts in found.items():
            if name in held and WHOLE_MESSAGE not in parts:
                parts.insert(0, WHOLE_MESSAGE)
        return Coverage(**found)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["coverage"] = asdict(self.covered())
        data["errors"] = [e.to_json() for e in self.errors]
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: Any) -> Status:
        """Parse an adapter's status (decoded JSON); raises ValueError naming the bad field."""
        return cls.loads(json.dumps(data))

    @classmethod
    def loads(cls, text: str | bytes) -> Status:
        """Parse an adapter's status JSON against its schema (docs/status.schema.json).

        Raises ValueError naming the field and what was expected
        ("status.services: unexpected key 'non-repudiation' (expected one of ...)"):
        the adapter's author reads it, so it speaks of JSON, not of Python.
        """
        if isinstance(text, bytes):
            # UTF-8 only (RFC 8259 8.1): json.loads would also read UTF-16 or UTF-32, and
            # the schema check would then call the file not JSON at column 1.
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"status: not UTF-8 text ({exc.reason} at byte {exc.start})"
                ) from None
        if "\x00" in text:  # never in JSON text; UTF-16 or UTF-32 without a byte order mark
            at = len(text[: text.index("\x00")].encode("utf-8"))
            raise ValueError(f"status: not UTF-8 text (a NUL byte at byte {at}: UTF-16 or UTF-32?)")
        if text.startswith("\ufeff"):
            raise ValueError("status: starts with a byte order mark (write UTF-8 without one)")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"status: not JSON ({exc.msg.lower()}, line {exc.lineno} column {exc.colno})"
            ) from None
        if not isinstance(raw, dict):
            raise ValueError(f"status: expected a JSON object, got {_json_kind(raw)}")
        try:
            status = _status_adapter().validate_json(text, strict=True)
        except ValidationError as exc:
            problems = [_describe(e) for e in exc.errors()]
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise ValueError("; ".join(problems[:3]) + more) from None
        if "encrypted" not in raw:  # version 1 adapters may give `decrypted` only
            status.encrypted = status.decrypted
        if status.contract_version < 1:
            raise ValueError(
                f"status.contract_version: expected a version (1 or more), got "
                f"{status.contract_version}"
            )
        if "contract_version" not in raw:
            status.contract_version = 1
        coverage = raw.get("coverage")
        if isinstance(coverage, dict):
            _check_coverage(status.services, coverage)
        else:
            status.coverage = Coverage.of_services(status.services)
        return status


@cache
def _status_adapter() -> TypeAdapter[Status]:
    return TypeAdapter(Status)


_JSON_TYPES = {
    "bool_type": "true or false",
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "list_type": "an array",
    "dict_type": "an object",
    "dataclass_type": "an object",
    "dataclass_exact_type": "an object",
}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    kind = {dict: "an object", list: "an array", str: "a string", int: "a number"}
    for python, name in kind.items():
        if isinstance(value, python):
            return f"{name} {json.dumps(value)[:60]}" if python in (str, int) else name
    return "a number" if isinstance(value, float) else type(value).__name__


def _place(loc: tuple[int | str, ...]) -> str:
    return "status" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def _type_at(loc: tuple[int | str, ...]) -> Any:
    """The annotated type at a path of the status (None when the path leaves it)."""
    current: Any = Status
    for part in loc:
        args = [a for a in typing.get_args(current) if a is not type(None)]
        origin = typing.get_origin(current)
        if origin in (list, tuple) and isinstance(part, int):
            current = args[0] if args else None
            continue
        if origin in (typing.Union, types.UnionType) and args:
            current = args[0]
        if not (isinstance(part, str) and is_dataclass(current) and isinstance(current, type)):
            return None
        current = typing.get_type_hints(current).get(part)
        if current is None:
            return None
    return current


def _describe(error: Any) -> str:
    """One validation error as an adapter author needs it: where, what was expected."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    found = error.get("input")
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        owner = _type_at(loc[:-1])
        owner = next((a for a in typing.get_args(owner) if is_dataclass(a)), owner)
        expected = [f.name for f in fields(owner)] if is_dataclass(owner) else []
        hint = f" (expected one of {', '.join(expected)})" if expected else ""
        return f"{_place(loc[:-1])}: unexpected key {str(loc[-1])!r}{hint}"
    if kind == "missing":
        return f"{_place(loc)}: missing (required)"
    if kind == "enum":
        allowed = error.get("ctx", {}).get("expected", "")
        return f"{_place(loc)}: {json.dumps(found)} is not one of {allowed}"
    if kind in _JSON_TYPES:
        nullable = type(None) in typing.get_args(_type_at(loc))
        return (
            f"{_place(loc)}: expected {_JSON_TYPES[kind]}{', or null' if nullable else ''}, "
            f"got {_json_kind(found)}"
        )
    return f"{_place(loc)}: {error['msg']} (got {_json_kind(found)})"


def _check_coverage(services: Services, coverage: dict[str, Any]) -> None:
    """A service is held exactly when it covers the whole message (docs/agent-cli.md)."""
    held = services.as_set()
    for name, parts in coverage.items():
        if (name in held) != (WHOLE_MESSAGE in parts):
            raise ValueError(
                f"status.coverage.{name} and status.services.{name} disagree: a service is held "
                f"exactly when its coverage lists {WHOLE_MESSAGE!r}"
            )
