"""`serve`'s parts without its mail servers: the drops' ids, the accounts, the judgement
of a message the product sent, and the tester's record (CSV and the web form), read back
by `vectors import`'s own readers."""

from __future__ import annotations

import csv
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from conformance.agents.base import Agent
from conformance.agents.factory import close_agent, make_agent
from conformance.errors import UserError
from conformance.serve import accounts, drops
from conformance.serve.judge import Envelope, judge_message, make_context
from conformance.serve.record import Record, record_form
from conformance.vectors.common import shipped_profiles
from conformance.vectors.manifest import ExportManifest
from conformance.vectors.manual import read_record
from conformance.vectors.negative_record import read_negative_record

PRODUCT = "nss"


@pytest.fixture(scope="module")
def exported(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, ExportManifest, list[drops.Drop]]:
    out = tmp_path_factory.mktemp("serve")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
        manifest, found = drops.prepare(PRODUCT, out, ["reference"])
    return out, manifest, found


def test_the_drops_are_the_export_numbered(
    exported: tuple[Path, ExportManifest, list[drops.Drop]],
) -> None:
    out, manifest, found = exported
    interop = [d for d in found if d.kind == "interop"]
    hostile = [d for d in found if d.kind == "rejection"]
    assert [d.file for d in interop] == [v.file for v in manifest.vectors]
    assert [d.file for d in hostile] == [n.file for n in manifest.negatives]
    assert interop[0].id == "I01" and hostile[0].id == "R01"
    assert len({d.id for d in found}) == len(found)
    assert all((out / drops.VECTORS_DIR / d.file).is_file() for d in found)
    assert {d.sender for d in interop} == {"reference"}


def test_the_default_senders_are_reference_and_the_real_engines() -> None:
    senders = drops.default_senders(PRODUCT)
    assert senders[0] == "reference"
    assert PRODUCT not in senders
    assert {"openssl", "gpgsm"} <= set(senders)
    with pytest.raises(UserError, match="unknown profile 'nope'"):
        drops.default_senders("nope")


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"])
def test_the_id_goes_in_front_of_the_subject_and_nothing_else_changes(newline: bytes) -> None:
    head = [b"From: a@example.org", b"Subject: Compte rendu", b"  de consultation", b""]
    body = newline.join([b"MIME-Version: 1.0", b"", b"Subject: not this one", b""])
    message = newline.join(head) + body
    tagged, subject = drops.tagged(message, "I07")
    assert subject == "[I07] Compte rendu de consultation"
    parsed = message_from_bytes(tagged)
    assert parsed["X-OSM-Conformance-Drop"] == "I07"
    assert tagged.endswith(body)
    assert tagged.count(b"[I07]") == 1
    untagged = tagged.replace(b"[I07] ", b"").split(newline, 1)[1]
    assert untagged == message


def test_a_message_without_subject_gets_one() -> None:
    tagged, subject = drops.tagged(b"From: a@example.org\r\n\r\nbody\r\n", "R02")
    assert subject == "[R02]"
    assert message_from_bytes(tagged)["Subject"] == "[R02]"
    assert tagged.endswith(b"\r\n\r\nbody\r\n")


def test_the_dropped_list(
    exported: tuple[Path, ExportManifest, list[drops.Drop]], tmp_path: Path
) -> None:
    _, _, found = exported
    drops.write_dropped(found, tmp_path / "dropped.csv")
    rows = list(csv.DictReader((tmp_path / "dropped.csv").open(encoding="utf-8")))
    assert [r["id"] for r in rows] == [d.id for d in found]
    assert tuple(rows[0]) == drops.DROPPED_COLUMNS


def test_the_accounts_are_stable_and_one_per_identity(
    exported: tuple[Path, ExportManifest, list[drops.Drop]], tmp_path: Path
) -> None:
    out, manifest, _ = exported
    identities = out / drops.VECTORS_DIR / "identities"
    roles = [(manifest.recipient, "inbox"), (manifest.sender_identity, "second")]
    made = accounts.make_accounts(identities, [*roles, (manifest.recipient, "again")])
    assert [a.identity for a in made] == [manifest.recipient, manifest.sender_identity]
    assert made[0].email == manifest.recipient_email and made[0].role == "inbox"
    assert made[0].password != made[1].password
    assert made == accounts.make_accounts(identities, roles)
    assert accounts.check_login(made, made[0].email.upper(), made[0].password) == made[0]
    assert accounts.check_login(made, made[0].email, made[1].password) is None
    accounts.write_accounts(made, tmp_path / "accounts.csv")
    rows = list(csv.DictReader((tmp_path / "accounts.csv").open(encoding="utf-8")))
    assert rows[1]["password"] == made[1].password


@pytest.fixture(scope="module")
def reader() -> Iterator[Agent]:
    agent = make_agent(shipped_profiles()["reference"])
    yield agent
    close_agent(agent)


def test_a_signed_message_and_a_plain_one_are_judged(
    exported: tuple[Path, ExportManifest, list[drops.Drop]], reader: Agent
) -> None:
    out, manifest, _ = exported
    context = make_context(manifest, out / drops.VECTORS_DIR)
    sign = next(v for v in manifest.vectors if v.function == "sign")
    signed_bytes = (out / drops.VECTORS_DIR / sign.file).read_bytes()
    envelope = Envelope("x@example.org", (manifest.recipient_email,), None, "now")
    [signed] = judge_message(signed_bytes, envelope, "received/0001.eml", context, reader)
    assert (signed.signed, signed.encrypted, signed.readable) == (True, False, True)
    assert signed.function == "sign" and signed.verdict == "pass"
    assert signed.recipient_identity == manifest.recipient
    assert signed.services["integrity"] and not signed.services["confidentiality"]
    assert signed.validator and signed.sent.get("digest")
    plain = (
        f"From: {manifest.recipient_email}\r\nTo: someone@example.org\r\nSubject: hi\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n"
    ).encode()
    envelope = Envelope(manifest.recipient_email, ("someone@example.org",), None, "now")
    [judged] = judge_message(plain, envelope, "received/0002.eml", context, reader)
    assert (judged.signed, judged.encrypted, judged.readable) == (False, False, True)
    assert judged.verdict == "plain" and judged.function is None
    assert judged.recipient == "someone@example.org" and judged.recipient_identity is None
    assert judged.sender_identity == manifest.recipient
    assert judged.shown == "not signed, not encrypted; readable"
    json.dumps(judged.to_json())


def test_an_encrypted_message_for_someone_else_says_so(
    exported: tuple[Path, ExportManifest, list[drops.Drop]], reader: Agent
) -> None:
    out, manifest, _ = exported
    context = make_context(manifest, out / drops.VECTORS_DIR)
    encrypt = next(v for v in manifest.vectors if v.function == "encrypt")
    message = (out / drops.VECTORS_DIR / encrypt.file).read_bytes()
    envelope = Envelope("x@example.org", ("stranger@example.org",), None, "now")
    [judged] = judge_message(message, envelope, "received/0003.eml", context, reader)
    assert judged.encrypted
    assert judged.reason is not None and "not a test identity" in judged.reason


def _form(found: list[drops.Drop]) -> dict[str, str]:
    form: dict[str, str] = {}
    interop = next(d for d in found if d.kind == "interop" and d.function == "sign")
    form.update(
        {
            f"{interop.id}.opened": "yes",
            f"{interop.id}.signature": "valid",
            f"{interop.id}.decrypted": "no",
            f"{interop.id}.content_ok": "yes",
            f"{interop.id}.notes": "seal shown, green",
        }
    )
    hostile = next(d for d in found if d.kind == "rejection")
    form.update({f"{hostile.id}.refused": "no", f"{hostile.id}.notes": "shown as valid!"})
    return form


def test_the_record_is_what_vectors_import_reads(
    exported: tuple[Path, ExportManifest, list[drops.Drop]],
) -> None:
    out, _, found = exported
    record = Record(out, found)
    record.save(_form(found))
    recorded = read_record(record.interop_path)
    assert [(r.file, r.opened, r.signature, r.content_ok) for r in recorded] == [
        ("messages/reference/sign.eml", True, "valid", True)
    ]
    [line] = read_negative_record(record.negative_path)
    assert line.file == next(d.file for d in found if d.kind == "rejection") and not line.refused
    problems, verdicts = record.check()
    assert problems == []
    assert verdicts["messages/reference/sign.eml"] == "pass"
    interop = next(d for d in found if d.kind == "interop")
    with pytest.raises(UserError, match=f"{interop.id} .*opened 'maybe'"):
        record.save({f"{interop.id}.opened": "maybe"})


def test_a_line_the_import_would_refuse_is_named(
    exported: tuple[Path, ExportManifest, list[drops.Drop]],
) -> None:
    out, _, found = exported
    record = Record(out, found)
    interop = next(d for d in found if d.kind == "interop")
    record.save({f"{interop.id}.opened": "yes"})  # opened, but nothing else said
    problems, _ = record.check()
    assert problems and "signature" in problems[0]


def test_the_web_form_saves_the_record(
    exported: tuple[Path, ExportManifest, list[drops.Drop]],
) -> None:
    out, _, found = exported
    record = Record(out, found)
    with record_form(record, out, "127.0.0.1", 0) as (host, port):
        url = f"http://{host}:{port}/"
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        assert "observed by the tester" in page and found[0].id in page
        data = urllib.parse.urlencode(_form(found)).encode()
        page = urllib.request.urlopen(url, data=data, timeout=10).read().decode()
        assert "Saved." in page and "seal shown, green" in page
        bad = urllib.parse.urlencode({f"{found[0].id}.signature": "green"}).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, data=bad, timeout=10)
        assert refused.value.code == 400
        assert "Not saved" in refused.value.read().decode()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "nothing", timeout=10)
    assert read_record(record.interop_path)[0].notes == "seal shown, green"


def test_a_restart_keeps_what_the_tester_recorded(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OSM_CONFORMANCE_TOKEN", "software")
        _, found = drops.prepare(PRODUCT, tmp_path, ["reference"], functions=["sign"])
        record = Record(tmp_path, found)
        record.save(_form(found))
        saved = record.interop_path.read_bytes(), record.negative_path.read_bytes()
        again = drops.prepare(PRODUCT, tmp_path, ["reference"], functions=["sign"])[1]
    assert again == found
    assert (record.interop_path.read_bytes(), record.negative_path.read_bytes()) == saved


def test_a_bad_negative_line_keeps_the_good_ones_verdicts(
    exported: tuple[Path, ExportManifest, list[drops.Drop]],
) -> None:
    """One line recorded twice is named, and the good line's verdict still shows (the page
    lost them all when any line was bad)."""
    out, _, found = exported
    record = Record(out, found)
    record.save(_form(found))
    first, *_ = record.negative_path.read_text(encoding="utf-8").splitlines()[1:]
    with record.negative_path.open("a", encoding="utf-8") as f:
        f.write(first + "\n")  # the same file recorded twice
    problems, verdicts = record.check()
    assert len(problems) == 1 and "is already recorded at" in problems[0], problems
    assert verdicts[first.split(",")[0]] == "accepted"


def test_an_unknown_negative_column_is_named_and_the_lines_kept(
    exported: tuple[Path, ExportManifest, list[drops.Drop]],
) -> None:
    """A column the negative record lacks is named once, as vectors import names it, and
    the recorded lines keep their verdicts (the page lost them all at the columns line)."""
    out, _, found = exported
    record = Record(out, found)
    record.save(_form(found))
    header, *lines = record.negative_path.read_text(encoding="utf-8").splitlines()
    record.negative_path.write_text(
        "\n".join([header + ",extra", *(line + ",x" for line in lines)]) + "\n", encoding="utf-8"
    )
    problems, verdicts = record.check()
    assert problems == [
        f"{record.negative_path}:2: unknown column(s) 'extra'; expected file, refused, notes"
    ]
    assert verdicts[lines[0].split(",")[0]] == "accepted"


def test_the_interop_record_is_checked_against_the_export_and_keeps_its_good_lines(
    exported: tuple[Path, ExportManifest, list[drops.Drop]],
) -> None:
    """The page says what `vectors import` would: a line recorded twice and a file the
    export lacks are named (the page read the record without the manifest and named
    neither), and the good line's verdict still shows beside them."""
    out, _, found = exported
    record = Record(out, found)
    record.save(_form(found))
    _, first, *_ = record.interop_path.read_text(encoding="utf-8").splitlines()
    stray = "messages/nobody/sign.eml" + first[first.index(",") :]
    with record.interop_path.open("a", encoding="utf-8") as f:
        f.write(f"{first}\n{stray}\n")
    problems, verdicts = record.check()
    assert len(problems) == 2, problems
    assert "is already recorded at" in problems[0]
    assert "unknown vector file 'messages/nobody/sign.eml'" in problems[1]
    assert verdicts["messages/reference/sign.eml"] == "pass"
