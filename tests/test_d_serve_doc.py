"""docs/serve.md's Thunderbird steps name the user `serve` gives the default profile, and
find it in serve's own output rather than hard-coding an identity's files."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.matrix.cast import Cast
from conformance.profiles import load_profiles
from conformance.serve import session
from conformance.vectors.manifest import ExportManifest

DOC = Path(__file__).resolve().parent.parent / "docs" / "serve.md"


def _steps() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("## Step by step: Thunderbird") :]


def test_the_user_named_is_the_one_serve_gives_the_default_profile() -> None:
    cast = Cast(load_profiles())
    user = cast.pki.identity(cast.users("nss")[1])  # vectors export --for nss: its recipient
    steps = " ".join(_steps().split())
    assert f"`{user.id} {user.name} <{user.email}>`" in steps
    assert set(re.findall(r"\bpro\d\d\b", steps)) == {user.id}


def test_the_identity_files_are_found_from_the_output() -> None:
    steps = " ".join(_steps().split())
    assert not re.search(r"identities/pro\d\d", steps)
    assert "serve-out/vectors/identities/ID/identity.p12" in steps
    # the account line the reader is told to look for ends as serve writes it
    manifest = ExportManifest(
        product="nss", recipient="pro26", recipient_email="x@y", sender_identity="pro25",
        seed=1, date="2026-12-06", vectors=[],
    )  # fmt: skip
    role = session._roles(manifest)[0]
    assert role == ("pro26", "the product's user (nss): its inbox gets the drops")
    assert f"the line ending `{role[1]}`" in steps
