"""A 2008 product's failure cites its profile; a limit of the CPS-card stand-in, the stand-in.

Issue 16 point 4: `reference` sends RSA-OAEP with SHA-256. The 2008 profiles
accept RSA PKCS#1 v1.5 only (assumed: the CPS2ter of 2008), so the reason is
the profile's, never SoftHSM's CKR_ARGUMENTS_BAD. A profile that does accept
OAEP-SHA256 but keeps its key on the stand-in token gets a reason that names
the stand-in, not the product.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.agents import identity_files
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import load_profiles
from conformance.token import softhsm

PRODUCTS_2008 = sorted(
    p.stem
    for p in PROFILES_DIR.glob("*.yaml")
    if "extends: osm-2008-base" in p.read_text(encoding="utf-8")
)
STAND_IN_WORDS = ("SoftHSM", "CKR_", "token")

# A 2008 product whose profile accepts OAEP-SHA256, as the base did before issue 16.
ACCEPTS_OAEP256 = """\
id: accepts-oaep256
extends: osm-2008-base
receive:
  smime:
    key_transports: [rsa-pkcs1v15, rsa-oaep-sha1, rsa-oaep-sha256]
provenance:
  receive.smime.key_transports: {assumed: true, reason: a test profile}
"""


@pytest.fixture
def on_softhsm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if not softhsm.available():
        pytest.skip("SoftHSM2 not installed: the stand-in token cannot be exercised")
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "softhsm")
    identity_files._key.cache_clear()  # keys opened in software by other tests
    yield
    identity_files._key.cache_clear()


def _encrypt(cast: Cast, sender: str, receiver: str) -> tuple[str, str | None]:
    cell = run_cell(
        cast.seat(sender, "sender"),
        cast.seat(receiver, "receiver"),
        "encrypt",
        cast.world(),
        CellSettings(examples=1, seed=1),
    )
    return cell.verdict, cell.reason


def test_there_are_2008_products() -> None:
    assert len(PRODUCTS_2008) >= 8, PRODUCTS_2008


def test_reference_to_2008_products_fails_on_the_profile_not_the_token(
    on_softhsm: None, tmp_path: Path
) -> None:
    profiles = load_profiles([PROFILES_DIR / f"{n}.yaml" for n in ("reference", *PRODUCTS_2008)])
    cast = Cast(profiles, workdir=tmp_path / "agents")
    try:
        for product in PRODUCTS_2008:
            verdict, reason = _encrypt(cast, "reference", product)
            assert verdict == "fail", (product, verdict, reason)
            assert reason is not None, product
            assert "receiver does not accept key transport rsa-oaep-sha256" in reason, reason
            named = [w for w in STAND_IN_WORDS if w in reason]
            assert not named, (product, reason)
    finally:
        cast.close()


def test_a_limit_of_the_stand_in_is_reported_as_the_stand_in(
    on_softhsm: None, tmp_path: Path
) -> None:
    (tmp_path / "accepts-oaep256.yaml").write_text(ACCEPTS_OAEP256, encoding="utf-8")
    names = ("docteur-net-cps", "reference")
    profiles = load_profiles(
        [tmp_path / "accepts-oaep256.yaml", *(PROFILES_DIR / f"{n}.yaml" for n in names)]
    )
    cast = Cast(profiles, workdir=tmp_path / "agents")
    try:
        verdict, reason = _encrypt(cast, "reference", "accepts-oaep256")
    finally:
        cast.close()
    assert verdict == "fail", (verdict, reason)
    assert reason is not None
    assert "CPS-card stand-in (SoftHSM) does not support" in reason, reason
