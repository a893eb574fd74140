"""The source document's interoperability facts come out of a run of the matrix.

Measured, not declared: `osm-conformance run` on three homologated OSM products
and Apicrypt, then the real engines' limits (OAEP, AES-GCM) as findings with
the tool's own reason.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.core.vocabulary import FUNCTIONS
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.exchange import exchange
from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import load_profiles
from conformance.scenarios import basic_scenario

OSM = ("docteur-net-cps", "easycrypt-net", "smm")
APICRYPT = "apimail-apicrypt"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("facts")
    mp = pytest.MonkeyPatch()
    mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
    try:
        argv = ["run", "--quiet", "--jobs", "1", "--examples", "6", "--out", str(out)]
        for agent in (*OSM, APICRYPT):
            argv += ["--sender", agent, "--receiver", agent]
        assert main(argv) == 0
        yield json.loads((out / "results.json").read_text(encoding="utf-8"))
    finally:
        mp.undo()


def cells_of(results: dict[str, Any], sender: str, receiver: str) -> dict[str, dict[str, Any]]:
    return {
        c["function"]: c
        for c in results["cells"]
        if c["sender"] == sender and c["receiver"] == receiver
    }


def pair(results: dict[str, Any], sender: str, receiver: str) -> dict[str, Any]:
    pairs: list[dict[str, Any]] = results["pairs"]
    (found,) = [p for p in pairs if (p["sender"], p["receiver"]) == (sender, receiver)]
    return found


def test_osm_products_all_interoperate(results: dict[str, Any]) -> None:
    for sender, receiver in product(OSM, OSM):
        got = pair(results, sender, receiver)
        assert got["interop"] == "full" == got["expected"], got
        cells = cells_of(results, sender, receiver)
        assert sorted(cells) == sorted(FUNCTIONS)
        for function, cell in cells.items():
            assert cell["verdict"] == "pass", (sender, receiver, function, cell["reason"])
            assert cell["expected"] == "pass" and not cell["contradiction"]


def test_apicrypt_and_an_osm_client_none_both_ways(results: dict[str, Any]) -> None:
    for sender, receiver in ((APICRYPT, "docteur-net-cps"), ("docteur-net-cps", APICRYPT)):
        got = pair(results, sender, receiver)
        assert got["interop"] == "none" == got["expected"], got
        for function, cell in cells_of(results, sender, receiver).items():
            assert cell["verdict"] in ("fail", "unsupported"), (function, cell["verdict"])
            if cell["verdict"] == "fail":
                assert "does not read" in cell["reason"], cell["reason"]


def test_apicrypt_and_easycrypt_partial_encryption_only(results: dict[str, Any]) -> None:
    for sender, receiver in ((APICRYPT, "easycrypt-net"), ("easycrypt-net", APICRYPT)):
        got = pair(results, sender, receiver)
        assert got["interop"] == "partial" == got["expected"], got
        cells = cells_of(results, sender, receiver)
        assert cells["encrypt"]["verdict"] == "pass", cells["encrypt"]["reason"]
        assert cells["sign"]["verdict"] == "fail"
        assert cells["sign-encrypt"]["verdict"] == "fail"
        assert cells["sign"]["reason"], "a fail carries its reason"


def test_hprim_net_is_not_read_by_apicrypt(results: dict[str, Any]) -> None:
    for sender in OSM:
        cell = cells_of(results, sender, APICRYPT)["hprim-net"]
        assert cell["verdict"] == "unsupported" == cell["expected"], cell
        assert cell["reason"] == f"{APICRYPT} does not receive hprim-net"
        assert cells_of(results, sender, "easycrypt-net")["hprim-net"]["verdict"] == "pass"


def test_hprim_net_message_reaches_apicrypt_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the declaration: an HPRIM-Net message delivered to Apicrypt is really not read."""
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    profiles = load_profiles([PROFILES_DIR / f"{p}.yaml" for p in ("docteur-net-cps", APICRYPT)])
    cast = Cast(profiles, workdir=tmp_path)
    try:
        obs = exchange(
            basic_scenario("hprim-net"),
            cast.seat("docteur-net-cps", "sender"),
            cast.seat(APICRYPT, "receiver"),
            cast.world(),
        )
    finally:
        cast.close()
    assert obs.message is not None and not obs.ok
    assert obs.reason is not None and "does not read S/MIME" in obs.reason, obs.reason


def test_no_contradiction_with_the_claims(results: dict[str, Any]) -> None:
    assert results["contradictions"] == []
    claimed = [c for c in results["cells"] if c["expected"] is not None]
    # Every cell but Apicrypt <-> EASYCRYPT.net attachments (not claimed) has a claim.
    assert len(claimed) == len(results["cells"]) - 2


# --- the real engines' limits -------------------------------------------------------------

GCM = """\
id: sends-gcm
extends: reference
identity:
  name: Sends AES-GCM
send:
  encryption:
    content: aes256-gcm
    key_transport: rsa-pkcs1v15
provenance:
  identity.name: {assumed: true, reason: a test profile}
  send.encryption.content: {assumed: true, reason: a test profile}
  send.encryption.key_transport: {assumed: true, reason: a test profile}
"""

TOOLS = {"nss": ("cmsutil", "certutil", "pk12util"), "gpgsm": ("gpgsm",)}


@pytest.mark.engines
@pytest.mark.parametrize("engine", sorted(TOOLS))
def test_oaep_and_gcm_to_real_engines_fail_with_the_tools_reason(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = [t for t in TOOLS[engine] if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{engine} engine: missing {', '.join(missing)} (libnss3-tools, gpgsm)")
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    (tmp_path / "sends-gcm.yaml").write_text(GCM, encoding="utf-8")
    names = ("reference", "docteur-net-cps", engine)
    profiles = load_profiles(
        [tmp_path / "sends-gcm.yaml", *(PROFILES_DIR / f"{n}.yaml" for n in names)]
    )
    cast = Cast(profiles, workdir=tmp_path / "agents")
    tool = "cmsutil" if engine == "nss" else "gpgsm"
    try:

        def encrypt(sender: str) -> tuple[str, str | None]:
            got = run_cell(
                cast.seat(sender, "sender"),
                cast.seat(engine, "receiver"),
                "encrypt",
                cast.world(),
                CellSettings(examples=1, seed=1),
            )
            return got.verdict, got.reason

        # The control: 3DES under RSA PKCS#1 v1.5 (a 2008 product) is read.
        assert encrypt("docteur-net-cps") == ("pass", None)
        for sender in ("reference", "sends-gcm"):  # RSA-OAEP; AES-256-GCM
            verdict, reason = encrypt(sender)
            assert verdict == "fail", (sender, verdict, reason)
            assert reason is not None and tool in reason, (sender, reason)
    finally:
        cast.close()
