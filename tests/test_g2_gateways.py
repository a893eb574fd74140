"""Gateways (`run --via`): whose fault a gateway's damage is, and chains checked up front.

- A sender is judged on the message it sent, before any hop: a gateway that breaks the
  signature makes the cell fail, never the sender non-conformant; the summary counts each
  sender's message once (the plain route's cells).
- A chain whose evidence folder (FUNCTION@HOP+HOP) would not fit in a file name, and a
  chain with the mailbox's `lf-store` before another hop, are usage errors before any cell.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.core.vocabulary import Function
from conformance.errors import UserError
from conformance.mail.gateways import footer, misplaced_hop
from conformance.mail.route import HOPS
from conformance.matrix.assemble import assemble
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.evidence import EvidenceWriter
from conformance.matrix.finish import summary
from conformance.matrix.routes import NAME_MAX, parse_via
from conformance.matrix.spec import MatrixSpec
from conformance.paths import PROFILES_DIR
from conformance.profiles.claims import Claims
from conformance.profiles.loader import load_profiles
from conformance.results import Cell, RunInfo

# Leaves its certificate out of the signature: CMS-002, the sender's own fault.
NO_CERTIFICATE = """\
id: no-certificate
extends: reference
identity:
  name: Signs without its certificate
send:
  signature:
    certificates: none
provenance:
  identity.name: {assumed: true, reason: a test profile}
  send.signature.certificates: {assumed: true, reason: a test profile}
"""


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    mp = pytest.MonkeyPatch()
    mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
    folder = tmp_path_factory.mktemp("profiles")
    (folder / "no-certificate.yaml").write_text(NO_CERTIFICATE, encoding="utf-8")
    paths = [
        folder / "no-certificate.yaml",
        PROFILES_DIR / "reference.yaml",
        PROFILES_DIR / "apimail-apicrypt.yaml",
    ]
    made = Cast(load_profiles(paths), workdir=tmp_path_factory.mktemp("agents"))
    yield made
    made.close()
    mp.undo()


def _cell(
    cast: Cast, sender: str, route: tuple[str, ...] = (), receiver: str = "reference"
) -> Cell:
    """One sign cell; through `footer` the world's transport is that gateway's rewrite (the
    same bytes its SMTP hop would deliver), so no server is needed."""
    world = cast.world()
    if route:
        world = replace(world, transport=lambda message, _recipient: footer(message))
    return run_cell(
        cast.seat(sender, "sender"),
        cast.seat(receiver, "receiver"),
        "sign",
        world,
        CellSettings(examples=1, seed=3, route=route),
    )


def test_a_gateways_damage_is_not_the_senders_nonconformance(cast: Cast) -> None:
    plain = _cell(cast, "reference")
    through = _cell(cast, "reference", ("footer",))
    assert plain.verdict == "pass" and plain.nonconformant == []
    # The footer breaks the detached signature: the receiver says so (the verdict), but the
    # message the sender sent breaks no rule (judged before the hop, not as delivered).
    assert through.verdict == "fail", through.reason
    assert through.nonconformant == []


def test_the_senders_own_fault_is_found_through_a_gateway_too(cast: Cast) -> None:
    assert _cell(cast, "no-certificate", ("footer",)).nonconformant == ["CMS-002"]


def test_an_apicrypt_message_is_judged_as_addressed_to_its_relay(cast: Cast) -> None:
    """The model's sender mails its relay: that address is no fault of the message."""
    got = _cell(cast, "apimail-apicrypt", receiver="apimail-apicrypt")
    assert got.sent.get("format") == ["apicrypt"]
    assert "HDR-009" not in got.nonconformant


def test_the_summary_counts_each_senders_message_once(cast: Cast) -> None:
    cells = [_cell(cast, "no-certificate"), _cell(cast, "no-certificate", ("footer",))]
    assert all(c.nonconformant == ["CMS-002"] for c in cells)
    run = RunInfo(
        seed=3,
        examples=1,
        started="2026-01-01T00:00:00+00:00",
        complete=True,
        suite_version="test",
        functions=["sign"],
    )
    results = assemble(run, cast.profiles, cells, Claims({}, {}, {}))
    assert "non-conformant messages: 1 cells" in summary(results)


def _spec(route: tuple[str, ...], function: Function = "sign") -> MatrixSpec:
    return MatrixSpec(
        senders=("reference",),
        receivers=("reference",),
        functions=(function,),
        transport="smtp",
        via=(route,),
    )


def test_a_chain_too_long_for_its_evidence_folder_is_refused_up_front() -> None:
    with pytest.raises(UserError) as caught:
        _spec(("subject-tag",) * 300).check()
    said = str(caught.value)
    assert said.startswith("--via subject-tag+subject-tag")
    assert "(300 hops)" in said and "3604 bytes, over the 255" in said
    assert "\n" not in said and len(said) < 300  # one line, not the whole chain
    with pytest.raises(UserError, match=r"^--osm-via .*first-contact cells"):
        _spec(("refold",) * 35, "first-contact").check("--osm-")


def test_the_longest_chain_that_fits_is_accepted_and_written(tmp_path: Path) -> None:
    # "sign@" + 35 x "refold" joined by "+": 5 + 35 * 7 - 1 = 249 bytes; 36 would be 256.
    fits = ("refold",) * 35
    _spec(fits).check()
    with pytest.raises(UserError):
        _spec(("refold",) * 36).check()
    writer = EvidenceWriter(tmp_path, "a", "b", "sign", route=("refold",) * 35)
    assert len(writer.rel.name) <= NAME_MAX
    writer._write("basic.sent.eml", b"x")  # the folder is a name the file system takes
    assert (tmp_path / writer.rel / "basic.sent.eml").is_file()


def test_the_mailboxs_rewrite_can_only_end_a_chain() -> None:
    with pytest.raises(UserError) as caught:
        parse_via(["lf-store+footer"], HOPS)
    assert str(caught.value) == (
        "--via lf-store+footer: lf-store stands for the mailbox, which rewrites what it serves "
        "at the end of every route, after every relay: put it last (footer+lf-store)"
    )
    with pytest.raises(UserError, match=r"put it last \(lf-store\)$"):
        parse_via(["lf-store+lf-store"], HOPS)
    assert parse_via(["footer+lf-store", "lf-store"], HOPS) == (
        ("footer", "lf-store"),
        ("lf-store",),
    )
    assert misplaced_hop(("postfix", "lf-store")) is None
    assert misplaced_hop(("lf-store", "postfix", "footer")) == "lf-store"
    assert misplaced_hop(()) is None


def test_run_refuses_a_misordered_chain_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--sender",
            "reference",
            "--receiver",
            "reference",
            "--function",
            "sign",
            "--no-rejections",
            "--via",
            "lf-store+footer",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "put it last (footer+lf-store)" in done.stderr
    assert not (tmp_path / "out").exists()  # refused before any work
