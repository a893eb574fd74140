"""A vendor adapter over the harness protocol (contract version 3) against the same adapter
run once per call: same cells, same verdicts, same evidence; a broken `serve` is an error.

The example adapter (examples/adapters/fictimail.py) declares "osm-harness/1" in its
`capabilities`; a CommandAgent told it speaks no protocol runs it one-shot.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents_support import REPO, make_cast, software_keys

from conformance.agents import harness
from conformance.agents.base import SendRequest
from conformance.agents.command import CommandAgent
from conformance.agents.factory import make_agent
from conformance.core.vocabulary import FUNCTIONS, Capabilities
from conformance.matrix.cast import Cast
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.exchange import Seat
from conformance.profiles.loader import load_profile, load_profiles
from conformance.scenarios import basic_scenario, build_entity
from conformance.status import ErrorCode

__all__ = ["software_keys"]

ALL = Capabilities(send=frozenset(FUNCTIONS), receive=frozenset(FUNCTIONS))


@pytest.fixture(scope="module")
def cast(software_keys: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    profiles = load_profiles()
    made = make_cast({i: profiles[i] for i in ("reference",)}, tmp_path_factory.mktemp("h"))
    yield made
    made.close()


def fictimail(protocols: tuple[str, ...] | None) -> CommandAgent:
    agent = make_agent(load_profile(REPO / "examples/adapters/fictimail.yaml"))
    assert isinstance(agent, CommandAgent)
    return CommandAgent(
        agent.id, agent.argv, agent.capabilities(), timeout=agent.timeout, protocols=protocols
    )


@pytest.mark.engines
def test_cells_through_the_protocol_match_one_shot(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("openssl") is None or shutil.which("python3") is None:
        pytest.skip("the example adapter needs openssl and python3 on PATH")
    monkeypatch.chdir(REPO)  # its profile names the script relative to the repository
    served = fictimail(None)
    assert served.protocols() == (harness.PROTOCOL,)  # read from its `capabilities`
    one_shot = fictimail(())
    assert one_shot.protocols() == ()
    settings = CellSettings(examples=3, seed=7)
    mine = cast.seat("reference", "sender")
    for function in ("sign-encrypt", "sign"):
        cells = []
        for agent in (one_shot, served):
            adapter = Seat(mine.party, mine.encryption_certificate, agent)
            there = run_cell(
                adapter, cast.seat("reference", "receiver"), function, cast.world(), settings
            )
            back = run_cell(
                cast.seat("reference", "sender"), adapter, function, cast.world(), settings
            )
            cells.append([(c.verdict, c.reason, c.examples, c.services) for c in (there, back)])
        assert cells[0] == cells[1], function
        assert cells[1][0][0] == cells[1][1][0] == "pass", cells
    # One FictiMail served every call of this worker; the evidence names the one-shot
    # command line all the same.
    pool = harness.harness_for([*served.argv, "serve"])
    assert pool.starts == 1 and pool.hello["implementation"] == "fictimail"
    entity = build_entity(basic_scenario("sign"))
    request = SendRequest(
        function="sign",
        content=entity,
        sender=mine.party,
        recipients=(),
        recipient_emails=(),
        recipient_parties=(),
        subject="x",
    )
    a, b = one_shot.send(request), served.send(request)
    assert a.evidence.command == b.evidence.command
    assert b.evidence.command[: len(served.argv) + 1] == [*served.argv, "send"]
    assert served.version() == one_shot.version()
    harness.close_all()


BROKEN = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "capabilities":
        print(json.dumps({"contract_version": 3, "send": [], "receive": [],
                          "protocols": ["osm-harness/1"]}))
    elif sys.argv[1] == "serve":
        print(json.dumps({"protocol": "osm-harness/1", "implementation": "broken"}), flush=True)
        sys.stdin.readline()
        print("broken adapter: out of cheese", file=sys.stderr, flush=True)
        sys.exit(3)
    """
)


def test_a_serve_that_dies_is_an_internal_error(cast: Cast, tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text(BROKEN, encoding="utf-8")
    agent = CommandAgent("broken", [sys.executable, str(script)], ALL)
    assert agent.protocols() == (harness.PROTOCOL,)
    mine = cast.seat("reference", "sender")
    request = SendRequest(
        function="sign",
        content=b"Content-Type: text/plain\r\n\r\nx\r\n",
        sender=mine.party,
        recipients=(),
        recipient_emails=(),
        recipient_parties=(),
        subject="x",
    )
    for _ in range(2):  # the second call starts a fresh child, which dies the same way
        result = agent.send(request)
        assert result.error is ErrorCode.INTERNAL and result.message is None
        assert "adapter harness" in (result.reason or "")
        assert "out of cheese" in (result.reason or "")
    assert harness.harness_for([sys.executable, str(script), "serve"]).starts == 2
    harness.close_all()


def test_an_adapter_without_capabilities_runs_one_shot(tmp_path: Path) -> None:
    script = tmp_path / "old.py"
    script.write_text("import sys\nsys.exit(2)\n", encoding="utf-8")
    assert CommandAgent("old", [sys.executable, str(script)], ALL).protocols() == ()
