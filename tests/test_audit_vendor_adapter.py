"""adapter check: a `serve` that hangs is a timeout, and no status read is no status checked.

A harness call that used up its time was recorded as a `serve` that did not start, so
the `timing` check passed while every call had hung; and `status JSON` said "N
statuses valid" counting receive calls that had written none.
"""

from __future__ import annotations

import sys
from pathlib import Path

from conformance.adapters.check import AdapterReport, _breaches
from conformance.agents import harness
from conformance.agents.base import ReceiveRequest
from conformance.agents.command import AdapterCall, CommandAgent
from conformance.core.vocabulary import FUNCTIONS, Capabilities, Party
from conformance.status import ErrorCode

ALL = Capabilities(send=frozenset(FUNCTIONS), receive=frozenset(FUNCTIONS))
HANGS = """\
import json, sys, time
if sys.argv[1:] == ["capabilities"]:
    print(json.dumps({"contract_version": 4, "send": ["sign"], "receive": ["sign"],
                      "protocols": ["osm-harness/1"]}))
    sys.exit(0)
print(json.dumps({"protocol": "osm-harness/1", "implementation": "hangs", "version": "0"}))
sys.stdout.flush()
sys.stdin.readline()
time.sleep(60)
"""


def test_a_serve_that_hangs_is_a_timeout(tmp_path: Path) -> None:
    script = tmp_path / "hangs.py"
    script.write_text(HANGS, encoding="utf-8")
    calls: list[AdapterCall] = []
    agent = CommandAgent(
        "hangs", [sys.executable, str(script)], ALL, timeout=0.5, on_call=calls.append
    )
    me = Party(tmp_path, "me@osm-test.example", "Me")
    try:
        status = agent.receive(ReceiveRequest(b"From: a@b\r\n\r\nx\r\n", me, trust=())).status
    finally:
        harness.close_all()
    error = status.primary_error()
    assert error is not None and error.code is ErrorCode.INTERNAL
    assert "in time" in error.message
    assert [(c.verb, c.breach) for c in calls] == [("receive", "timeout")]


def test_status_json_counts_only_the_statuses_read() -> None:
    report = AdapterReport(("adapter",))
    report.calls = [
        AdapterCall("send", "sign", 0.1, 0),
        AdapterCall("receive", None, 0.5, None, "timeout", "adapter timed out"),
        AdapterCall("receive", None, 0.1, 0),
    ]
    status, _ = _breaches(report)
    assert (status.outcome, status.detail) == ("pass", "1 statuses valid over 3 calls")
    report.calls = report.calls[:2]
    status, _ = _breaches(report)
    assert status.outcome == "skip" and "no status to check" in status.detail
