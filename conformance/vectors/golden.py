"""The golden corpus: one basic message per profile and function, bytes and reading pinned.

`vectors/golden/<profile>/<function>.eml` is the message the profile's agent
writes for the basic scenario (fixed identities pro01 -> pro02, fixed date and
Message-ID, randomness drawn from a seed), and `<function>.json` its reading by
the same profile (layers, algorithms, services, errors, content digest). An
engine change that alters a profile's bytes or reading shows up as a diff.

Only the profile-driven engines (builtin, apicrypt-model) are in the corpus:
the real engines (openssl, nss, gpgsm) and vendor commands draw their own
randomness, so their bytes can never be pinned. Within the corpus, an RSA-PSS
signature draws its salt inside the token (cryptography offers no way to
inject it): for such a profile only the reading is compared, and its .json
says `"stable_bytes": false`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import json_files
from conformance.agents import identity_files as files
from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.profiled import ProfileAgent
from conformance.core.mime import header_fields
from conformance.core.vocabulary import FUNCTIONS, Function, Party
from conformance.errors import UserError
from conformance.functions import MESSAGE_FUNCTIONS, REQUIRED_SERVICES
from conformance.matrix.cast import directories_of
from conformance.paths import VECTORS_DIR, remove_listed
from conformance.profiles.schema import PROFILE_DRIVEN_ENGINES, Profile
from conformance.scenarios import basic_scenario, build_entity, compare
from conformance.vectors.common import seeded_rng, seeded_transport, shipped_cast, shipped_profiles

GOLDEN_DIR = VECTORS_DIR / "golden"
GOLDEN_SEED = 4134
SENDER, RECIPIENT = "pro01", "pro02"
DATE = "Tue, 15 Jul 2025 10:00:00 +0200"
# Certificates and CRLs are judged at the message's date, so that the reading never ages.
VALIDATION_TIME = datetime(2025, 7, 15, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Golden:
    profile: str
    function: Function
    message: bytes
    reading: dict[str, Any]

    @property
    def stable_bytes(self) -> bool:
        return bool(self.reading["message"]["stable_bytes"])


def golden_profiles() -> dict[str, Profile]:
    return {k: p for k, p in shipped_profiles().items() if p.engine.type in PROFILE_DRIVEN_ENGINES}


def _party(directory: Path, profile: Profile) -> Party:
    data = files.identity_json(directory)
    return Party(directory, str(data["email"]), str(data["name"]), directories_of(profile))


def _stable(profile: Profile) -> bool:
    signature = profile.send.signature
    return signature is None or signature.algorithm != "rsa-pss"


def generate(profile: Profile, function: Function) -> Golden:
    """The golden message of one profile and function, and its reading by the same profile."""
    export = shipped_cast().export
    sender = _party(export / "identities" / SENDER, profile)
    recipient = _party(export / "identities" / RECIPIENT, profile)
    label = f"golden/{profile.id}/{function}"
    scenario = basic_scenario(function)
    entity = build_entity(scenario)
    agent = ProfileAgent(
        profile, rng=seeded_rng(label, GOLDEN_SEED), validation_time=VALIDATION_TIME
    )
    sent = agent.send(
        SendRequest(
            function=function,
            content=entity,
            sender=sender,
            recipients=(files.role_certificate(recipient.identity_dir, "encrypt"),),
            recipient_emails=(recipient.email,),
            recipient_parties=(recipient,),
            subject=scenario.subject,
            date=DATE,
            message_id=f"<golden.{profile.id}.{function}@osm-test.example>",
        )
    )
    if sent.message is None:
        raise UserError(
            f"golden {profile.id} {function}: the profile cannot send it: {sent.reason}"
        )
    delivered = seeded_transport(label, GOLDEN_SEED)(sent.message, recipient.email)
    ca = export / "ca"
    reception = agent.receive(
        ReceiveRequest(
            delivered,
            recipient,
            trust=(ca / "root.pem",),
            crls=(ca / "root.crl.pem", ca / "intermediate.crl.pem"),
        )
    )
    status = reception.status
    head = header_fields(sent.message)
    smime_type = head.get_param("smime-type")
    services = status.services.as_set()
    differences = compare(scenario, reception.content) if reception.content is not None else None
    reading = {
        "profile": profile.id,
        "function": function,
        "sender": SENDER,
        "recipient": RECIPIENT,
        "message": {
            "sha256": hashlib.sha256(sent.message).hexdigest(),
            "bytes": len(sent.message),
            "content_type": head.get_content_type()
            + (f"; smime-type={smime_type}" if isinstance(smime_type, str) else ""),
            "stable_bytes": _stable(profile),
        },
        "reading": {
            "reader": profile.id,
            "layers": status.layers,
            "algorithms": {
                "digest": status.algorithms.digest,
                "signature": status.algorithms.signature,
                "content_encryption": status.algorithms.content_encryption,
                "key_transport": status.algorithms.key_transport,
            },
            "signed": status.signed,
            "encrypted": status.encrypted,
            "decrypted": status.decrypted,
            "signature_valid": status.signature_valid,
            "chain_valid": status.chain_valid,
            "services": sorted(services),
            "services_required_held": all(s in services for s in REQUIRED_SERVICES[function]),
            "errors": [e.code.value for e in status.errors],
            "content_sha256": hashlib.sha256(reception.content).hexdigest()
            if reception.content is not None
            else None,
            "content_intact": differences == [] if differences is not None else False,
        },
    }
    return Golden(profile.id, function, sent.message, reading)


def generate_all(profile_ids: list[str] | None = None) -> list[Golden]:
    profiles = golden_profiles()
    chosen = profile_ids or list(profiles)
    for profile_id in chosen:
        if profile_id not in profiles:
            raise UserError(
                f"{profile_id!r} is not in the golden corpus; it holds the "
                f"profile-driven engines: {', '.join(profiles)}"
            )
    out = []
    for profile_id in chosen:
        profile = profiles[profile_id]
        for function in MESSAGE_FUNCTIONS:
            if function in profile.capabilities().send:
                out.append(generate(profile, function))
    return out


def _json(reading: dict[str, Any]) -> str:
    return json.dumps(reading, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _diff_reading(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _diff_reading(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return out
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def write_command(directory: Path) -> str:
    """The command that rewrites this corpus: `--dir` named unless it is the checkout's."""
    where = "" if directory == GOLDEN_DIR else f" --dir {directory}"
    return f"osm-conformance vectors golden --write{where}"


def check(directory: Path = GOLDEN_DIR, profile_ids: list[str] | None = None) -> list[str]:
    """Differences between the committed corpus and what the engine writes now ([]: in sync)."""
    problems: list[str] = []
    expected_files: set[Path] = set()
    for golden in generate_all(profile_ids):
        base = directory / golden.profile / golden.function
        eml, js = base.with_suffix(".eml"), base.with_suffix(".json")
        expected_files |= {eml, js}
        name = f"{golden.profile}/{golden.function}"
        if not eml.is_file() or not js.is_file():
            problems.append(f"{name}: missing from {directory} (run `{write_command(directory)}`)")
            continue
        try:
            old = json_files.load_object(js)
        except UserError as exc:  # a difference to list, with the others
            problems.append(str(exc))
            continue
        if not golden.stable_bytes:  # the digest of unstable bytes is not compared
            old.get("message", {}).pop("sha256", None)
            old.get("message", {}).pop("bytes", None)
        new = json.loads(_json(golden.reading))
        if not golden.stable_bytes:
            new["message"].pop("sha256", None)
            new["message"].pop("bytes", None)
        problems += [f"{name}: {d}" for d in _diff_reading(old, new)]
        if golden.stable_bytes and eml.read_bytes() != golden.message:
            problems.append(f"{name}: message bytes differ from {eml}")
    if profile_ids is None:
        problems += [
            f"{path}: stale (no profile writes it any more)"
            for path in _stale(directory, expected_files)
        ]
    return problems


def _stale(directory: Path, expected: set[Path]) -> list[Path]:
    """The corpus files (`<profile>/<function>.eml|.json`) no profile writes any more.

    Only files of that shape: `--dir` may name a directory that holds other things.
    """
    if not directory.is_dir():
        return []
    return [
        path
        for path in sorted(directory.glob("*/*"))
        if path.is_file()
        and path.suffix in (".eml", ".json")
        and path.stem in FUNCTIONS
        and path not in expected
    ]


def write(directory: Path = GOLDEN_DIR, profile_ids: list[str] | None = None) -> list[Path]:
    """Regenerate the corpus (the named profiles, or all of it, removing stale files)."""
    written: list[Path] = []
    goldens = generate_all(profile_ids)
    for golden in goldens:
        base = directory / golden.profile / golden.function
        base.parent.mkdir(parents=True, exist_ok=True)
        base.with_suffix(".eml").write_bytes(golden.message)
        base.with_suffix(".json").write_text(_json(golden.reading), encoding="utf-8")
        written += [base.with_suffix(".eml"), base.with_suffix(".json")]
    if profile_ids is None:
        remove_listed(_stale(directory, set(written)))  # a profile's folder too, left empty
    return written
