"""The rejection cases as data: what a receiver must refuse, and why, per policy.

Like x509-limbo's test cases, each case is a record, not code: its class, the
function it attacks, the spec it relies on, the services the attack breaks and
its expected outcome under each policy of conformance/check/policies. So what
"must refuse" means under osm-2008 and under modern is written down in
cases.yaml, where it can be read and argued with. The JSON Schema
(docs/rejection-cases.schema.json) is generated from these models.

Expectations:
- `refuse`: the receiver refuses the message, or delivers it without claiming
  any of the services the case `breaks`;
- `withhold:<service>`: the receiver may deliver the message and claim the other
  services, but not this one;
- `warn`: the policy tolerates what the case does (the validator reports it
  as a WARNING): refusing and accepting both pass.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from conformance.core.vocabulary import SERVICES, Function, Language, Service
from conformance.errors import UserError

__all__ = [
    "CASES_FILE",
    "CLASSES",
    "POLICIES",
    "PRODUCERS",
    "Expectation",
    "Language",
    "Policy",
    "Producer",
    "RejectionCase",
    "RejectionClass",
    "load_cases",
    "parse_cases",
    "schema",
    "withheld_service",
]

# The nine classes of issue 14, in its order.
RejectionClass = Literal[
    "altered",
    "wrong-signer",
    "defective-signer",
    "from-mismatch",
    "partial-signature",
    "stripped-signature",
    "encrypt-malleability",
    "not-for-me",
    "downgrade",
]
CLASSES: tuple[RejectionClass, ...] = get_args(RejectionClass)
# The policies of conformance/check/policies, by id.
Policy = Literal["osm-2008", "modern"]
POLICIES: tuple[Policy, ...] = get_args(Policy)
# Who makes the valid message the hostile one is made from.
Producer = Literal["reference", "openssl"]
PRODUCERS: tuple[Producer, ...] = get_args(Producer)

_EXPECTATION = r"^(refuse|warn|withhold:(" + "|".join(SERVICES) + r"))$"
Expectation = Annotated[str, StringConstraints(pattern=_EXPECTATION)]
Sentence = Annotated[str, StringConstraints(min_length=1, pattern=r"^[^\n]+$")]
CaseId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]

CASES_FILE = "cases.yaml"


class RejectionCase(BaseModel):
    """One hostile message and what a receiver must do with it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: CaseId = Field(description="Stable id, used in results.json and the report.")
    cls: RejectionClass = Field(alias="class", description="The class of attack (issue 14).")
    function: Function = Field(description="The function the hostile message attacks.")
    title: dict[Language, Sentence] = Field(description="A short title, in French and English.")
    explanation: dict[Language, Sentence] = Field(
        description="One sentence: what was done to the message and why it must be refused."
    )
    spec: Sentence = Field(description="What the expectation relies on: RFC sections, policy.")
    spec_fr: Sentence = Field(description="The same reference with its notes in French.")
    producers: tuple[Producer, ...] = Field(
        min_length=1, description="Who makes the valid message the hostile one is made from."
    )
    breaks: tuple[Service, ...] = Field(
        min_length=1, description="The services the attack breaks: none may be claimed."
    )
    expected: dict[Policy, Expectation] = Field(
        description="Per policy: refuse, withhold:<service> or warn."
    )

    def expectation(self, policy: Policy) -> str:
        return self.expected[policy]


def withheld_service(expectation: str) -> Service | None:
    """The service of a `withhold:<service>` expectation, None for refuse and warn."""
    _, _, service = expectation.partition("withhold:")
    for known in SERVICES:
        if service == known:
            return known
    return None


def _complete(case: RejectionCase, where: str) -> list[str]:
    problems = []
    for field, mapping, keys in (
        ("title", case.title, get_args(Language)),
        ("explanation", case.explanation, get_args(Language)),
        ("expected", case.expected, POLICIES),
    ):
        missing = [k for k in keys if k not in mapping]
        if missing:
            problems.append(f"{where}: case {case.id}: {field} lacks {', '.join(missing)}")
    service = [withheld_service(e) for e in case.expected.values()]
    stray = [s for s in service if s is not None and s not in case.breaks]
    if stray:
        problems.append(f"{where}: case {case.id}: withholds {stray[0]}, which it does not break")
    return problems


def parse_cases(data: Any, where: str = CASES_FILE) -> tuple[RejectionCase, ...]:
    """Validate the cases document (`{cases: [...]}`); UserError naming each problem."""
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise UserError(f"{where}: expected a mapping with a 'cases' list")
    cases: list[RejectionCase] = []
    problems: list[str] = []
    for index, item in enumerate(data["cases"]):
        try:
            case = RejectionCase.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"{where}: cases[{index}].{loc}: {err['msg']}")
            continue
        problems += _complete(case, where)
        cases.append(case)
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            problems.append(f"{where}: case id {case.id} appears twice")
        seen.add(case.id)
    if problems:
        raise UserError("\n".join(problems))
    return tuple(cases)


@cache
def load_cases() -> tuple[RejectionCase, ...]:
    """The shipped cases (conformance/rejections/cases.yaml), validated."""
    resource = resources.files("conformance.rejections") / CASES_FILE
    where = f"conformance/rejections/{CASES_FILE}"
    try:
        data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"{where}: invalid YAML: {exc}") from exc
    return parse_cases(data, where)


class _CasesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: list[RejectionCase]


def schema() -> dict[str, Any]:
    """The JSON Schema of cases.yaml (docs/rejection-cases.schema.json)."""
    generated = _CasesFile.model_json_schema(by_alias=True)
    generated["title"] = "osm-conformance rejection cases"
    generated["description"] = (
        "The hostile messages a receiver must refuse, with the expected outcome per policy "
        "(conformance/rejections/cases.yaml)."
    )
    return generated
