"""Senders judged on what they send: the validator's ERRORs and what the message really used.

Each cell's basic message goes through the validator under the run's policy;
its ERROR rule ids are the cell's `nonconformant` field (the verdict is
unchanged). What the message used (read from it) is compared with what the
sender's profile declares; a difference is a contradiction. The sender here is
made to lie: its agent runs one profile while the suite judges it by another.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import pytest

from conformance.check import run_checks
from conformance.check.runner import check_message
from conformance.core.vocabulary import Function
from conformance.matrix.assemble import assemble
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.exchange import exchange
from conformance.matrix.finish import summary
from conformance.matrix.sent import algorithms_in, declared, sent_algorithms, sent_contradictions
from conformance.paths import PROFILES_DIR
from conformance.profiles.claims import Claims
from conformance.profiles.loader import load_profiles
from conformance.results import Cell, RunInfo
from conformance.scenarios import basic_scenario

ASSUMED = "{assumed: true, reason: a test profile}"
PROFILES = {
    # Signs with SHA-1 and 3DES (what its agent really does).
    "signs-sha1": f"""\
id: signs-sha1
extends: reference
identity:
  name: Signs with SHA-1
send:
  signature:
    digest: sha1
  encryption:
    content: des-ede3-cbc
provenance:
  identity.name: {ASSUMED}
  send.signature.digest: {ASSUMED}
  send.encryption.content: {ASSUMED}
""",
    # Leaves its certificate out of the signature: CMS-002 (an ERROR under both policies).
    "no-certificate": f"""\
id: no-certificate
extends: reference
identity:
  name: Signs without its certificate
send:
  signature:
    certificates: none
provenance:
  identity.name: {ASSUMED}
  send.signature.certificates: {ASSUMED}
""",
}


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    mp = pytest.MonkeyPatch()
    mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
    directory = tmp_path_factory.mktemp("profiles")
    for name, text in PROFILES.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    paths = [*sorted(directory.glob("*.yaml")), PROFILES_DIR / "reference.yaml"]
    made = Cast(load_profiles(paths), workdir=tmp_path_factory.mktemp("agents"))
    yield made
    made.close()
    mp.undo()


def _cell(cast: Cast, sender: str, function: Function = "sign-encrypt") -> Cell:
    return run_cell(
        cast.seat(sender, "sender"),
        cast.seat("reference", "receiver"),
        function,
        cast.world(),
        CellSettings(examples=1, seed=3),
    )


def test_a_conformant_sender_sends_what_it_declares(cast: Cast) -> None:
    got = _cell(cast, "reference")
    assert got.verdict == "pass", got.reason
    assert got.nonconformant == []
    assert got.sent == {
        "format": ["smime"],
        "signature_format": ["multipart-signed"],
        "digest": ["sha256"],
        "signature": ["rsa-pkcs1v15"],
        "content_cipher": ["aes256-cbc"],
        "key_transport": ["rsa-oaep-sha256"],
    }
    assert sent_contradictions([got], cast.profiles) == []


def test_what_a_sender_really_sent_is_compared_with_its_profile(cast: Cast) -> None:
    got = _cell(cast, "signs-sha1")
    assert got.verdict == "pass", got.reason
    assert got.sent["digest"] == ["sha1"] and got.sent["content_cipher"] == ["des-ede3-cbc"]
    assert sent_contradictions([got], cast.profiles) == []  # it does what it says
    # Judged by the reference profile (SHA-256, AES-256), it contradicts it twice.
    lying = got.model_copy(update={"sender": "reference"})
    found = sent_contradictions([lying, lying], cast.profiles)
    assert [(c.expected, c.observed) for c in found] == [
        ("digest sha256", "digest sha1"),
        ("content_cipher aes256-cbc", "content_cipher des-ede3-cbc"),
    ]
    assert found[0].source is not None and "send.signature.digest" in found[0].source


def test_a_nonconformant_message_is_marked_and_counted_the_verdict_unchanged(cast: Cast) -> None:
    got = _cell(cast, "no-certificate", "sign")
    assert got.nonconformant == ["CMS-002"]
    # The verdict is the receiver's: it cannot find the signer's certificate either.
    assert got.verdict == "fail" and got.reason is not None
    good = _cell(cast, "reference", "sign")
    assert good.nonconformant == []
    run = RunInfo(
        seed=3,
        examples=1,
        started="2026-01-01T00:00:00+00:00",
        complete=True,
        suite_version="test",
        functions=["sign"],
    )
    results = assemble(run, cast.profiles, [got, good], Claims({}, {}, {}))
    assert results.cell("no-certificate", "reference", "sign") is not None
    text = summary(results)
    assert "non-conformant messages: 1 cells" in text


def test_a_sender_of_another_format_declares_nothing_to_compare() -> None:
    profiles = load_profiles()
    apicrypt = [p for p in profiles.values() if p.send.format == "apicrypt"]
    assert apicrypt and all(declared(p) == {} for p in apicrypt)
    assert declared(profiles["reference"])["digest"] == "sha256"


def test_nonconformant_follows_the_runs_policy(cast: Cast, tmp_path: Path) -> None:
    """SHA-1 and 3DES are tolerated in 2008 and refused today: the same message is
    conformant under osm-2008 and not under modern."""
    modern = Cast(dict(cast.profiles), workdir=tmp_path, policy="modern")
    try:
        old = _cell(cast, "signs-sha1", "sign")
        new = _cell(modern, "signs-sha1", "sign")
    finally:
        modern.close()
    assert old.nonconformant == []
    assert new.nonconformant, "SHA-1 is refused by the modern policy"
    # The profile receiver under modern refuses it too: the verdict is the receiver's.
    assert old.verdict == "pass" and new.verdict == "fail", (old.reason, new.reason)


@pytest.mark.parametrize(
    ("lang", "words"), [("fr", "message non conforme"), ("en", "non-conformant message")]
)
def test_the_matrix_marks_a_nonconformant_message(tmp_path: Path, lang: str, words: str) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_report_sample import sample_results

    from conformance.report import render_report

    results = sample_results(tmp_path)
    clean = tmp_path / "clean"
    render_report(results, clean, lang=lang)
    flag = '<span class="nonconf-flag" title='
    assert flag not in (clean / "index.html").read_text("utf-8")
    marked = next(c for c in results.cells if c.verdict == "pass")
    marked.nonconformant = ["CMS-007", "SMIME-006"]
    out = tmp_path / "marked"
    render_report(results, out, lang=lang)
    index = (out / "index.html").read_text("utf-8")
    assert index.count(flag) >= 2  # the cell and its detail
    assert f"{words} (CMS-007, SMIME-006)" in index


class _Reading(TypedDict):
    """What the three readings of a sent message share."""

    identity_dir: Path
    trust: tuple[Path, ...]
    crls: tuple[Path, ...]


@pytest.mark.parametrize("sender", sorted([*PROFILES, "reference"]))
@pytest.mark.parametrize("function", ["sign", "encrypt", "sign-encrypt"])
def test_the_validators_layers_give_what_reading_the_message_again_gives(
    cast: Cast, sender: str, function: Function
) -> None:
    """The cell takes the sent algorithms from the layers its validator run read, instead
    of reading the message a second time: both must say the same."""
    receiver, world = cast.seat("reference", "receiver"), cast.world()
    obs = exchange(basic_scenario(function), cast.seat(sender, "sender"), receiver, world)
    assert obs.message is not None and obs.delivered in (None, obs.message)
    common: _Reading = {
        "identity_dir": receiver.party.identity_dir,
        "trust": world.trust,
        "crls": world.crls,
    }
    again = sent_algorithms(obs.message, policy=world.policy, **common)
    checked = check_message(obs.message, policy=world.policy, **common)
    assert again and algorithms_in(checked.layers) == again
    assert (
        checked.report.to_json() == run_checks(obs.message, policy=world.policy, **common).to_json()
    )
