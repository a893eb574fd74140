"""A lookup's connection kept for the next one, with the CA certificates and CRLs a
product keeps between messages: fewer questions to the directory, never an answer of
another server's (a slapd stopped and another started on its port)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conformance.directory import lookup as lookup_module
from conformance.directory import slapd
from conformance.directory.lookup import CRL, Lookup, LookupFailure
from conformance.directory.tree import Tree, build_tree
from conformance.loopback import free_port
from conformance.pki.model import TestPKI, load_pki

MISSING = slapd.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The filters of the searches made on the wire, in order."""
    made: list[str] = []
    ask = Lookup._ask

    def counted(self: Lookup, where: str, query: str, attributes: list[str]) -> Any:
        made.append(query)
        return ask(self, where, query, attributes)

    monkeypatch.setattr(Lookup, "_ask", counted)
    lookup_module.close_idle()
    yield made
    lookup_module.close_idle()


def _without_crls(tree: Tree) -> Tree:
    """The tree with no CA publishing a CRL."""
    for entry in tree.entries:
        entry.attributes.pop(CRL, None)
    return tree


def test_a_second_lookup_asks_for_the_entry_only(pki: TestPKI, searches: list[str]) -> None:
    one, two = pki.valid_identities()[1], pki.valid_identities()[2]
    with slapd.serve(build_tree(pki)) as served:
        with Lookup(served.url) as first:
            first.encryption_certificate(one.email)
            connection = first._connection
        asked = len(searches)
        assert asked >= 3  # the entry, the CAs, the issuer's CRL
        with Lookup(served.url) as second:
            found = second.encryption_certificate(two.email)
            assert second._connection is connection  # the same connection, not a new bind
    assert found.certificate == two.certificate("encrypt")
    assert searches[asked:] == [f"(&(objectClass=inetOrgPerson)(mail={two.email}))"]


def test_a_server_replaced_on_its_port_is_asked_again(pki: TestPKI, searches: list[str]) -> None:
    """The revoked identity: revoked on the CRL of the first server; the second publishes
    no CRL. What the first answered (its CRL) must not answer for the second."""
    revoked = pki.defective("revoked")
    port = free_port()
    with slapd.serve(build_tree(pki), port=port) as first, Lookup(first.url) as lookup:
        with pytest.raises(LookupFailure) as refused:
            lookup.encryption_certificate(revoked.email)
        assert refused.value.kind == "revoked"
    with (
        slapd.serve(_without_crls(build_tree(pki)), port=port) as second,
        Lookup(second.url) as lookup,
    ):
        found = lookup.encryption_certificate(revoked.email)
    assert found.certificate == revoked.certificate("encrypt")


def test_a_crl_past_its_next_update_is_fetched_again(
    pki: TestPKI, searches: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    one = pki.valid_identities()[1]
    with slapd.serve(build_tree(pki)) as served:
        with Lookup(served.url) as lookup:
            lookup.encryption_certificate(one.email)
        crl_searches = [q for q in searches if "pkiCA)(cn=" in q]
        assert len(crl_searches) == 1
        later = max(c.next_update_utc or datetime.now(UTC) for c in pki.crls) + timedelta(days=1)

        class _Later(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return later

        monkeypatch.setattr(lookup_module, "datetime", _Later)
        with Lookup(served.url) as lookup:
            lookup.crl(one.certificate("encrypt").issuer)
    assert len([q for q in searches if "pkiCA)(cn=" in q]) == 2


def test_a_connection_kept_past_its_time_is_not_reused(
    pki: TestPKI, searches: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    one = pki.valid_identities()[1]
    with slapd.serve(build_tree(pki)) as served:
        with Lookup(served.url) as lookup:
            lookup.encryption_certificate(one.email)
            connection = lookup._connection
        monkeypatch.setattr(lookup_module, "KEPT_S", 0.0)
        with Lookup(served.url) as lookup:
            lookup.encryption_certificate(one.email)
            assert lookup._connection is not connection


def test_a_dead_connection_taken_for_live_is_replaced_at_its_first_search(
    pki: TestPKI, searches: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server restarted on its port between two lookups, and the check before taking
    the connection missed it: its first search fails and is made again on a new one."""
    one = pki.valid_identities()[1]
    port = free_port()
    with slapd.serve(build_tree(pki), port=port) as first, Lookup(first.url) as lookup:
        lookup.encryption_certificate(one.email)
    monkeypatch.setattr(lookup_module._Session, "closed_by_server", lambda self: False)
    asked = len(searches)
    with slapd.serve(build_tree(pki), port=port) as second, Lookup(second.url) as lookup:
        found = lookup.encryption_certificate(one.email)
    assert found.certificate == one.certificate("encrypt")
    by_mail = f"(&(objectClass=inetOrgPerson)(mail={one.email}))"
    assert searches[asked : asked + 2] == [by_mail, by_mail]  # failed, then made again


def test_each_base_of_a_server_has_its_own_connection(pki: TestPKI, searches: list[str]) -> None:
    """A server may hold several directories: one's CAs and CRLs never answer for another."""
    one = pki.valid_identities()[1]
    with slapd.serve(build_tree(pki)) as served:
        with Lookup(served.url) as lookup:
            lookup.encryption_certificate(one.email)
        other = served.url.rsplit("/", 1)[0] + "/o=Another"
        with Lookup(other) as lookup, pytest.raises(LookupFailure):
            lookup.encryption_certificate(one.email)  # nothing under that base
        kept = {key[2]: session.connection for key, session in lookup_module._IDLE.items()}
    assert set(kept) == {served.base, "o=Another"}
    assert kept[served.base] is not kept["o=Another"]
