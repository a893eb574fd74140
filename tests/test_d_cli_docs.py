"""The options and examples the docs give are the code's: the status JSON example of
docs/agent-cli.md, the pytest plugin's options in docs/matrix.md, and the options of the
README's command table for the commands it gives a synopsis of."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance import pytest_plugin
from conformance.cli import build_parser
from conformance.status import CONTRACT_VERSION, Status

REPO = Path(__file__).resolve().parent.parent
# The README rows that spell out their command's options (the others point to a doc).
SYNOPSIS_ROWS = ("run", "report", "diff", "check", "serve", "choose", "schemas")


def _text(name: str) -> str:
    return (REPO / name).read_text(encoding="utf-8")


def test_the_status_json_example_is_a_status_of_the_current_contract() -> None:
    text = _text("docs/agent-cli.md")
    section = text[text.index("## The status JSON") :]
    example = json.loads(re.findall(r"```json\n(.*?)```", section, re.S)[0])
    assert example["contract_version"] == CONTRACT_VERSION
    Status.from_json(example)  # read as the matrix reads an adapter's, strictly


class _Options:
    """Stands in for pytest's parser and its group: records the option names."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def getgroup(self, *args: Any, **kwargs: Any) -> _Options:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.names += names


def test_the_plugin_table_names_every_option_of_the_plugin() -> None:
    options = _Options()
    pytest_plugin.pytest_addoption(options)  # type: ignore[arg-type]
    text = _text("docs/matrix.md")
    start = text.index("## The pytest plugin")
    rows = [line for line in text[start:].splitlines() if line.startswith("| `--osm-")]
    first = [re.split(r"(?<!\\)\|", row)[1] for row in rows]  # a `\|` is inside a cell
    documented = {n for cell in first for n in re.findall(r"`(--osm-[a-z-]+)", cell)}
    assert set(options.names) == documented


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _long_options(sub)
        found |= {o for o in action.option_strings if o.startswith("--") and o != "--help"}
    return found


def _commands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("command", SYNOPSIS_ROWS)
def test_the_readme_row_gives_every_option(command: str) -> None:
    text = _text("README.md")
    table = text[text.index("## Commands") : text.index("Other documents:")]
    (row,) = [r for r in table.splitlines() if r.startswith(f"| `{command}")]
    missing = sorted(o for o in _long_options(_commands()[command]) if o not in row)
    assert not missing, f"README's row for {command} leaves out {missing}"
