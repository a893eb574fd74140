"""Hostile input (issue 15): the fuzzing suite's short run, and each fixed site pinned.

The short run and the hypothesis test draw their inputs from fixed seeds, so
CI sees the same inputs every time; `make fuzz` runs the long budget. Every
regression message here is made by the suite's own builders and mutators
(conformance/fuzz/mutate.py) from a golden message, so it reads as what an
attacker did to a real message.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.check.runner import run_checks
from conformance.core import certificates
from conformance.fuzz import der_tree, mutate
from conformance.fuzz.corpus import Seed, golden_seeds, load_seeds, option_seeds
from conformance.fuzz.der_tree import Node
from conformance.fuzz.harness import FAILURE_CLASSES, Target, answers_in_order
from conformance.fuzz.run import Budget, fuzz
from conformance.paths import PKI_DIR, REPO_DIR, VECTORS_DIR
from conformance.smime.options import Limits
from conformance.status import ErrorCode, Status

GOLDEN_SIGN = (VECTORS_DIR / "golden" / "reference" / "sign.eml").read_bytes()
SIGNER_DER = certificates.certificate_der(
    x509.load_pem_x509_certificate((PKI_DIR / "identities" / "pro01" / "sign.pem").read_bytes())
)
PSS_OID = bytes.fromhex("2a864886f70d01010a")  # 1.2.840.113549.1.1.10


@pytest.fixture(scope="module")
def target() -> Target:
    return Target()


def _codes(status: Status) -> set[ErrorCode]:
    return {e.code for e in status.errors}


def _signer_subject_values(root: Node) -> list[Node]:
    """The attribute values of the signer certificate's subject (pro01's signing one)."""
    for cert in mutate.carried_certificates(root):
        if der_tree.encode(cert) == SIGNER_DER:
            subject = mutate.subject_of(cert)
            return [n for n, _ in der_tree.walk(subject) if n.children is None and n.tag != b"\x06"]
    raise AssertionError("the golden message does not carry the signer certificate")


def _intermediate(root: Node) -> Node:
    found = [c for c in mutate.carried_certificates(root) if der_tree.encode(c) != SIGNER_DER]
    assert found, "the golden message carries its intermediate"
    return found[0]


# --- the suite itself --------------------------------------------------------------------


def test_short_run_finds_no_failure() -> None:
    """CI's budget: the seeds themselves, then mutated inputs from a fixed seed."""
    summary = fuzz(Budget(inputs=250, seed=4134, engines=False, save=False))
    report = "\n".join(summary.lines())
    assert summary.inputs >= 250
    assert not summary.failed, report
    # The mutations reach every kind of answer, not only the parser's refusals.
    assert summary.answers["ok"] and summary.answers["malformed"], report
    assert len(summary.answers) >= 4, report


@settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from(golden_seeds()),
    rng=st.randoms(use_true_random=False),
)
def test_mutated_golden_message_gets_a_classified_answer(
    target: Target, seed: Seed, rng: random.Random
) -> None:
    message, names = mutate.mutate(rng, seed.message)
    outcome = target.run(message)
    failures = {k: v for k, v in outcome.failures.items() if k != "slow"}
    assert not failures, f"{seed.name} + {names}: {failures}"


def test_der_tree_keeps_every_byte() -> None:
    """Parsed and encoded again, every CMS object of the corpus is the same bytes (lengths,
    BER forms and encapsulated TLVs included), so an unmutated element stays as signed."""
    count = 0
    for seed in load_seeds(engines=False):
        for start, end, encoding in mutate.pkcs7_bodies(seed.message):
            if encoding != "base64":
                continue
            der = base64.b64decode(b"".join(seed.message[start:end].split()))
            root = der_tree.parse(der)
            assert root is not None, seed.name
            assert der_tree.encode(root) == der, seed.name
            count += 1
    assert count > 40


def test_ber_mutation_writes_indefinite_lengths() -> None:
    root = der_tree.parse(bytes.fromhex("3006020101020102"))
    assert root is not None
    root.indefinite = True
    root.children[0].long_form = 1  # type: ignore[index]
    assert der_tree.encode(root) == bytes.fromhex("30800281010102010200 00".replace(" ", ""))


def test_a_failure_is_saved_with_its_replay_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`replay FILE` judges a saved input again; a broken receiver makes a run fail."""
    saved = tmp_path / "input.eml"
    saved.write_bytes(GOLDEN_SIGN)
    done = subprocess.run(
        [sys.executable, "-m", "conformance.fuzz", "replay", str(saved)],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        env={**os.environ, "PYTHONPATH": str(REPO_DIR)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("answer: ok"), done.stdout

    class Broken(Target):
        def receive(
            self,
            message: bytes,
            limits: Limits = Limits(),  # noqa: B008 (frozen dataclass)
        ) -> tuple[bytes | None, Status]:
            status = Status()
            status.add_error(ErrorCode.INTERNAL, "planted bug")
            return None, status

    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    summary = fuzz(Budget(inputs=3, engines=False), Broken(check=False))
    assert summary.failed and summary.failures["internal"] >= 3
    note = summary.saved[0].with_suffix(".txt").read_text(encoding="utf-8")
    assert "replay: python -m conformance.fuzz replay " in note
    assert set(FAILURE_CLASSES) >= {"internal", "stderr", "unstable", "slow"}


# --- point 1: every site that gave `internal` ------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda n: setattr(n, "tag", b"\x06"), id="value-tag-to-oid"),
        pytest.param(lambda n: setattr(n, "value", b"\xff\xfe" + n.value), id="bad-utf8"),
        pytest.param(lambda n: setattr(n, "raw_length", bytes([len(n.value) + 1])), id="length"),
    ],
)
def test_one_byte_of_the_signer_subject_is_malformed_every_time(
    target: Target, change: object
) -> None:
    """Points 1 and 3: a damaged signer subject is MALFORMED, on the first read and on the
    second (the shared half-parsed certificate once made it `internal`, past the guard)."""

    def edit(root: Node) -> None:
        values = _signer_subject_values(root)
        change(values[-1])  # type: ignore[operator]

    message = mutate.edit_cms(GOLDEN_SIGN, edit, index=0)
    first = target.receive(message)[1]
    second = target.receive(message)[1]
    assert _codes(first) == {ErrorCode.MALFORMED}, first.errors
    assert first.dumps() == second.dumps()
    # A length running past its container is found by the structure walk (core.cms
    # element_end), which names its byte; the other damage by the certificate's parse.
    message_text = first.errors[0].message
    assert "certificate" in message_text or "runs past its container" in message_text
    assert not target.run(message).failures


def test_a_damaged_carried_intermediate_is_malformed(target: Target) -> None:
    """The chain-validation context was built from every carried certificate, outside the
    error handling: a corrupt one that is not the signer's gave `internal`."""

    def edit(root: Node) -> None:
        subject = mutate.subject_of(_intermediate(root))
        leaf = [n for n, _ in der_tree.walk(subject) if n.children is None][-1]
        leaf.tag = b"\xc7"  # a private tag where a DirectoryString belongs

    message = mutate.edit_cms(GOLDEN_SIGN, edit)
    _, status = target.receive(message)
    assert _codes(status) == {ErrorCode.MALFORMED}, status.errors
    assert (
        "certificate 2" in status.errors[0].message or "certificate 1" in status.errors[0].message
    )
    assert not target.run(message).failures


def test_a_damaged_policy_notice_is_malformed(target: Target) -> None:
    """asn1crypto raised AttributeError ('InstanceOf' object has no attribute 'native') on a
    certificate-policies user notice whose explicitText tag was changed: `internal` in the
    receiver, a broken parse in the validator."""

    def edit(root: Node) -> None:
        notices = [
            node
            for cert in mutate.carried_certificates(root)
            if der_tree.encode(cert) == SIGNER_DER
            for node, _ in der_tree.walk(cert)
            if node.tag == b"\x0c" and node.value.startswith(b"TEST ONLY: politique")
        ]
        assert notices, "the signer certificate carries a user notice"
        notices[0].tag = b"\xe8"  # private, constructed, 8: what the fuzzer wrote

    message = mutate.edit_cms(GOLDEN_SIGN, edit)
    _, status = target.receive(message)
    assert _codes(status) == {ErrorCode.MALFORMED}, status.errors
    assert "has no attribute" in status.errors[0].message
    assert not target.run(message).failures


def test_a_signer_name_that_cannot_be_compared_is_untrusted(target: Target) -> None:
    """A character unassigned in Unicode 3.2 (U+023F) in the signer's surname: asn1crypto
    cannot prepare the name for comparison (RFC 5280 7.1, RFC 4518), and its ValueError
    came from pyhanko's path iterator, made outside the error handling: `internal` in the
    receiver, CERT-001 "not checked" in the validator. No path can be built: untrusted."""

    def edit(root: Node) -> None:
        surname = [v for v in _signer_subject_values(root) if v.value == b"MARTIN"]
        assert len(surname) == 1, "pro01's signing certificate has the surname MARTIN"
        surname[0].tag, surname[0].value = b"\x0c", "\u023f".encode()  # a UTF8String

    message = mutate.edit_cms(GOLDEN_SIGN, edit, index=0)
    _, status = target.receive(message)
    assert _codes(status) == {ErrorCode.UNTRUSTED_SIGNER}, status.errors
    assert "cannot validate: X.509 Name objects may not contain unassigned code points" in (
        status.errors[0].message
    )
    assert not target.run(message).failures
    report = run_checks(
        message,
        identity_dir=target.recipient.identity_dir,
        trust=target.trust_paths,
        crls=target.crl_paths,
    )
    chain = [c for c in report.checks if c.id == "CERT-001"]
    assert [c.status for c in chain] == ["ERROR"], chain
    assert "unassigned code points" in chain[0].found


@pytest.mark.parametrize("salt", [b"\xff", b"\x00\xff\xff\xff\xff\xff", b"\x7f" + b"\xff" * 7])
def test_pss_salt_length_out_of_range_is_refused(target: Target, salt: bytes) -> None:
    """A negative or absurd RSASSA-PSS saltLength reached cryptography (ValueError,
    OverflowError): now the parameters are refused as unsupported."""
    seed = next(s.message for s in option_seeds() if s.name == "engine/pss-sign")

    def edit(root: Node) -> None:
        changed = 0
        for node, parent in der_tree.walk(root):
            if node.value == PSS_OID and parent is not None and len(parent.children or ()) > 1:
                for field in (parent.children or [])[1].children or []:
                    if field.tag == b"\xa2":
                        (field.children or [])[0].value = salt
                        changed += 1
        assert changed == 1

    message = mutate.edit_cms(seed, edit)
    _, status = target.receive(message)
    assert _codes(status) == {ErrorCode.UNSUPPORTED_ALGORITHM}, status.errors
    assert "salt length" in status.errors[0].message
    assert not target.run(message).failures


def test_from_with_thousands_of_nested_comments_is_malformed(target: Target) -> None:
    """email.utils reads comments by recursion: 3000 levels gave RecursionError (`internal`
    in the receiver, a broken HDR-001 in the validator)."""
    trick = mutate.from_tricks(b"pro01@osm-test.example")["nested-comments"]
    message = mutate.with_from(GOLDEN_SIGN, [trick])
    _, status = target.receive(message)
    assert _codes(status) == {ErrorCode.MALFORMED}, status.errors
    assert "From: field cannot be read" in status.errors[0].message
    assert not target.run(message).failures
    report = target.validate(message)
    assert report == []


def test_shallow_comments_still_read() -> None:
    from conformance.core import mime

    value = "(a (b (c))) Name <x@example.org>"
    assert mime.addresses([value]) == ["x@example.org"]
    with pytest.raises(ValueError, match="nested 65 deep"):
        mime.addresses(["(" * 65 + ")" * 65 + " <x@example.org>"])


def test_parse_problem_names_a_certificate_that_does_not_parse_in_full() -> None:
    good = SIGNER_DER
    assert certificates.parse_problem(good) is None
    broken = good.replace(b"MARTIN", b"MART\xffN", 1)
    assert broken != good
    assert certificates.parse_problem(broken) is not None


# --- point 3: caches never change an answer --------------------------------------------------


def _statuses(files: list[Path]) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "conformance.fuzz", "statuses", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        env={**os.environ, "PYTHONPATH": str(REPO_DIR)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


def test_every_message_reads_the_same_in_any_order(tmp_path: Path) -> None:
    """Every corpus message and a set of mutated ones (the signer subject's byte among them)
    read in fresh processes, forwards and backwards, each twice: one answer each."""
    messages = {s.name.replace("/", "_"): s.message for s in load_seeds(engines=False)}
    rng = random.Random(15)
    seeds = list(messages.items())
    for index in range(40):
        name, message = rng.choice(seeds)
        messages[f"mutated{index}_{name}"] = mutate.mutate(rng, message)[0]

    def flip(root: Node) -> None:
        values = _signer_subject_values(root)
        values[-1].tag = b"\x06"

    messages["signer-subject-byte"] = mutate.edit_cms(GOLDEN_SIGN, flip)
    files = []
    for name, message in messages.items():
        path = tmp_path / f"{name}.eml"
        path.write_bytes(message)
        files.append(path)
    # The damaged message first in one process, after all the others in the other.
    forwards = _statuses([files[-1], *files[:-1]])
    backwards = _statuses(list(reversed(files)))
    for path in files:
        first, second = forwards[str(path)]
        third, fourth = backwards[str(path)]
        assert first == second == third == fourth, path.name
    damaged = json.loads(forwards[str(files[-1])][0])
    assert [e["code"] for e in damaged["errors"]] == ["malformed"]


def test_answers_in_order_reads_twice(target: Target) -> None:
    pairs = answers_in_order(target, [GOLDEN_SIGN, b"not mail"])
    assert len(pairs) == 2 and all(a == b for a, b in pairs)
    assert json.loads(pairs[1][0])["errors"][0]["code"] == "malformed"


# --- point 4: library logging never reaches stderr -----------------------------------------


def _altered_intermediate_signature(root: Node) -> None:
    """One byte of the carried intermediate's serial number: it still parses, its signature
    no longer verifies, so pyhanko's CRL-issuer path through it fails (and it logged that)."""
    tbs = (_intermediate(root).children or [])[0].children or []
    serial = tbs[1 if tbs[0].tag == b"\xa0" else 0]
    serial.value = serial.value[:-1] + bytes([serial.value[-1] ^ 1])


def test_pyhanko_log_stays_off_stderr_through_the_agent_cli(tmp_path: Path) -> None:
    message = mutate.edit_cms(GOLDEN_SIGN, _altered_intermediate_signature)
    ca = PKI_DIR / "ca"
    status_file = tmp_path / "status.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "agent",
            "reference",
            "receive",
            "--identity",
            str(PKI_DIR / "identities" / "pro02"),
            "--trust",
            str(ca / "root.pem"),
            "--crl",
            str(ca / "root.crl.pem"),
            "--crl",
            str(ca / "intermediate.crl.pem"),
            "--status-out",
            str(status_file),
        ],
        input=message,
        capture_output=True,
        cwd=REPO_DIR,
        env={**os.environ, "PYTHONPATH": str(REPO_DIR), "OSM_CONFORMANCE_TOKEN": "software"},
        timeout=300,
    )
    status = json.loads(status_file.read_text(encoding="utf-8"))
    assert status["errors"] == [], status["errors"]
    assert done.returncode == 0
    assert done.stderr == b""


def test_library_warnings_are_gathered_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from conformance.smime import library_log

    with library_log.gathered() as logged:
        logging.getLogger("pyhanko_certvalidator.revinfo").warning("Path for CRL issuer %s", "X")
    logging.getLogger("pyhanko_certvalidator").warning("outside any validation")
    assert logged == ["Path for CRL issuer X"]
    assert capsys.readouterr().err == ""


FOUND = sorted((Path(__file__).parent / "data" / "fuzz").glob("*.eml"))


@pytest.mark.parametrize("path", FOUND, ids=[p.stem for p in FOUND])
def test_found_inputs_get_a_classified_answer(target: Target, path: Path) -> None:
    """What the long fuzz runs found (tests/data/fuzz/README.md) stays classified."""
    outcome = target.run(path.read_bytes())
    failures = {k: v for k, v in outcome.failures.items() if k != "slow"}
    assert not failures, f"{path.name}: {failures}"


@pytest.mark.parametrize(
    "message",
    [
        Path(__file__).parent / "data" / "fuzz" / "non-positive-serial-warning.eml",
        REPO_DIR / "vectors" / "rfc4134" / "4.8.eml",  # DSA, deprecated by cryptography
    ],
    ids=["non-positive-serial", "rfc4134-dsa"],
)
def test_data_cryptography_deprecates_warns_nobody(message: Path) -> None:
    """cryptography's deprecation warnings about the data it loads would be printed on
    stderr, among a command's answer or an agent's status lines (conformance/__init__)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "conformance", "check", str(message)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == ""
