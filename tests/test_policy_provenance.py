"""Every policy threshold is sourced or assumed with a reason, and osm-2008 says what the
2008 profiles accept (issue 16 point 10)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.check import policy as policy_module
from conformance.check.catalogue import rule_ids
from conformance.check.policy import THRESHOLDS, load_policy, parse_policy, policy_names
from conformance.errors import UserError
from conformance.profiles.loader import load_profile

RULES = frozenset(rule_ids())


def _data(name: str) -> dict[str, Any]:
    path = Path(policy_module.__file__).parent / "policies" / f"{name}.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


@pytest.mark.parametrize("name", policy_names())
def test_every_threshold_is_cited(name: str) -> None:
    policy = load_policy(name, RULES)
    assert tuple(policy.provenance) == THRESHOLDS
    for key, citation in policy.provenance.items():
        assert citation.assumed != (citation.source is not None), key
        assert not citation.assumed or citation.reason, key


def test_osm_2008_names_no_source_it_does_not_have() -> None:
    """The source document gives no algorithm and no key size: all of osm-2008 is assumed."""
    policy = load_policy("osm-2008", RULES)
    assert all(c.assumed for c in policy.provenance.values())
    assert "1024" in (policy.provenance["min_rsa_bits"].reason or "")
    assert policy.severity("CERT-010") == "WARNING", "a 1024-bit key of 2008 is reported only"


def test_osm_2008_accepts_what_the_2008_profiles_accept() -> None:
    policy = load_policy("osm-2008", RULES)
    smime = load_profile("osm-2008-base").receive.smime
    assert smime is not None
    pairs = {
        "digest": smime.digests,
        "signature": smime.signature_algorithms,
        "content_cipher": smime.ciphers,
        "key_transport": smime.key_transports,
    }
    for kind, accepted in pairs.items():
        assert accepted is not None, kind
        graded = {name for name, status in policy.grades[kind].items() if status != "INFO"}
        assert graded == set(accepted), kind
    # What the 2008 products did not implement is reported, not accepted as theirs.
    for kind, name in [
        ("content_cipher", "aes128-gcm"),
        ("content_cipher", "aes256-gcm"),
        ("signature", "rsa-pss"),
        ("key_transport", "rsa-oaep-sha1"),
        ("key_transport", "rsa-oaep-sha256"),
    ]:
        assert policy.grade(kind, name) == "INFO", (kind, name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("provenance"), "field 'provenance' must cite"),
        (lambda d: d["provenance"].pop("min_rsa_bits"), "no citation for min_rsa_bits"),
        (lambda d: d["provenance"].update({"max_bits": {"source": "x"}}), "unknown threshold"),
        (
            lambda d: d["provenance"]["algorithms.digest"].pop("reason"),
            "provenance.algorithms.digest: an assumed threshold needs its reason",
        ),
        (
            lambda d: d["provenance"]["algorithms.digest"].update({"source": "RFC 3851"}),
            "either assumed or sourced, not both",
        ),
        (
            lambda d: d["provenance"]["algorithms.digest"].update({"assumed": False}),
            "cite a source, or set assumed: true",
        ),
    ],
)
def test_a_threshold_without_provenance_is_a_clear_error(change: Any, message: str) -> None:
    data = _data("osm-2008")
    change(data)
    with pytest.raises(UserError, match=message):
        parse_policy(data, "test.yaml", RULES)
