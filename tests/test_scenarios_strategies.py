"""The strategies produce every special feature, shrink small, and stay consistent.

Features are checked on one bounded, derandomized sample per function (generation
only, no shrinking), which is fast and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from random import Random
from unittest import mock

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants

from conformance.core.vocabulary import FUNCTIONS, Function
from conformance.scenarios import Scenario, basic_scenario, build_entity, compare, scenarios
from conformance.scenarios.attachments import DICOM_PREAMBLE, PNG_SIGNATURE
from conformance.scenarios.model import line_problems

SAMPLE = 160


def _generate(function: Function, n: int) -> tuple[Scenario, ...]:
    """A derandomized sample that depends on the suite's version alone.

    Hypothesis mixes constants found in the loaded modules into what it draws, so
    the same seed gave another sample depending on which modules an xdist worker
    had imported (a rare feature then went missing). The constants are left out
    here; if hypothesis renames this internal, the patch fails loudly.
    """
    found: list[Scenario] = []

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(scenarios(function))
    def collect(scenario: Scenario) -> None:
        found.append(scenario)

    with mock.patch.object(providers, "_get_local_constants", Constants):
        collect()
    return tuple(found)


@cache
def _sample(function: Function, n: int = SAMPLE) -> tuple[Scenario, ...]:
    return _generate(function, n)


def _lines(s: Scenario) -> list[str]:
    return s.body.split("\r\n")


LETTER_FEATURES: dict[str, Callable[[Scenario], bool]] = {
    "empty body": lambda s: s.body == "",
    "ISO-8859-1 accents": lambda s: s.charset == "iso-8859-1" and not s.body.isascii(),
    "UTF-8 beyond Latin-1": lambda s: s.charset == "utf-8" and any(c in s.body for c in "œ€’"),
    "long line": lambda s: line_problems(s.body_bytes)[0] > 0,
    "trailing whitespace": lambda s: any(ln != ln.rstrip(" \t") for ln in _lines(s)),
    '"From " line': lambda s: any(ln.startswith("From ") for ln in _lines(s)),
    '"-" line': lambda s: any(ln.startswith("-") for ln in _lines(s)),
    "bare CR": lambda s: line_problems(s.body_bytes)[1] > 0,
    "bare LF": lambda s: line_problems(s.body_bytes)[2] > 0,
    "8bit transfer": lambda s: s.transfer_encoding == "8bit" and not s.body.isascii(),
    "7bit transfer": lambda s: s.transfer_encoding == "7bit" and s.body != "",
    "quoted-printable transfer": lambda s: s.transfer_encoding == "quoted-printable",
    "base64 transfer": lambda s: s.transfer_encoding == "base64",
    "encoded-word subject": lambda s: not s.subject.isascii(),
    "one recipient": lambda s: s.recipients == 1,
    "three recipients": lambda s: s.recipients == 3,
    "large body": lambda s: len(s.body_bytes) > 20_000,
}


@pytest.mark.parametrize("feature", list(LETTER_FEATURES))
def test_letters_have_each_feature(feature: str) -> None:
    sample = _sample("sign")
    assert any(LETTER_FEATURES[feature](s) for s in sample)
    assert not all(LETTER_FEATURES[feature](s) for s in sample)  # a feature, not the norm


def test_large_bodies_are_rare() -> None:
    assert sum(len(s.body_bytes) > 20_000 for s in _sample("sign")) <= SAMPLE // 10


FILE_FEATURES: dict[str, Callable[[Scenario], bool]] = {
    "PDF": lambda s: any(a.data.startswith(b"%PDF-1.4") for a in s.attachments),
    "PNG": lambda s: any(a.data.startswith(PNG_SIGNATURE) for a in s.attachments),
    "DICOM": lambda s: any(a.data.startswith(DICOM_PREAMBLE) for a in s.attachments),
    "accented name": lambda s: any(not a.filename.isascii() for a in s.attachments),
    "several files": lambda s: len(s.attachments) >= 2,
}


@pytest.mark.parametrize("feature", list(FILE_FEATURES))
def test_attachments_have_each_feature(feature: str) -> None:
    sample = _sample("attachments")
    assert all(s.attachments and s.hprim is None for s in sample)
    assert any(FILE_FEATURES[feature](s) for s in sample)


def test_hprim_net_has_both_variants() -> None:
    sample = _sample("hprim-net", 30)
    assert all(s.hprim is not None and not s.attachments for s in sample)
    assert {s.hprim.variant for s in sample if s.hprim} == {"medecin", "sante"}


@pytest.mark.parametrize("function", ["sign", "encrypt", "sign-encrypt"])
def test_plain_functions_carry_a_letter_only(function: Function) -> None:
    assert all(not s.attachments and s.hprim is None for s in _sample(function, 30))


def _strips_trailing_whitespace(entity: bytes) -> bytes:
    """A lossy receiver, as the matrix may meet one."""
    return b"\r\n".join(line.rstrip(b" \t") for line in entity.split(b"\r\n"))


def test_shrinking_gives_a_readable_counterexample() -> None:
    config = settings(
        max_examples=1000, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    found: Scenario = find(
        scenarios("sign"),
        lambda s: compare(s, _strips_trailing_whitespace(build_entity(s))) != [],
        settings=config,
        random=Random(3),
    )
    # Small and readable; the exact minimum reached depends on the shrinker's path.
    assert len(found.body) <= 40 and found.attachments == (), found.describe()
    assert "trailing whitespace" in found.describe()
    assert compare(found, _strips_trailing_whitespace(build_entity(found))) == [
        "letter: trailing whitespace lost on line(s) 1"
    ]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_generated_scenarios_arrive_intact_without_transport(function: Function) -> None:
    for scenario in _sample(function, 30):
        assert compare(scenario, build_entity(scenario)) == [], scenario.describe()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_basic_scenarios(function: Function) -> None:
    s = basic_scenario(function)
    assert s.charset == "iso-8859-1" and not s.body.isascii() and len(s.body) < 400
    assert (s.hprim is not None) == (function == "hprim-net")
    assert bool(s.attachments) == (function == "attachments")
    assert basic_scenario(function) == s


def test_sample_is_deterministic() -> None:
    assert _generate("encrypt", 30) == _sample("encrypt", 30)
