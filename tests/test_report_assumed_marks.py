"""A verdict that rests on an assumed fact says so: the cell carries what it rests on
(Cell.rests_on, set where the exchange is judged), the pages mark the verdict, its tooltip
and the sheet's finding; a sheet says when the suite looks a recipient up for a tool."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from conformance.agents.base import Evidence, Reception, SendResult
from conformance.agents.profiled import ProfileAgent
from conformance.directory.tree import ASSUMED
from conformance.matrix.assemble import agent_info
from conformance.matrix.cell import rests_on
from conformance.matrix.exchange import Observation, Seat
from conformance.profiles.loader import load_profile
from conformance.report import render_report
from conformance.report.i18n import Translator
from conformance.report.views import VERDICT_SYMBOLS, AssumedView, ReportModel
from conformance.results import (
    Cell,
    LookupFound,
    RestsOn,
    Results,
    RunInfo,
    SuiteLookup,
)
from conformance.status import ErrorCode, Status

OAEP = {"content_cipher": ["aes256-cbc"], "key_transport": ["rsa-oaep-sha256"]}
PKCS1 = {"content_cipher": ["des-ede3-cbc"], "key_transport": ["rsa-pkcs1v15"]}


def _seat(agent: object) -> Seat:
    """Only the agent of a seat is read when a verdict's grounds are set."""
    return cast(Seat, SimpleNamespace(agent=agent))


def _profiled(profile_id: str) -> ProfileAgent:
    return ProfileAgent(load_profile(profile_id))


def _refused(code: ErrorCode, words: str) -> Observation:
    status = Status()
    status.add_error(code, words)
    return Observation(ok=False, reason=f"{code.value}: {words}", reception=Reception(None, status))


def _failed(sender: str, receiver: str, sent: dict[str, list[str]], **kw: Any) -> Cell:
    return Cell(
        sender=sender,
        receiver=receiver,
        function=kw.pop("function", "encrypt"),
        verdict="fail",
        failed_at=kw.pop("failed_at", "receiver"),
        sent=sent,
        **kw,
    )


# -- where the verdict is set (matrix.cell.rests_on) --------------------------------------


def test_a_simulated_receivers_refusal_rests_on_its_profile_list_and_the_senders_choice() -> None:
    cell = _failed("reference", "apimail-smime", OAEP)
    obs = _refused(ErrorCode.UNSUPPORTED_ALGORITHM, "receiver does not accept key transport x")
    found = rests_on(cell, obs, _seat(_profiled("reference")), _seat(_profiled("apimail-smime")))
    assert [(r.kind, r.agent, r.fact) for r in found] == [
        ("profile", "apimail-smime", "accepts.smime.key_transports"),
        ("profile", "reference", "sends.encryption.key_transport"),
    ]


def test_a_refusal_the_policy_makes_anyway_does_not_rest_on_the_profile() -> None:
    """md5 is graded by no policy: the receiver would refuse it without its profile's list."""
    cell = _failed("reference", "apimail-smime", {"digest": ["md5"]}, function="sign")
    obs = _refused(ErrorCode.UNSUPPORTED_ALGORITHM, "receiver does not accept digest md5")
    assert rests_on(cell, obs, _seat(object()), _seat(_profiled("apimail-smime"))) == []


def test_a_real_receivers_refusal_rests_on_a_simulated_senders_assumed_algorithms() -> None:
    """PKI.js does not say which algorithm it refused, but every one MMUA used is assumed."""
    cell = _failed("mmua", "pkijs", PKCS1)
    obs = _refused(ErrorCode.UNSUPPORTED_ALGORITHM, "EnvelopedData.decrypt: NotSupportedError")
    found = rests_on(cell, obs, _seat(_profiled("mmua")), _seat(object()))
    assert {(r.agent, r.fact) for r in found} == {
        ("mmua", "sends.encryption.content"),
        ("mmua", "sends.encryption.key_transport"),
    }
    # the suite's reference chose its algorithms (project-choice): nothing assumed to name
    sent = {"content_cipher": ["aes256-cbc"], "key_transport": ["rsa-oaep-sha256"]}
    ref = _failed("reference", "pkijs", sent)
    assert rests_on(ref, obs, _seat(_profiled("reference")), _seat(object())) == []


def test_another_refusal_rests_on_no_profile_fact() -> None:
    cell = _failed("reference", "apimail-smime", OAEP)
    obs = _refused(ErrorCode.BAD_SIGNATURE, "the signature does not verify")
    assert (
        rests_on(cell, obs, _seat(_profiled("reference")), _seat(_profiled("apimail-smime"))) == []
    )


def _no_certificate(lookup: SuiteLookup | None = None) -> Observation:
    sent = SendResult(None, ErrorCode.NO_RECIPIENT_CERTIFICATE, "found none for encryption")
    sent.evidence = Evidence(suite_lookup=lookup)
    return Observation(ok=False, reason="sender cannot send", send=sent)


def test_a_senders_own_failed_lookup_rests_on_the_directorys_assumed_layout() -> None:
    cell = _failed("tool", "openssl", {}, function="first-contact", failed_at="sender")
    looks_up = SimpleNamespace(profile=load_profile("mmua"))  # looks up itself
    found = rests_on(cell, _no_certificate(), _seat(looks_up), _seat(object()))
    assert [(r.kind, r.fact, r.reason) for r in found] == [
        ("directory-layout", what, why) for what, why in ASSUMED
    ]
    # a sender that never looks up fails with any directory: its verdict rests on none
    mmua = load_profile("mmua")
    never = mmua.model_copy(
        update={"send": mmua.send.model_copy(update={"recipient_certificate": "manual"})}
    )
    manual = SimpleNamespace(profile=never)
    assert rests_on(cell, _no_certificate(), _seat(manual), _seat(object())) == []


def test_the_suites_lookup_for_a_tool_is_not_the_tools_lookup() -> None:
    cell = _failed("tool", "openssl", {}, function="first-contact", failed_at="sender")
    lookup = SuiteLookup(tool="tool", why="no-directory-client", directory="ldap://x/o=T")
    found = rests_on(cell, _no_certificate(lookup), _seat(object()), _seat(object()))
    assert found == []


# -- the pages ----------------------------------------------------------------------------


def _results() -> Results:
    agents = [
        agent_info(load_profile(p), {}) for p in ("apimail-smime", "pkijs", "mmua", "reference")
    ]
    assumed = [
        RestsOn(kind="profile", agent="apimail-smime", fact="accepts.smime.key_transports"),
        RestsOn(kind="profile", agent="pkijs", fact="sends.encryption.key_transport"),
    ]
    found = LookupFound(mail="a@b", dn="uid=1", serial="1f")
    lookup = SuiteLookup(tool="pkijs", why="no-directory-client", directory="ldap://x/o=T")
    lookup.found.append(found)
    cells = [
        _failed(
            "pkijs", "apimail-smime", OAEP, rests_on=assumed, reason="unsupported-algorithm: x"
        ),
        _failed(
            "reference",
            "apimail-smime",
            OAEP,
            function="sign-encrypt",
            reason="unsupported-algorithm: x",
            rests_on=[RestsOn(kind="profile", agent="reference", fact="sends.signature.digest")],
        ),
        Cell(
            sender="pkijs",
            receiver="mmua",
            function="first-contact",
            verdict="pass",
            suite_lookup=lookup,
        ),
    ]
    run = RunInfo(seed=1, examples=1, started="2026", complete=True, suite_version="t")
    return Results(run=run, agents=agents, cells=cells, pairs=[])


def _views(lang: str = "fr") -> dict[tuple[str, str, str], Any]:
    model = ReportModel(_results(), Translator(lang))
    return {
        (pv.sender.info.id, pv.receiver.info.id, fv.function): fv
        for pv in model.pairs.values()
        for fv in pv.functions
        if fv.cell is not None
    }


def test_the_verdict_mark_and_its_tooltip_say_it_rests_on_an_assumption() -> None:
    fv = _views("fr")[("pkijs", "apimail-smime", "encrypt")]
    assert fv.symbol == VERDICT_SYMBOLS["fail"] + "*"
    assert "repose sur une supposition" in fv.title
    # the receiver's assumed fact, its value and its French reason; then the sender's
    assert "Apimail (S/MIME) · " in fv.title and "rsa-pkcs1v15" in fv.title
    assert "supposé : le produit déchiffre avec la carte CPS de 2008" in fv.title
    assert [a.text.split(" · ")[0] for a in fv.assumed] == ["Apimail (S/MIME)", "PKI.js"]


def test_a_sourced_fact_is_not_marked() -> None:
    """The reference's digest is the project's choice, not an assumption."""
    fv = _views("en")[("reference", "apimail-smime", "sign-encrypt")]
    assert fv.assumed == [] and fv.symbol == VERDICT_SYMBOLS["fail"]
    assert "assumption" not in fv.title


def test_the_sheets_finding_and_the_dialog_name_the_assumed_fact(tmp_path: Path) -> None:
    render_report(_results(), tmp_path, lang="en")
    sheet = (tmp_path / "products" / "pkijs.html").read_text("utf-8")
    finding = re.search(r'<tr class="finding v-fail">.*?</tr>', sheet, re.S)
    assert finding is not None
    assert "rests on an assumption" in finding.group(0)
    assert "Apimail (S/MIME) · " in finding.group(0) and "rsa-pkcs1v15" in finding.group(0)
    index = (tmp_path / "index.html").read_text("utf-8")
    assert "Rests on an assumption" in index  # the cell's detail


def test_the_sheet_says_the_suite_looks_the_recipient_up_for_a_tool(tmp_path: Path) -> None:
    render_report(_results(), tmp_path, lang="fr")
    pkijs = (tmp_path / "products" / "pkijs.html").read_text("utf-8")
    assert "la suite y cherche pour lui (sans client d&#39;annuaire)" in pkijs
    mmua = (tmp_path / "products" / "mmua.html").read_text("utf-8")
    assert "la suite y cherche pour lui" not in mmua  # it looks up itself


def test_a_tooltip_leaves_the_directory_layouts_english_parts_to_the_detail() -> None:
    """The layout's parts are the suite's English (directory.tree.ASSUMED): a French mark's
    title says what it rests on in French, the cell's detail lists the parts."""
    parts = tuple(what for what, _ in ASSUMED)
    view = AssumedView(text="la disposition de l'annuaire de la suite", parts=parts)
    line = view.line(Translator("fr"))
    assert line == "la disposition de l'annuaire de la suite"
    assert not any(part in line for part in parts)
