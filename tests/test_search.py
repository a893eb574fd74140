"""The search's draws depend on its seed and the strategies alone (conformance.search)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import hypothesis.core
import pytest
from hypothesis import Phase, given

from conformance.core.vocabulary import Function
from conformance.scenarios import scenarios
from conformance.scenarios.model import Scenario
from conformance.search import searched

# Strings, byte strings and numbers hypothesis would take as "local" constants: short,
# written with the letters the scenarios' free texts are drawn from, and new to the process
# (a module's constants stay in hypothesis's pool once seen).
_WORDS = ("Bonjour", "Docteur", "Madame", "patient", "lettre", "analyse", "dossier", "radio")


def _sample_module(tag: str) -> str:
    words = [f"{word} {tag}" for word in _WORDS] + [tag, tag[:2], tag[::-1]]
    raw = [tag.encode(), b"\x00" + tag.encode(), tag.encode() * 2]
    numbers = [1000 + len(tag), 65537 * len(tag), -500 - len(tag)]
    return f"WORDS = {words!r}\nRAW = {raw!r}\nNUMBERS = {numbers!r}\n"


def _draws(function: Function) -> list[Scenario]:
    seen: list[Scenario] = []

    def check(scenario: Scenario) -> None:
        seen.append(scenario)

    searched(given(scenarios(function))(check), examples=40, phases=[Phase.generate], seed=2008)()
    return seen


@pytest.mark.parametrize("function", ["sign", "hprim-net", "attachments"])
def test_a_search_draws_the_same_examples_whatever_modules_are_loaded(
    function: Function, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hypothesis mixes in constants from the source of the modules loaded: a cell's
    examples would change with the modules its worker imported for earlier cells."""
    before = _draws(function)
    tag = function.replace("-", "")
    name = f"osm_sample_constants_{tag}"
    (tmp_path / f"{name}.py").write_text(_sample_module(tag))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module(name)
        after = _draws(function)
    finally:
        sys.modules.pop(name, None)
    assert len(before) == 40
    assert after == before


def test_a_search_does_not_hash_its_test_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a database there is nothing to name: the source is not read per cell."""

    def hashed(function: object) -> bytes:
        raise AssertionError(f"the source of {function!r} was hashed")

    monkeypatch.setattr(hypothesis.core, "function_digest", hashed)
    assert len(_draws("sign")) == 40
