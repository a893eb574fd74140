"""`serve` names the CRLs a dropped hostile message comes with: the three cases that make
their signer's issuer (Hostile.crls, exported beside the message) say so in dropped.csv,
on the tester's page and at start-up, with paths to files that exist; every other drop
is as before. Without them a product that checks revocation refuses those messages for
a missing CRL, not for the broken path."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import cast

import pytest

from conformance import pem_files
from conformance.mail.endpoint import Endpoint
from conformance.serve import drops
from conformance.serve.accounts import make_accounts
from conformance.serve.collect import Collector
from conformance.serve.record import Record, form_page
from conformance.serve.session import Running, Settings, describe
from conformance.vectors.manifest import ExportManifest

CASES_WITH_CRLS = {
    "wrong-signer-issued-by-end-entity",
    "defective-path-length-exceeded",
    "defective-ca-without-key-cert-sign",
}
LOAD = "load these CRLs into the product before reading it:"
# dropped.csv's columns before `crls`: a reader of those finds them where they were.
EARLIER_COLUMNS = ("id", "kind", "file", "sender", "function", "case", "expected", "subject")

Exported = tuple[Path, ExportManifest, list[drops.Drop]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    out = tmp_path_factory.mktemp("serve-crls")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
        manifest, found = drops.prepare("nss", out, ["reference"])
    return out, manifest, found


def test_the_three_cases_drops_name_their_crls_and_the_files_exist(exported: Exported) -> None:
    out, manifest, found = exported
    with_crls = [d for d in found if d.crls]
    assert {d.case for d in with_crls} == CASES_WITH_CRLS
    assert all(d.kind == "rejection" for d in with_crls)
    exported_crls = {n.file: tuple(n.crls) for n in manifest.negatives}
    for drop in with_crls:
        assert drop.crls == exported_crls[drop.file]
        for crl in drop.crls:
            path = out / drops.VECTORS_DIR / crl
            assert path.is_file(), path
            assert len(pem_files.crls(path)) == 1  # a CRL, not just a file


def test_dropped_csv_names_them_and_a_drop_without_crls_is_unchanged(
    exported: Exported, tmp_path: Path
) -> None:
    _, _, found = exported
    drops.write_dropped(found, tmp_path / "dropped.csv")
    with (tmp_path / "dropped.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == (*EARLIER_COLUMNS, "crls")
    for drop, row in zip(found, rows[1:], strict=True):
        earlier = (drop.id, drop.kind, drop.file, drop.sender, drop.function, drop.case)
        assert tuple(row[:6]) == earlier and row[7] == drop.subject
        assert row[8] == drops.CRL_SEPARATOR.join(drop.crls)  # "" for a drop without
    named = {r[5] for r in rows[1:] if r[8]}
    assert named == CASES_WITH_CRLS


def _page_rows(page: str) -> dict[str, str]:
    """The page's table rows by drop id."""
    rows = re.findall(r"<tr><td>([IR]\d+)</td>(.*?)</tr>", page)
    return dict(rows)


def test_the_page_says_to_load_them_before_reading_with_their_paths(exported: Exported) -> None:
    out, _, found = exported
    page = form_page(Record(out, found))
    rows = _page_rows(page)
    assert set(rows) == {d.id for d in found}
    folder = (out / drops.VECTORS_DIR).absolute()
    for drop in found:
        if drop.crls:
            assert LOAD in rows[drop.id]
            for crl in drop.crls:
                assert f"<code>{folder / crl}</code>" in rows[drop.id]
                assert (folder / crl).is_file()
        else:
            assert "CRL" not in rows[drop.id]
    assert "missing CRL" in page  # why, said once above the table


def test_a_page_without_drops_with_crls_says_nothing_of_them(exported: Exported) -> None:
    out, _, found = exported
    page = form_page(Record(out, [d for d in found if not d.crls]))
    assert "CRL" not in page


def test_start_up_names_the_drops_that_come_with_crls(exported: Exported) -> None:
    out, manifest, found = exported
    accounts = make_accounts(
        out / drops.VECTORS_DIR / "identities", [(manifest.recipient, "the product's user")]
    )
    running = Running(
        Settings(out=out, profile="nss"),
        manifest,
        accounts,
        found,
        Endpoint("127.0.0.1", 2525),
        None,
        "--maildir given",
        ("127.0.0.1", 2580),
        cast(Collector, None),  # describe() reads nothing of it
        [],
    )
    ids = ", ".join(d.id for d in found if d.crls)
    said = describe(running)
    assert f"  {ids} come with CRLs: load them into the product before reading" in said
    running.drops = [d for d in found if not d.crls]
    assert "CRL" not in describe(running)
