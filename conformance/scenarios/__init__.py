"""Scenarios: what a professional sends (letter, attachments, HPRIM), and the check
that it arrived intact.

- `Scenario` (model): the data; `Scenario.describe()` for counterexample evidence.
- `build_entity(scenario)` (content): the MIME entity a mail client composes.
- `compare(scenario, received_entity)` (compare): reasons it did not arrive intact.
- `scenarios(function)`, `basic_scenario(function)` (strategies): hypothesis
  strategies and the fixed first example of each function.
- `hprim`: HPRIM Médecin / Santé generator and parser.
"""

from conformance.scenarios.compare import compare
from conformance.scenarios.content import build_entity
from conformance.scenarios.model import Attachment, HprimPayload, Scenario
from conformance.scenarios.strategies import basic_scenario, scenarios

__all__ = [
    "Attachment",
    "HprimPayload",
    "Scenario",
    "basic_scenario",
    "build_entity",
    "compare",
    "scenarios",
]
