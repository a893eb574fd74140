"""Three facts the pages need, recorded where they happen.

- The format a sender's basic message was really in (Cell.sent's "format"), read from the
  message: a product that also speaks Apicrypt sends that to an Apicrypt recipient, while
  its profile's send.format says smime. The sent line says the format read.
- A real engine's agent carries its profile, so that a verdict resting on the engine's
  assumed choice (PKI.js's key transport) names it, as a profile agent's does.
- A rejection cell whose receiver's engine is missing records why as facts
  (RejectionCell.not_observed), worded in the page's language as interop cells are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_report_refusals import with_rejections
from test_report_sample import sample_results

from conformance.agents.factory import close_agent, make_agent
from conformance.core.apicrypt_mark import BEGIN, END, MODEL_HEADER
from conformance.core.vocabulary import Function
from conformance.errors import MissingComponent
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.sent import sent_contradictions, with_format
from conformance.matrix.test_rejections import test_rejection_cell as rejection_cell
from conformance.paths import PROFILES_DIR
from conformance.profiles.loader import load_profiles
from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.views import ReportModel
from conformance.results import Cell, NotObserved, RejectionCell, RestsOn, Results

APICRYPT = (
    f"From: a@test.invalid\r\n{MODEL_HEADER}: model\r\n\r\n".encode()
    + BEGIN
    + b"\r\nKey-Owner: a@test.invalid\r\n\r\nAAAA\r\n"
    + END
    + b"\r\n"
)
PLAIN = b"From: a@test.invalid\r\nContent-Type: text/plain\r\n\r\nbonjour\r\n"


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    mp = pytest.MonkeyPatch()
    mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
    names = ("easycrypt-net", "apimail-apicrypt", "reference", "pkijs", "nss")
    profiles = load_profiles([PROFILES_DIR / f"{name}.yaml" for name in names])
    made = Cast(profiles, workdir=tmp_path_factory.mktemp("agents"))
    yield made
    made.close()
    mp.undo()


def _cell(cast: Cast, sender: str, receiver: str, function: Function = "encrypt") -> Cell:
    try:
        seats = cast.seat(sender, "sender"), cast.seat(receiver, "receiver")
    except MissingComponent as exc:  # a real engine not installed here
        pytest.skip(str(exc))
    return run_cell(*seats, function, cast.world(), CellSettings(examples=1, seed=3))


# -- 1. the format read from the message ----------------------------------------------


def test_a_message_in_the_apicrypt_format_is_recorded_as_such(cast: Cast) -> None:
    """EASYCRYPT.net's profile says smime; to an Apicrypt recipient it sends the model."""
    assert cast.profiles["easycrypt-net"].send.format == "smime"
    got = _cell(cast, "easycrypt-net", "apimail-apicrypt")
    assert got.verdict == "pass", got.reason
    assert got.sent == {"format": ["apicrypt"]}
    smime = _cell(cast, "easycrypt-net", "reference", "sign")
    assert smime.sent["format"] == ["smime"] and smime.sent["digest"] == ["sha1"]
    # The format is no algorithm: no contradiction of the profile's algorithms comes of it.
    assert sent_contradictions([got, smime], cast.profiles) == []


def test_the_format_is_read_not_guessed() -> None:
    assert with_format(APICRYPT, {}) == {"format": ["apicrypt"]}
    used = {"digest": ["sha256"]}
    assert with_format(b"x", used, []) == {"format": ["smime"], "digest": ["sha256"]}
    # The validator read it and found no S/MIME layer: plain.
    assert with_format(PLAIN, {}, []) == {"format": ["plain"]}
    # Nothing read and no validator's reading: not known, not recorded.
    assert with_format(PLAIN, {}) == {}


def _sample(root: Path) -> Results:
    results = sample_results(root)
    sender = next(a for a in results.agents if a.id == "easycrypt-net")
    assert sender.sends.get("format") == "smime"
    return results


@pytest.mark.parametrize(
    ("lang", "apicrypt", "smime", "nothing"),
    [
        ("fr", "Apicrypt (modèle du projet)", "S/MIME", "ni S/MIME ni Apicrypt"),
        ("en", "Apicrypt (the project's model)", "S/MIME", "neither S/MIME nor Apicrypt"),
    ],
)
def test_the_sent_line_says_the_format_read(
    tmp_path: Path, lang: str, apicrypt: str, smime: str, nothing: str
) -> None:
    results = _sample(tmp_path)
    cell = results.cell("easycrypt-net", "openssl", "encrypt")
    assert cell is not None
    model = ReportModel(results, Translator(lang))
    # not read (a results.json written before it): the profile's declared format is no fact
    # about the message
    assert model.sent_format(cell) is None
    cell.sent = {"format": ["apicrypt"]}
    assert model.sent_format(cell) == apicrypt
    assert model.sent_lines(cell) == []  # the format is not an algorithm line
    cell.sent = {"format": ["plain"]}
    assert model.sent_format(cell) == nothing
    cell.sent = {"format": ["smime"], "digest": ["sha1"]}
    assert model.sent_format(cell) == smime
    assert [names for _, names in model.sent_lines(cell)] == [["sha1"]]


# -- 2. a real engine's assumed choice ------------------------------------------------


def test_a_real_engine_agent_carries_its_profile(cast: Cast) -> None:
    profile = cast.profiles["pkijs"]
    try:
        agent = make_agent(profile)
    except MissingComponent as exc:
        pytest.skip(str(exc))
    try:
        assert getattr(agent, "profile", None) is profile
    finally:
        close_agent(agent)


@pytest.mark.engines
@pytest.mark.parametrize("function", ["encrypt", "sign-encrypt"])
def test_a_verdict_on_a_real_engines_assumed_choice_rests_on_it(
    cast: Cast, function: Function
) -> None:
    """PKI.js sends RSA-OAEP (assumed: the harness asks for it), NSS refuses the algorithm:
    the verdict rests on that assumed choice, and the cell says so. Signed inside, its
    signature's algorithms are sourced, but NSS did not open the envelope: what it refused
    is one of the envelope's, both assumed."""
    citation = cast.profiles["pkijs"].citation("send.encryption.key_transport")
    assert citation is not None and citation.assumed
    got = _cell(cast, "pkijs", "nss", function)
    assert got.verdict == "fail" and got.failed_at == "receiver", got.reason
    assert got.sent["key_transport"] == ["rsa-oaep-sha256"]
    fact = RestsOn(kind="profile", agent="pkijs", fact="sends.encryption.key_transport")
    assert fact in got.rests_on


# -- 3. a rejection cell whose receiver's engine is missing ---------------------------

MISSING = "cmsutil is not installed: apt-get install libnss3-tools"


class _NoEngine:
    def seat(self, agent_id: str, role: str) -> object:
        raise MissingComponent(MISSING)


class _Spec:
    seed = 1
    variants = 1
    out_dir = None

    def rejection_policy(self) -> str:
        return "osm-2008"


def test_a_rejection_cell_of_a_missing_engine_records_why_as_facts() -> None:
    recorded: dict[str, object] = {}
    with pytest.raises(pytest.skip.Exception):
        rejection_cell(("nss", "altered"), _NoEngine(), _Spec(), recorded.__setitem__)  # type: ignore[arg-type]
    cell = json.loads(str(recorded["osm_rejection"]))
    assert cell["verdict"] == "not-applicable"
    assert cell["reason"] == f"not installed here: {MISSING}"  # the English reason, unchanged
    assert cell["not_observed"] == {
        "kind": "engine-missing",
        "agent": "nss",
        "hop": None,
        "size": None,
        "limit": None,
        "detail": MISSING,
    }


def _refusals(root: Path, why: NotObserved | None, lang: str) -> str:
    results = with_rejections(root)
    assert results.rejections is not None
    cells = results.rejections.cells
    at = next(i for i, c in enumerate(cells) if (c.receiver, c.cls) == ("openssl", "altered"))
    cells[at] = RejectionCell(
        receiver="openssl",
        cls="altered",
        verdict="not-applicable",
        reason=f"not installed here: {MISSING}",
        not_observed=why,
    )
    if why is None:  # as a results.json written before the field
        data = json.loads(results.model_dump_json())
        for cell in data["rejections"]["cells"]:
            del cell["not_observed"]
        results = Results.model_validate(data)
    render_report(results, root, lang=lang)
    return (root / "refusals.html").read_text("utf-8").replace("&#39;", "'")


@pytest.mark.parametrize(
    ("lang", "worded"),
    [
        ("fr", "(motif de la suite : OpenSSL cms : moteur non installé ou non construit ici : "),
        ("en", "(the suite's reason: OpenSSL cms: engine not installed or not built here: "),
    ],
)
def test_the_refusals_page_words_a_missing_engine_in_its_language(
    tmp_path: Path, lang: str, worded: str
) -> None:
    why = NotObserved(kind="engine-missing", agent="openssl", detail=MISSING)
    page = _refusals(tmp_path, why, lang)
    assert worded + f'<q lang="en">{MISSING}</q>)' in page
    assert "not installed here:" not in page  # the English reason is not quoted


def test_an_older_rejection_cell_loads_and_quotes_its_english_reason(tmp_path: Path) -> None:
    page = _refusals(tmp_path, None, "fr")
    assert f'<q lang="en">not installed here: {MISSING}</q>' in page
