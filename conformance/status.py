"""The security status of a received message: the agent contract's JSON.

One shape for every agent (built-in engine, real engines, vendor adapters),
documented in docs/agent-cli.md. Error codes are stable strings; each maps to
a process exit code so that an adapter's outcome can be told apart without
parsing its output.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


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
        return {k for k, v in asdict(self).items() if v}


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
    layers: list[str] = field(default_factory=list)
    errors: list[StatusError] = field(default_factory=list)

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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
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
            return cls(
                decrypted=bool(data.get("decrypted", False)),
                encrypted=bool(data.get("encrypted", data.get("decrypted", False))),
                signed=bool(data.get("signed", False)),
                signature_valid=data.get("signature_valid"),
                chain_valid=data.get("chain_valid"),
                signer=Signer(**signer) if signer else None,
                algorithms=Algorithms(**(data.get("algorithms") or {})),
                services=Services(**(data.get("services") or {})),
                layers=list(data.get("layers") or []),
                errors=errors,
            )
        except TypeError as exc:
            raise ValueError(f"status: {exc}") from exc
