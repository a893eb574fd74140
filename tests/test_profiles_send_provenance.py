"""Each `send` fact of the 2008 products carries a reason about itself, not the algorithms'.

The product sheets show beside each fact the reason of the citation covering it: a reason
about algorithms given to the whole `send` section put "the source gives no algorithm" beside
the order, the charset, encrypt-to-self and the Apicrypt functions.
"""

from __future__ import annotations

import pytest

from conformance.matrix.assemble import agent_info
from conformance.profiles.loader import load_profiles
from conformance.profiles.schema import Profile

# The send facts that are algorithms (or, for the format, the structure the reason names).
ALGORITHM_FACTS = {
    "send.signature.format",
    "send.signature.digest",
    "send.signature.algorithm",
    "send.encryption.content",
    "send.encryption.key_transport",
}


def _products_of_2008() -> list[Profile]:
    profiles = load_profiles(include_abstract=True)
    return [p for p in profiles.values() if p.id == "osm-2008-base" or p.extends == "osm-2008-base"]


def _about_algorithms(reason: str | None) -> bool:
    return reason is not None and ("no algorithm" in reason or "aucun algorithme" in reason)


@pytest.mark.parametrize("profile", _products_of_2008(), ids=lambda p: p.id)
def test_only_algorithm_facts_carry_the_algorithm_reason(profile: Profile) -> None:
    send = [(path, c) for path, _, c in profile.facts() if path.startswith("send.")]
    assert send, profile.id
    for path, citation in send:
        assert citation is not None, path
        about = _about_algorithms(citation.reason) or _about_algorithms(citation.reason_fr)
        assert not about or path in ALGORITHM_FACTS, f"{profile.id} {path}: {citation.reason}"


@pytest.mark.parametrize("profile", _products_of_2008(), ids=lambda p: p.id)
def test_no_send_fact_rests_on_a_citation_of_the_whole_section(profile: Profile) -> None:
    for path, _, _ in profile.facts():
        if path.startswith("send."):
            assert profile.citation_key(path) != "send", f"{profile.id} {path}"


def test_the_algorithm_facts_keep_their_reason_in_both_languages() -> None:
    base = load_profiles(include_abstract=True)["osm-2008-base"]
    for path in ALGORITHM_FACTS - {"send.signature.format"}:
        citation = base.citation(path)
        assert citation is not None and citation.assumed, path
        assert _about_algorithms(citation.reason) and _about_algorithms(citation.reason_fr), path


def test_a_product_sheet_gives_the_order_and_the_apicrypt_functions_their_own_provenance() -> None:
    """What results.json records for a 2008 product (the sheets read it)."""
    smm = agent_info(load_profiles()["smm"], {})
    order = smm.provenance["sends.order"]
    assert order.assumed and order.reason_fr and "signer puis chiffrer" in order.reason_fr
    apicrypt = smm.provenance["sends.apicrypt_functions"]
    assert (apicrypt.assumed, apicrypt.source) == (False, "interoperability-slide")
    for path in ("sends.mime.charset", "sends.encryption.encrypt_to_self", "sends.order"):
        fact = smm.provenance[path]
        assert not _about_algorithms(fact.reason) and not _about_algorithms(fact.reason_fr), path
