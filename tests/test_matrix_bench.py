"""The matrix benchmark's stage split: every stage timed, the wrappers removed afterwards."""

from __future__ import annotations

import re

import pytest

from conformance.agents.profiled import ProfileAgent
from conformance.matrix import bench
from conformance.matrix import cell as cell_module


def test_split_times_the_stages_and_restores_them(capsys: pytest.CaptureFixture[str]) -> None:
    send, exchange = ProfileAgent.send, cell_module.exchange
    argv = ["--split", "--examples", "3", "--sender", "reference", "--receiver", "reference"]
    code = bench.run([*argv, "--function", "sign"])
    out = capsys.readouterr().out
    assert code == 0
    figures = dict(
        (label.strip(), float(ms))
        for ms, label in re.findall(r"^\s*([\d.]+) ms  (.+)$", out, re.MULTILINE)
    )
    rsa = figures["token RSA (SoftHSM, PKCS#11)"] + figures["software-key RSA"]
    assert figures["sender and receiver agents"] > rsa > 0
    assert (
        figures["cells (everything a cell does, per exchange)"]
        >= figures["exchange (send, carry, receive, compare)"]
    )
    assert figures["engine harness calls"] == 0  # two built-in agents: no engine
    assert ProfileAgent.send is send and cell_module.exchange is exchange
