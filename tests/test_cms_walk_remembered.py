"""`element_end` remembers the constructed encodings it read whole (a sender's
certificates, in every message) and does not read them again: the same answers as a
reading that remembers nothing, whatever the damage, the depth or the OID bound."""

from __future__ import annotations

import random

import pytest
from asn1crypto import cms as asn1_cms
from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_cms import corpus

from conformance.core import cms
from conformance.core.cms import CmsError, element_end
from conformance.smime import der


def _answer(data: bytes, **options: object) -> object:
    try:
        return element_end(data, 0, len(data), **options)  # type: ignore[arg-type]
    except CmsError as exc:
        return ("refused", str(exc))
    except cms._LargeArc as exc:
        return ("large arc", exc.shown, exc.at)


def _forgetting(data: bytes, **options: object) -> object:
    cms._READ.clear()
    return _answer(data, **options)


@pytest.fixture(autouse=True)
def _forget() -> None:
    cms._READ.clear()


def _signed() -> bytes:
    return next(
        c for c in corpus() if asn1_cms.ContentInfo.load(c)["content_type"].native == "signed_data"
    )


def test_the_carried_certificates_are_remembered() -> None:
    signed = _signed()
    element_end(signed, 0, len(signed))
    carried = asn1_cms.ContentInfo.load(signed)["content"]["certificates"]
    assert len(carried) >= 1
    assert all((c.dump(), False) in cms._READ for c in carried)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.sampled_from(range(len(corpus()))),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=3),
    st.sampled_from([{}, {"bound_oids": True}, {"depth": 20}, {"depth": 28}]),
)
def test_damage_is_answered_as_without_remembering(
    index: int, edits: list[tuple[int, int]], options: dict[str, object]
) -> None:
    original = corpus()[index]
    damaged = bytearray(original)
    for at, value in edits:
        damaged[at % len(damaged)] = value
    expected = _forgetting(bytes(damaged), **options)
    for warm in corpus():  # every encoding of the corpus remembered, at its level
        _answer(warm)
    assert _answer(bytes(damaged), **options) == expected


def test_a_remembered_certificate_deeper_than_it_was_read_is_read_again() -> None:
    """Read at level 4 in a SignedData, then 30 levels down: too deep, as it would be
    without remembering."""
    signed = _signed()
    element_end(signed, 0, len(signed))
    certificate = max((key[0] for key in cms._READ), key=len)
    wrapped = certificate
    for _ in range(30):
        wrapped = der.sequence(wrapped)
    assert _answer(wrapped) == _forgetting(wrapped)
    assert isinstance(_answer(wrapped), tuple)  # refused: nesting deeper than the limit


def test_copies_stay_bounded_for_deep_nesting() -> None:
    """Encodings are remembered down to level 4 only: a deeply nested object of many
    mid-size elements is not copied once per level."""
    leaf = der.octet_string(random.Random(0).randbytes(200))
    nested = leaf
    for _ in range(25):
        nested = der.sequence(nested)
    element_end(nested, 0, len(nested))
    assert len(cms._READ) <= 5
