"""The rejection cases: valid data, a hostile message for each, and `reference` refusing each.

`reference` is run as the matrix runs it (conformance.agents.factory.make_agent)
under each policy, and must read each case's valid message (the control) first.
Until the run's policy reaches profile receivers (the factory's `policy`
argument), reference reads as its profile says, which is the osm-2008
tolerance (and rc2-40-cbc besides). The cases it can only refuse under a
policy are marked xfail (strict) until then, and the marks go away by
themselves when the factory takes the policy.
"""

from __future__ import annotations

import inspect
import re
import shutil
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from conformance.agents.base import Agent, ReceiveRequest
from conformance.agents.factory import close_agent, make_agent
from conformance.errors import UserError
from conformance.pki import TestPKI, load_pki
from conformance.profiles.loader import load_profile
from conformance.rejections.hostile import (
    Hostile,
    control_key,
    make_control,
    make_hostile,
    makers,
)
from conformance.rejections.judge import judge
from conformance.rejections.model import (
    CLASSES,
    POLICIES,
    Policy,
    RejectionCase,
    load_cases,
    parse_cases,
    schema,
)
from conformance.schemas import render, schemas

CASES = load_cases()
BY_ID = {c.id: c for c in CASES}
SENDER, RECIPIENT = "pro01", "pro02"
# The producers that can run here (OpenSSL is a tool the machine may lack).
PRODUCERS_HERE = {"reference"} | ({"openssl"} if shutil.which("openssl") else set())
# Whether the factory applies the run's policy to a profile receiver yet.
POLICY_APPLIES = "policy" in inspect.signature(make_agent).parameters
# What reference refuses only once the policy is applied (or once its profile drops
# rc2-40-cbc), with the reason; under osm-2008 it reads as its profile says.
NEEDS_POLICY: dict[tuple[str, Policy], str] = {
    ("defective-sha1-certificate", "modern"): "reference reads SHA-1 certificates until the "
    "modern policy is applied to it (its profile digests include sha1)",
    ("downgrade-micalg-sha1", "modern"): "reference verifies SHA-1 signatures until the modern "
    "policy is applied to it (its profile digests include sha1)",
    ("downgrade-3des", "modern"): "reference decrypts 3DES until the modern policy is applied "
    "to it (its profile ciphers include des-ede3-cbc)",
    ("downgrade-rc2-40", "osm-2008"): "reference's profile reads rc2-40-cbc (a finding: issue "
    "14 has reference drop it) and no policy is applied to it yet",
    ("downgrade-rc2-40", "modern"): "reference's profile reads rc2-40-cbc (a finding: issue "
    "14 has reference drop it) and no policy is applied to it yet",
}


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def reference() -> Iterator[dict[Policy, Agent]]:
    profile = load_profile("reference")
    agents: dict[Policy, Agent] = {
        policy: (
            make_agent(profile, policy=policy)  # type: ignore[call-arg,unused-ignore]
            if POLICY_APPLIES
            else make_agent(profile)
        )
        for policy in POLICIES
    }
    yield agents
    for agent in agents.values():
        close_agent(agent)


def _receive(pki: TestPKI, hostile: Hostile) -> ReceiveRequest:
    return ReceiveRequest(
        hostile.message, pki.identity(hostile.recipient).party(), pki.trust_paths(), pki.crl_paths()
    )


def _params() -> list[object]:
    params: list[object] = []
    for case in CASES:
        for producer in case.producers:
            for policy in POLICIES:
                marks = []
                reason = NEEDS_POLICY.get((case.id, policy))
                if reason is not None and not POLICY_APPLIES:
                    marks.append(pytest.mark.xfail(reason=reason, strict=True))
                params.append(
                    pytest.param(
                        case, producer, policy, marks=marks, id=f"{case.id}-{producer}-{policy}"
                    )
                )
    return params


# --- the data ------------------------------------------------------------------------


def test_every_class_has_cases() -> None:
    assert [c for c in CLASSES if not any(case.cls == c for case in CASES)] == []
    # The cases are listed class by class, in the order.
    order = [CLASSES.index(c.cls) for c in CASES]
    assert order == sorted(order)


def test_signed_classes_have_a_foreign_producer() -> None:
    signed = [c for c in CASES if c.function == "sign" and c.id != "defective-gip-cps-oid"]
    assert all("openssl" in c.producers for c in signed)


def test_every_case_has_a_maker() -> None:
    assert {c.id for c in CASES} == makers()


def test_cases_have_both_languages_and_policies() -> None:
    for case in CASES:
        assert set(case.title) == set(case.explanation) == {"fr", "en"}, case.id
        assert set(case.expected) == set(POLICIES), case.id
        assert case.spec.strip() and case.spec_fr.strip(), case.id
        # The same references in both: only the notes in parentheses are translated.
        assert re.findall(r"\d+(?:\.\d+)*", case.spec) == re.findall(
            r"\d+(?:\.\d+)*", case.spec_fr
        ), case.id


def test_schema_in_docs_is_in_sync() -> None:
    path = next(p for p in schemas() if p.name == "rejection-cases.schema.json")
    assert path.read_text(encoding="utf-8") == render(schema())
    assert schema()["$defs"]["RejectionCase"]["properties"]["class"]["enum"] == list(CLASSES)


def _case(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "x",
        "class": "altered",
        "function": "sign",
        "title": {"fr": "t", "en": "t"},
        "explanation": {"fr": "e", "en": "e"},
        "spec": "RFC 5652 5.6",
        "spec_fr": "RFC 5652 5.6",
        "producers": ["reference"],
        "breaks": ["integrity"],
        "expected": {"osm-2008": "refuse", "modern": "refuse"},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"class": "tampered"}, "class"),
        ({"expected": {"osm-2008": "refuse", "modern": "withhold:secrecy"}}, "expected.modern"),
        ({"expected": {"osm-2008": "refuse"}}, "expected lacks modern"),
        ({"title": {"fr": "t"}}, "title lacks en"),
        ({"explanation": {"fr": "two\nlines", "en": "e"}}, "explanation.fr"),
        ({"producers": ["thunderbird"]}, "producers"),
        ({"expected": {"osm-2008": "withhold:confidentiality", "modern": "refuse"}}, "withholds"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_cases_are_refused_with_the_field_named(changes: dict[str, object], words: str) -> None:
    with pytest.raises(UserError, match=words):
        parse_cases({"cases": [_case(**changes)]})


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(UserError, match="appears twice"):
        parse_cases({"cases": [_case(), _case()]})


def test_a_valid_case_parses() -> None:
    (case,) = parse_cases({"cases": [_case(expected={"osm-2008": "warn", "modern": "refuse"})]})
    assert case.cls == "altered" and case.expectation("osm-2008") == "warn"


# --- reference refuses every case ----------------------------------------------------


@pytest.mark.parametrize(("case", "producer", "policy"), _params())
def test_reference_gets_the_expected_outcome(
    case: RejectionCase,
    producer: str,
    policy: Policy,
    pki: TestPKI,
    reference: dict[Policy, Agent],
) -> None:
    if producer not in PRODUCERS_HERE:
        pytest.skip(f"{producer} not installed")
    hostile = make_hostile(case, producer=producer, pki=pki, sender=SENDER, recipient=RECIPIENT)
    agent = reference[policy]
    control = make_control(case, producer=producer, pki=pki, sender=SENDER, recipient=RECIPIENT)
    read = agent.receive(_receive(pki, control)).status
    assert read.ok, f"reference does not read the valid message: {read.errors}"
    reception = agent.receive(_receive(pki, hostile))
    receives = case.function in agent.capabilities().receive
    judgement = judge(case, reception.status, policy, receives=receives, control=read)
    assert judgement.outcome == "refuses", f"{hostile.variant}: {judgement.reason}"


def test_the_control_is_the_unchanged_message(pki: TestPKI) -> None:
    """The control and the hostile message differ only where the case changed it."""
    case = BY_ID["altered-signature-value"]
    control = make_control(case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT)
    other = make_control(
        BY_ID["altered-content"], producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT
    )
    assert control.message == other.message  # one per control key
    assert control_key(case, "reference") == control_key(BY_ID["altered-content"], "reference")
    gcm = BY_ID["efail-gcm-altered"]
    assert control_key(gcm, "reference") != control_key(
        BY_ID["efail-cbc-encrypt-only"], "reference"
    )
    hostile = make_hostile(case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT)
    assert len(hostile.message) == len(control.message)
    changed = [
        i for i, (a, b) in enumerate(zip(hostile.message, control.message, strict=True)) if a != b
    ]
    assert 1 <= len(changed) <= 2, changed  # one DER byte is one or two base64 characters


def test_basic_variant_is_deterministic(pki: TestPKI) -> None:
    case = BY_ID["altered-message-digest"]
    one = make_hostile(case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT)
    two = make_hostile(case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT)
    assert one == two
    assert one.variant == "message-digest value, byte 0 of 32 xor 0x01"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_basic_variant_is_the_same_message_in_every_run(
    case: RejectionCase, pki: TestPKI
) -> None:
    """The evidence of one run can be compared byte for byte with another's: no maker
    draws from the system's randomness (single DES once encrypted its key so)."""
    made = [
        make_hostile(case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT)
        for _ in range(2)
    ]
    assert made[0].message == made[1].message


# --- hypothesis variants -------------------------------------------------------------


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_drawn_variants_are_refused(
    data: st.DataObject, pki: TestPKI, reference: dict[Policy, Agent]
) -> None:
    drawn = [c for c in CASES if (c.id, "osm-2008") not in NEEDS_POLICY or POLICY_APPLIES]
    case = data.draw(st.sampled_from(drawn), label="case")
    producers = [p for p in case.producers if p in PRODUCERS_HERE]
    producer = data.draw(st.sampled_from(producers), label="producer")
    hostile = make_hostile(
        case, producer=producer, pki=pki, sender=SENDER, recipient=RECIPIENT, data=data
    )
    agent = reference["osm-2008"]
    reception = agent.receive(_receive(pki, hostile))
    judgement = judge(case, reception.status, "osm-2008", receives=True)
    assert judgement.outcome == "refuses", f"{hostile.variant}: {judgement.reason}"


def test_variants_shrink_and_replay_with_a_seed(pki: TestPKI) -> None:
    """A receiver that checked only the first ten bytes of the signature would accept a
    change further on: hypothesis finds one, shrinks it to the smallest, and the same
    seed draws the same messages again."""
    case = BY_ID["altered-signature-value"]

    def run() -> list[str]:
        seen: list[str] = []

        @seed(20260101)
        @settings(database=None, max_examples=40, deadline=None)
        @given(data=st.data())
        def lax_receiver_accepts(data: st.DataObject) -> None:
            hostile = make_hostile(
                case, producer="reference", pki=pki, sender=SENDER, recipient=RECIPIENT, data=data
            )
            seen.append(hostile.variant)
            offset = int(hostile.variant.split("byte ")[1].split(" ")[0])
            assert offset < 10, hostile.variant

        with pytest.raises(AssertionError):
            lax_receiver_accepts()
        return seen

    first, second = run(), run()
    assert first[-1] == "signature value, byte 10 of 256 xor 0x01"
    assert first == second
