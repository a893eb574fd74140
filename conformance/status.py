"""The security status of a received message: the agent contract's JSON.

One shape for every agent (built-in engine, real engines, vendor adapters),
documented in docs/agent-cli.md. Error codes are stable strings; each maps to
a process exit code so that an adapter's outcome can be told apart without
parsing its output.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

# The version of the agent contract (docs/agent-cli.md): the status JSON, the exit codes and
# the capabilities. Every change to the contract bumps it and updates the exit-code table.
# 2: the status JSON gains `coverage` (the MIME parts each service covers) and
# `contract_version`; capabilities gain `contract_version`.
# 3: the harness protocol "osm-harness/1" (`serve`), declared in capabilities' `protocols`.
CONTRACT_VERSION = 3
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
    MALFORMED = "malformed"  # not MIME, not CMS, over a limit, inconsistent
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
    ErrorCode.INTERNAL: 70,
}

# When several errors are present the exit code is that of the first in this order:
# what stopped the reading comes before what was found about a signature.
PRECEDENCE: list[ErrorCode] = [
    ErrorCode.INTERNAL,
    ErrorCode.MALFORMED,
    ErrorCode.UNSUPPORTED_FUNCTION,
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
    code: ErrorCode
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


@dataclass
class Signer:
    subject: str
    email: str | None
    idnat: str | None
    non_repudiation: bool  # the certificate's key usage allows non-repudiation


@dataclass
class Algorithms:
    digest: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    content_encryption: list[str] = field(default_factory=list)
    key_transport: list[str] = field(default_factory=list)


@dataclass
class Services:
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
    def from_json(cls, data: dict[str, Any]) -> Status:
        """Parse an adapter's status JSON; raises ValueError naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError("status: expected a JSON object")
        try:
            signer = data.get("signer")
            errors = []
            for i, e in enumerate(data.get("errors") or []):
                try:
                    code = ErrorCode(e["code"])
                except (KeyError, ValueError, TypeError) as exc:
                    raise ValueError(
                        f"status: errors[{i}].code: {e!r} is not a known code"
                    ) from exc
                errors.append(StatusError(code, str(e.get("message", ""))))
            services = Services(**(data.get("services") or {}))
            coverage = data.get("coverage")
            if isinstance(coverage, dict):
                _check_coverage(services, coverage)
            version = data.get("contract_version", 1)
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise ValueError(f"status: contract_version: {version!r} is not a version")
            return cls(
                decrypted=bool(data.get("decrypted", False)),
                encrypted=bool(data.get("encrypted", data.get("decrypted", False))),
                signed=bool(data.get("signed", False)),
                signature_valid=data.get("signature_valid"),
                chain_valid=data.get("chain_valid"),
                signer=Signer(**signer) if signer else None,
                algorithms=Algorithms(**(data.get("algorithms") or {})),
                services=services,
                coverage=(
                    Coverage(**{k: list(v) for k, v in coverage.items()})
                    if isinstance(coverage, dict)
                    else Coverage.of_services(services)
                ),
                layers=list(data.get("layers") or []),
                errors=errors,
                contract_version=version,
            )
        except TypeError as exc:
            raise ValueError(f"status: {exc}") from exc


def _check_coverage(services: Services, coverage: dict[str, Any]) -> None:
    """A service is held exactly when it covers the whole message (docs/agent-cli.md)."""
    held = services.as_set()
    for name, parts in coverage.items():
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise ValueError(f"status: coverage.{name}: expected a list of part names")
        if (name in held) != (WHOLE_MESSAGE in parts):
            raise ValueError(
                f"status: coverage.{name} and services.{name} disagree: a service is held "
                f"exactly when its coverage lists {WHOLE_MESSAGE!r}"
            )
