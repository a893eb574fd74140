"""The CPS directory over LDAP, against the suite's own slapd on loopback.

Loading (every entry of the tree is served), lookups by mail and by idNat, the
CRL and signer lookups a receiver makes, every fault case (absent, signature
certificate only, expired beside its renewal, revoked, down, slow), the
first-contact exchange through the directory, the refusal of a product that
does not look there, and the command line (`directory export|serve`, `agent send
--to-address --directory`). Without slapd these tests are skipped with the reason.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from agents_support import REPO, need_tools

from conformance.agents.base import Evidence, ReceiveRequest, SendRequest
from conformance.agents.factory import close_agent, make_agent
from conformance.agents.recipients import looked_up
from conformance.core.vocabulary import Party
from conformance.directory import slapd
from conformance.directory.faults import FAULTS, Fault, fault_directories, fault_tree
from conformance.directory.lookup import Found, Lookup, LookupFailure
from conformance.directory.tree import ASSUMED, BASE_DN, build_tree, person_dn
from conformance.errors import UserError
from conformance.loopback import free_port
from conformance.matrix.cast import Cast, exported_pki
from conformance.matrix.cell import CellSettings, run_cell
from conformance.matrix.directory_faults import run_faults
from conformance.matrix.exchange import exchange
from conformance.pki.model import TestPKI, load_pki
from conformance.profiles.loader import load_profiles
from conformance.scenarios import basic_scenario, build_entity
from conformance.status import EXIT_CODES, ErrorCode

MISSING = slapd.missing()
needs_slapd = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def served(pki: TestPKI) -> Iterator[slapd.Endpoint]:
    if MISSING is not None:
        pytest.skip(MISSING)
    with slapd.serve(build_tree(pki)) as endpoint:
        yield endpoint


# --- the tree (no slapd needed) -------------------------------------------------------


def test_tree_lists_every_identity_under_its_profession_and_the_cas(pki: TestPKI) -> None:
    tree = build_tree(pki)
    people = [e for e in tree.entries if e.dn.startswith("uid=")]
    assert len(people) == len(pki.identities)
    one = pki.valid_identities()[0]
    entry = tree.entry(person_dn(one))
    assert entry is not None
    assert entry.attributes["mail"] == [one.email]
    assert entry.attributes["uid"] == [one.idnat]
    assert len(entry.attributes["userCertificate;binary"]) == 3  # auth, sign, encrypt
    cas = [e for e in tree.entries if "pkiCA" in e.attributes.get("objectClass", [])]
    assert len(cas) == 2
    assert all(e.attributes.get("certificateRevocationList;binary") for e in cas)


def test_ldif_names_the_assumed_parts_and_folds_its_lines(pki: TestPKI) -> None:
    text = build_tree(pki).ldif()
    head = text.split("\n\n", 1)[0]
    assert "Assumed" in head and all(what in head for what, _ in ASSUMED)
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert max(len(line) for line in body) <= 76
    assert "dn: o=TEST GIP-CPS,c=FR" in text


# --- loading and lookups ----------------------------------------------------------------


@needs_slapd
def test_every_entry_of_the_tree_is_served(pki: TestPKI, served: slapd.Endpoint) -> None:
    with Lookup(served.url) as lookup:
        entries = lookup._search(served.base, "(objectClass=*)", ["objectClass"])
    assert len(entries) == len(build_tree(pki).entries)


@needs_slapd
def test_lookup_by_mail_gives_the_encryption_certificate(
    pki: TestPKI, served: slapd.Endpoint
) -> None:
    one = pki.valid_identities()[3]
    with Lookup(served.url) as lookup:
        found = lookup.encryption_certificate(one.email.upper())  # mail matches without case
        # A client asks for the entry, not for the server's schema (ldap3 reads it at
        # each bind unless told not to: most of a lookup's time).
        server = lookup._connection.server
        assert (server.info, server.schema) == (None, None)
    assert found.certificate == one.certificate("encrypt")
    assert found.dn == person_dn(one)
    assert found.notes == ()


@needs_slapd
def test_lookup_by_idnat_finds_the_entry(pki: TestPKI, served: slapd.Endpoint) -> None:
    one = pki.valid_identities()[5]
    with Lookup(served.url) as lookup:
        entries = lookup.by_idnat(one.idnat)
    assert [e["dn"] for e in entries] == [person_dn(one)]
    assert [v.decode() for v in entries[0]["mail"]] == [one.email]


@needs_slapd
def test_receiver_lookups_crl_and_unknown_signer(pki: TestPKI, served: slapd.Endpoint) -> None:
    signer = pki.valid_identities()[1].certificate("sign")
    with Lookup(served.url) as lookup:
        crl = lookup.crl(pki.intermediate.subject)
        assert crl is not None and crl in pki.crls
        assert len(lookup.all_crls()) == 2
        assert lookup.find_certificate(signer.issuer, signer.serial_number) == signer
        assert lookup.find_certificate(signer.issuer, signer.serial_number + 1) is None


def test_a_bad_directory_address_is_a_user_error() -> None:
    for url in ("http://x/o=a", "ldap://host:99999/o=a", "ldap://host:389/", "nonsense"):
        with pytest.raises(UserError, match="ldap://HOST:PORT/BASE"):
            Lookup(url)


# --- the faults -------------------------------------------------------------------------


@needs_slapd
def test_every_fault_is_classified(pki: TestPKI) -> None:
    faults = fault_tree(pki)
    seen: dict[Fault, Found | LookupFailure] = {}
    with fault_directories(pki) as (tree, where):
        for fault in FAULTS:
            mail = tree.recipients[fault].email if fault in tree.recipients else "x@example"
            with Lookup(where[fault].url, timeout=1) as lookup:
                try:
                    seen[fault] = lookup.encryption_certificate(mail)
                except LookupFailure as exc:
                    seen[fault] = exc
    kinds = {f: getattr(v, "kind", "found") for f, v in seen.items()}
    assert kinds == {
        "absent": "absent",
        "signature-only": "no-encryption-certificate",
        "expired-beside-renewal": "found",
        "revoked": "revoked",
        "down": "unreachable",
        "slow": "timeout",
    }
    renewal = seen["expired-beside-renewal"]
    renewed = faults.recipients["expired-beside-renewal"]
    assert not isinstance(renewal, LookupFailure)
    assert renewal.certificate == renewed.certificate("encrypt")
    assert "outside its validity" in renewal.notes[0]
    for fault, value in seen.items():
        if isinstance(value, LookupFailure):
            assert value.reason, fault


@needs_slapd
def test_fault_cells_of_a_profile_sender_pass_and_openssl_is_not_credited() -> None:
    """openssl has no directory client: its cells are the suite's lookup, not measured."""
    need_tools(load_profiles()["openssl"])
    cells = run_faults(("docteur-net-cps", "openssl"))
    assert len(cells) == 2 * len(FAULTS)
    profile = [c for c in cells if c.sender == "docteur-net-cps"]
    failed = [(c.fault, c.reason) for c in profile if c.verdict != "pass"]
    assert not failed
    renewal = [c for c in profile if c.fault == "expired-beside-renewal"]
    assert all("renewal" in c.reason for c in renewal)
    refused = [c for c in profile if c.fault != "expired-beside-renewal"]
    assert all(c.reason.startswith("refused: ") for c in refused)
    tool = [c for c in cells if c.sender == "openssl"]
    assert all(c.verdict == "not-applicable" for c in tool), tool
    assert all("the suite's lookup on behalf of openssl" in c.reason for c in tool)


@needs_slapd
def test_gpgsm_looks_up_itself_through_dirmngr() -> None:
    """Measured: dirmngr hands gpgsm only the first value of userCertificate;binary (the
    authentication certificate here), so gpgsm finds no encryption certificate."""
    need_tools(load_profiles()["gpgsm"])
    cells = {c.fault: c for c in run_faults(("gpgsm",))}
    assert "dirmngr LDAP" in cells["absent"].reason
    # It refuses a correctly served recipient too: its refusals show nothing of the faults.
    assert cells["signature-only"].verdict == "inconclusive"
    assert "refuses a correctly served recipient" in cells["revoked"].reason
    assert "gpgsm's own lookup" in cells["expired-beside-renewal"].reason
    assert all(c.verdict != "error" for c in cells.values())


# --- senders ----------------------------------------------------------------------------


def _request(export: Path, pki: TestPKI, directory: str | None) -> SendRequest:
    sender, recipient = pki.valid_identities()[0], pki.valid_identities()[1]
    party = Party(export / "identities" / sender.id, sender.email, sender.name)
    return SendRequest(
        function="first-contact",
        content=build_entity(basic_scenario("first-contact")),
        sender=party,
        recipients=(),
        recipient_emails=(recipient.email,),
        directory=directory,
    )


@needs_slapd
def test_suite_lookup_is_labelled_in_the_evidence(pki: TestPKI, served: slapd.Endpoint) -> None:
    ev = Evidence()
    request = looked_up(_request(exported_pki(pki), pki, served.url), ev, "the suite")
    assert isinstance(request, SendRequest)
    assert request.recipients == (pki.valid_identities()[1].certificate("encrypt"),)
    assert ev.notes[0].startswith("the suite looked ")


def test_a_sender_that_does_not_look_in_the_directory_refuses(pki: TestPKI) -> None:
    profiles = load_profiles()
    manual = profiles["reference"].model_copy(
        update={
            "send": profiles["reference"].send.model_copy(
                update={"recipient_certificate": "manual"}
            )
        }
    )
    agent = make_agent(manual)
    try:
        sent = agent.send(_request(exported_pki(pki), pki, "ldap://127.0.0.1:1/o=x"))
    finally:
        close_agent(agent)
    assert sent.message is None
    assert sent.error is ErrorCode.NO_RECIPIENT_CERTIFICATE
    assert "no certificate for the recipient" in sent.reason and "imported by hand" in sent.reason


@needs_slapd
def test_first_contact_exchange_through_the_directory(
    pki: TestPKI, served: slapd.Endpoint, tmp_path: Path
) -> None:
    profiles = load_profiles()
    cast = Cast({k: profiles[k] for k in ("reference", "docteur-net-cps")}, workdir=tmp_path)
    try:
        world = replace(cast.world(), directory=served.url)
        for sender in ("reference", "docteur-net-cps"):
            obs = exchange(
                basic_scenario("first-contact"),
                cast.seat(sender, "sender"),
                cast.seat("reference", "receiver"),
                world,
            )
            assert obs.ok, obs.reason
            assert obs.send is not None and any("looked" in n for n in obs.send.evidence.notes)
        # The same exchange without a directory: no certificate, a clear refusal.
        obs = exchange(
            basic_scenario("first-contact"),
            cast.seat("reference", "sender"),
            cast.seat("reference", "receiver"),
            cast.world(),
        )
        assert not obs.ok and obs.reason is not None
        assert "no certificate for the recipient" in obs.reason
    finally:
        cast.close()


def test_first_contact_cell_without_slapd_is_skipped_with_the_reason(tmp_path: Path) -> None:
    profiles = load_profiles()
    cast = Cast({"reference": profiles["reference"]}, workdir=tmp_path)
    try:
        world = replace(cast.world(), directory_missing="slapd missing here")
        cell = run_cell(
            cast.seat("reference", "sender"),
            cast.seat("reference", "receiver"),
            "first-contact",
            world,
            CellSettings(examples=1),
        )
    finally:
        cast.close()
    assert cell.verdict == "unsupported"
    assert cell.reason == "not run: slapd missing here"
    assert cell.not_observed is not None and cell.not_observed.kind == "directory-missing"
    assert cell.not_observed.detail == "slapd missing here"


# --- the command line -------------------------------------------------------------------


def test_directory_export_writes_ldif(tmp_path: Path) -> None:
    out = tmp_path / "annuaire.ldif"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "directory", "export", "--ldif", str(out)],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"base {BASE_DN}" in done.stdout
    assert out.read_text(encoding="utf-8").count("\n\ndn") == len(build_tree(load_pki()).entries)


def _serve_command(port: int) -> subprocess.Popen[str]:
    """`directory serve --port PORT` as a user starts it, its output readable."""
    return subprocess.Popen(
        [sys.executable, "-m", "conformance", "directory", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


@needs_slapd
def test_directory_serve_answers_until_interrupted(pki: TestPKI) -> None:
    port = free_port()
    process = _serve_command(port)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert f"ldap://127.0.0.1:{port}/" in first
        assert process.stdout.readline().strip() == f"base DN: {BASE_DN}"
        one = pki.valid_identities()[2]
        with Lookup(f"ldap://127.0.0.1:{port}/{BASE_DN}") as lookup:
            assert lookup.encryption_certificate(one.email).certificate == one.certificate(
                "encrypt"
            )
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    time.sleep(0.2)
    with (
        Lookup(f"ldap://127.0.0.1:{port}/{BASE_DN}", timeout=1) as lookup,
        pytest.raises(LookupFailure) as stopped,
    ):
        lookup.encryption_certificate(one.email)
    assert stopped.value.kind == "unreachable"  # its slapd went with it


@needs_slapd
def test_agent_send_to_address_through_the_directory(pki: TestPKI, served: slapd.Endpoint) -> None:
    export = exported_pki(pki)
    sender, recipient = pki.valid_identities()[0], pki.valid_identities()[1]
    base = [sys.executable, "-m", "conformance", "agent", "reference", "send"]
    base += ["--function", "first-contact", "--from", str(export / "identities" / sender.id)]
    content = build_entity(basic_scenario("first-contact"))
    done = subprocess.run(
        [*base, "--to-address", recipient.email, "--directory", served.url],
        input=content,
        capture_output=True,
        env=ENV,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"application/pkcs7-mime" in done.stdout
    absent = subprocess.run(
        [*base, "--to-address", "personne@osm-test.example", "--directory", served.url],
        input=content,
        capture_output=True,
        env=ENV,
        check=False,
    )
    assert absent.returncode == EXIT_CODES[ErrorCode.NO_RECIPIENT_CERTIFICATE]
    assert b"personne@osm-test.example is not in the directory" in absent.stderr
    missing = subprocess.run(
        [*base, "--to-address", recipient.email],
        input=content,
        capture_output=True,
        env=ENV,
        check=False,
    )
    assert missing.returncode == 2
    assert b"--to-address needs --directory" in missing.stderr


# --- receivers ----------------------------------------------------------------------------


def _without_certificates(profile_id: str) -> Any:
    """The profile, signing with no certificate in the message (the receiver must find it)."""
    profile = load_profiles()[profile_id]
    assert profile.send.signature is not None
    signature = profile.send.signature.model_copy(update={"certificates": "none"})
    send = profile.send.model_copy(update={"signature": signature})
    engine = profile.engine.model_copy(update={"keys": "software"})
    return profile.model_copy(update={"send": send, "engine": engine})


@needs_slapd
def test_receiver_fetches_an_unknown_signer_and_the_crls_from_the_directory(
    pki: TestPKI, served: slapd.Endpoint
) -> None:
    export = exported_pki(pki)
    sender, recipient = pki.valid_identities()[0], pki.valid_identities()[1]
    signer = make_agent(_without_certificates("reference"))
    reader = make_agent(_without_certificates("reference"))  # directory_fetches: crls, signers
    try:
        sent = signer.send(
            SendRequest(
                function="sign",
                content=build_entity(basic_scenario("sign")),
                sender=Party(export / "identities" / sender.id, sender.email, sender.name),
                recipients=(),
                recipient_emails=(recipient.email,),
            )
        )
        assert sent.message is not None, sent.reason
        me = Party(export / "identities" / recipient.id, recipient.email, recipient.name)
        ca = export / "ca"

        def read(directory: str | None) -> Any:
            return reader.receive(
                ReceiveRequest(
                    message=sent.message or b"",
                    recipient=me,
                    trust=(ca / "root.pem",),
                    crls=(),  # no CRL file: with the directory, the CA entries' CRLs
                    directory=directory,
                )
            )

        alone = read(None)
        assert not alone.status.ok  # no certificate for the signer, nowhere to find one
        found = read(served.url)
        assert found.status.ok, found.status.errors
        assert found.status.signature_valid and found.status.chain_valid
        assert found.status.signer is not None and found.status.signer.email == sender.email
    finally:
        close_agent(signer)
        close_agent(reader)


@needs_slapd
def test_directory_serve_on_a_port_in_use_says_so() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "conformance", "directory", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert f"127.0.0.1:{port} is already in use" in done.stderr


def test_directory_export_to_an_unwritable_path_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conformance.cli import main

    assert main(["directory", "export", "--ldif", str(tmp_path)]) == 2  # a directory
    assert f"--ldif {tmp_path}: cannot write (Is a directory)" in capsys.readouterr().err


@needs_slapd
@pytest.mark.parametrize("host", ["192.0.2.1", "::1", "no-such-host.invalid"])
def test_directory_serve_on_an_address_not_of_this_host_says_so(host: str) -> None:
    tree = build_tree(load_pki())
    with (
        pytest.raises(RuntimeError, match="not an IPv4 address this machine has"),
        slapd.serve(tree, port=free_port(), host=host),
    ):
        pass


@needs_slapd
@pytest.mark.parametrize("taken", [False, True], ids=["port left free", "port taken after"])
def test_directory_serve_says_so_when_its_slapd_dies(taken: bool) -> None:
    """Its slapd killed, the command stops (exit 2), also when another program listens on
    the port at once (watching the port, it went on serving with that program answering)."""
    port = free_port()
    process = _serve_command(port)
    other = socket.socket()
    try:
        assert process.stdout is not None
        assert f"ldap://127.0.0.1:{port}/" in process.stdout.readline()
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
        (child,) = (int(c) for c in children.split())
        os.kill(child, signal.SIGKILL)
        if taken:
            deadline = time.monotonic() + 10
            while True:  # as soon as slapd's socket is gone
                try:
                    other.bind(("127.0.0.1", port))
                    break
                except OSError:
                    assert time.monotonic() < deadline, "slapd's port never came free"
                    time.sleep(0.01)
            other.listen(8)
        assert process.wait(timeout=15) == 2
    finally:
        if process.poll() is None:  # SIGTERM first: the command then removes its files
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        other.close()
    assert process.stderr is not None
    assert f"slapd stopped: it no longer serves ldap://127.0.0.1:{port}/" in process.stderr.read()
