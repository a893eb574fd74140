"""What export, verify, import and golden share: seeded randomness, ids, the cast."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from conformance.apicrypt.relay import addressed_to_relay, forward
from conformance.core.apicrypt_mark import is_apicrypt
from conformance.core.mime import header_fields
from conformance.core.vocabulary import FUNCTIONS, Function
from conformance.errors import UserError
from conformance.matrix.cast import Cast
from conformance.matrix.exchange import Transport
from conformance.pki.drbg import HashStream
from conformance.profiles.loader import load_profiles
from conformance.profiles.schema import Profile

Rng = Callable[[int], bytes]

# The real product shows in results.json under its profile's id with this suffix,
# beside the simulated agent of the same profile.
REAL_SUFFIX = "-real"
# Every vector's randomness derives from this seed and the vector's own label.
VECTORS_SEED = 2008


def seeded_rng(label: str, seed: int = VECTORS_SEED) -> Rng:
    """A deterministic byte source for one message (same label, same bytes)."""
    return HashStream(seed, label).read


def seeded_transport(label: str, seed: int = VECTORS_SEED) -> Transport:
    """The in-memory transport, with the Apicrypt relay drawing from a seeded source."""
    rng = seeded_rng("relay/" + label, seed)

    def carry(message: bytes, recipient: str) -> bytes:
        if addressed_to_relay(message):
            return forward(message, recipient, rng)
        return message

    return carry


def real_id(profile_id: str) -> str:
    return profile_id + REAL_SUFFIX


def shipped_profiles() -> dict[str, Profile]:
    return load_profiles()


def shipped_profile(profile_id: str, profiles: dict[str, Profile] | None = None) -> Profile:
    """A shipped (non-abstract) profile, or a UserError naming the known ones."""
    known = profiles if profiles is not None else shipped_profiles()
    if profile_id not in known:
        raise UserError(f"unknown profile {profile_id!r}; shipped profiles: {', '.join(known)}")
    return known[profile_id]


def check_function(value: object, where: str) -> Function:
    if value not in FUNCTIONS:
        known = ", ".join(FUNCTIONS)
        raise UserError(f"{where}: unknown function {value!r}; expected one of {known}")
    return value  # type: ignore[return-value]


def shipped_cast() -> Cast:
    """The cast of every shipped profile: it fixes which professionals a product's users are."""
    return Cast(shipped_profiles())


def mime_problem(data: bytes) -> str | None:
    """Why `data` is not an RFC 5322 / MIME message (None when it looks like one).

    Checked before any reader runs, so that a file that is not mail gets a clear
    error and no verdict; the readers themselves decide everything past this.
    """
    if not data.strip():
        return "empty file"
    if is_apicrypt(data):
        return None
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    first = head.splitlines()[0] if head else b""
    if b":" not in first or first[:1] in (b" ", b"\t") or b" " in first.split(b":", 1)[0]:
        return f"not a mail message: the first line {first[:60]!r} is not a header"
    headers = header_fields(data)
    if headers.get("Content-Type") is None and headers.get("MIME-Version") is None:
        return "not a MIME message: no Content-Type or MIME-Version header"
    return None


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_text(path: Path) -> str:
    """A tester's file as text (a spreadsheet's UTF-8 BOM dropped), or a UserError."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
