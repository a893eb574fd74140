"""Per-user Apicrypt-model keys, issued by the association (test keys only).

Each user gets a symmetric key (AES-256, for the envelope between the user
and the relay) and a signing key of Apicrypt's own (Ed25519: not a CPS key).
The association derives them from its master secret, so the relay holds
everyone's key without a key file per user; a user holds only its own, in
`apicrypt.key.json` beside its certificates in the PKI export. The keys are
issued with the test PKI and exported with it, so they live in the PKI layer:
the model (`conformance.apicrypt`) reads them from here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conformance import json_files
from conformance.core.vocabulary import MODEL_LABEL
from conformance.errors import UserError

KEY_FILE = "apicrypt.key.json"
# TEST ONLY: the association's master secret of the model, public on purpose.
ASSOCIATION_TEST_SECRET = hashlib.sha256(b"osm-conformance apicrypt-model TEST master v1").digest()


@dataclass(frozen=True)
class ApicryptKey:
    owner: str  # the user's mail address
    envelope_key: bytes  # AES-256 key shared by the user and the relay
    signing_seed: bytes  # Ed25519 private key seed (Apicrypt's own signature)

    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.signing_seed)

    def to_json(self) -> dict[str, str]:
        return {
            "model": MODEL_LABEL,
            "owner": self.owner,
            "envelope_key": base64.b64encode(self.envelope_key).decode(),
            "signing_key": base64.b64encode(self.signing_seed).decode(),
        }


def _derive(owner: str, purpose: str) -> bytes:
    msg = f"{purpose}\0{owner.lower()}".encode()
    return hmac.new(ASSOCIATION_TEST_SECRET, msg, hashlib.sha256).digest()


def issue_key(owner: str) -> ApicryptKey:
    """The key the association issues to a user (deterministic)."""
    return ApicryptKey(owner, _derive(owner, "envelope"), _derive(owner, "signature"))


def public_signing_key(owner: str) -> Ed25519PublicKey:
    """The association's directory of Apicrypt signature keys."""
    return issue_key(owner).signing_key().public_key()


def public_key_bytes(owner: str) -> bytes:
    return public_signing_key(owner).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def write_key(identity_dir: Path, owner: str) -> Path:
    path = identity_dir / KEY_FILE
    path.write_text(json.dumps(issue_key(owner).to_json(), indent=2) + "\n", encoding="utf-8")
    return path


def load_key(identity_dir: Path) -> ApicryptKey | None:
    """The user's own key, or None when the association issued it none."""
    path = identity_dir / KEY_FILE
    if not path.is_file():
        return None
    data = json_files.load_object(path)
    try:
        return ApicryptKey(
            owner=str(data["owner"]),
            envelope_key=base64.b64decode(data["envelope_key"], validate=True),
            signing_seed=base64.b64decode(data["signing_key"], validate=True),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not an Apicrypt-model key file: {exc}") from None
