"""What the fuzzer reaches beyond small edits: size-multiplying mutations, the spooled
reader (a seed over its threshold, and every input read by both readers), the validator
and the receiver contradicting each other, and a deadline per input."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest

from conformance.check.model import Check, CheckReport
from conformance.fuzz import der_tree, harness, mutate
from conformance.fuzz.agree import disagreement
from conformance.fuzz.corpus import large_seeds, load_seeds
from conformance.fuzz.der_tree import Node
from conformance.fuzz.harness import FAILURE_CLASSES, Target
from conformance.paths import VECTORS_DIR
from conformance.smime.options import Limits
from conformance.status import ErrorCode, Status

GOLDEN = VECTORS_DIR / "golden"
SIGN = (GOLDEN / "reference" / "sign.eml").read_bytes()
SIGN_ENCRYPT = (GOLDEN / "reference" / "sign-encrypt.eml").read_bytes()
# 1.2.840.113549.1.7.2 (signedData) in a SEQUENCE with an INTEGER and a NULL.
SMALL_DER = bytes.fromhex("301006092a864886f70d0107020201050500")


@pytest.fixture(scope="module")
def target() -> Target:
    return Target()


def _outcomes(mutator: Callable[[random.Random, bytes], bytes], message: bytes) -> list[bytes]:
    return [mutator(random.Random(i), message) for i in range(40)]


def _der_outcomes(mutator: mutate.DerMutator) -> list[Node]:
    roots = []
    for i in range(60):
        root = der_tree.parse(SMALL_DER)
        assert root is not None
        mutator(random.Random(i), root)
        roots.append(root)
    return roots


# --- size-multiplying mutations --------------------------------------------------------


def test_der_oid_grows_an_arc_past_thousands_of_bytes_or_swaps_the_oid() -> None:
    values = [r.children[0].value for r in _der_outcomes(mutate.der_oid)]  # type: ignore[index]
    grown = [v for v in values if b"\xff" * 2000 + b"\x01" in v]
    private = [v for v in values if v.startswith(bytes.fromhex("2b06010401868d1f"))]
    assert grown and private
    assert all(len(v) <= 300 * 1024 + 20 for v in values)
    # Every outcome is one of the three: a grown arc, a private OID, or an OID of the object.
    assert len(grown) + len(private) + values.count(bytes.fromhex("2a864886f70d010702")) == 60


def test_der_grow_multiplies_an_element_or_a_value() -> None:
    sizes = [len(der_tree.encode(r)) for r in _der_outcomes(mutate.der_grow)]
    assert max(sizes) >= 1024 * 1024  # a megabyte at the most
    assert max(sizes) <= 2 * 1024 * 1024
    counts = [len(r.children or []) for r in _der_outcomes(mutate.der_grow)]
    assert max(counts) >= 1000  # an element written a thousand times


def test_header_params_duplicates_or_multiplies_parameters() -> None:
    outcomes = _outcomes(mutate.header_params, SIGN)
    twice = [m for m in outcomes if re.search(rb'; [\w-]+="x[a-z]"', m)]
    many = [m for m in outcomes if m.count(b"p=v") >= 10_000 or b"p9999=v" in m]
    assert twice and many
    assert all(len(m) <= mutate.MAX_BYTES + 200 for m in outcomes)
    for m in many:  # inside a Content-* field, on its line or folded
        first = min(i for i in (m.find(b"p=v"), m.find(b"p0=v")) if i >= 0)
        start = m.rfind(b"\nContent-", 0, first)
        assert re.fullmatch(rb"\nContent-[\w-]+:(?:[^\r\n]|\r\n[ \t])*", m[start:first])


def test_header_flood_grows_the_header_block_past_the_spool_window() -> None:
    outcomes = _outcomes(mutate.header_flood, SIGN)
    blocks = [m.index(b"\r\n\r\n") for m in outcomes]
    assert max(blocks) > 256 * 1024  # core.mime_spool.HEADER_WINDOW
    assert all(m.endswith(SIGN[SIGN.index(b"\r\n\r\n") :]) for m in outcomes)
    assert all(len(m) <= mutate.MAX_BYTES + 100 for m in outcomes)


def test_body_lines_writes_megabytes_of_near_delimiters() -> None:
    outcomes = _outcomes(mutate.body_lines, SIGN)
    name = re.search(rb'boundary="([^"]+)"', SIGN).group(1)  # type: ignore[union-attr]
    assert any(m.count(b"\r\n--" + name[: len(name) // 2]) > 1000 for m in outcomes)
    assert max(len(m) for m in outcomes) > 4 * 1024 * 1024  # over the spool threshold
    assert all(len(m) <= mutate.MAX_BYTES + 100 for m in outcomes)


def test_size_mutations_never_grow_past_the_bound() -> None:
    large = large_seeds()[0].message
    assert len(large) > Limits().spool_above_bytes
    for mutator in mutate.SIZE_MUTATORS:
        assert len(mutator(random.Random(3), large)) <= mutate.MAX_BYTES + 100


def test_mutate_is_deterministic_and_multiplies_last() -> None:
    assert large_seeds()[0].message == large_seeds()[0].message  # seeded, dated
    for i in range(60):
        first, names = mutate.mutate(random.Random(i), SIGN)
        again, names_again = mutate.mutate(random.Random(i), SIGN)
        assert (first, names) == (again, names_again)
        sizes = [n in {m.__name__ for m in mutate.SIZE_MUTATORS} for n in names]
        assert sizes == sorted(sizes), names


def test_header_field_writes_terminal_escapes() -> None:
    outcomes = _outcomes(mutate.header_field, SIGN)
    assert any(b"\x1b[" in m or b"\x1b]" in m for m in outcomes)


def test_nesting_wraps_around_the_depth_limit() -> None:
    levels = {
        m.count(b'Content-Type: multipart/mixed; boundary="nest')
        + m.count(b"Content-Type: message/rfc822")
        for m in _outcomes(mutate.nesting, SIGN)
    }
    assert {5, 7, 8, 9} <= levels  # max_depth is 8, in the receiver and the validator


# --- the disagreement class ----------------------------------------------------------------


def _report(*checks: tuple[str, str, str]) -> CheckReport:
    return CheckReport(
        message={},
        checks=[Check(i, s, "", found, "", "", "1") for i, s, found in checks],  # type: ignore[arg-type]
    )


def test_disagreement_compares_only_what_both_judged() -> None:
    signed = _report(("CMS-009", "SUCCESS", "verifies"), ("CERT-001", "SUCCESS", "path"))
    status = Status(signed=True, signature_valid=True, chain_valid=True)
    assert disagreement(status, signed) is None
    bad = Status(signed=True, signature_valid=False)
    bad.add_error(ErrorCode.BAD_SIGNATURE, "message-digest attribute does not match")
    assert disagreement(bad, signed) == "signature_valid: receive False, check True"
    # Content altered under valid signed attributes: check's CMS-004 says so, no contradiction.
    altered = _report(("CMS-009", "SUCCESS", "verifies"), ("CMS-004", "ERROR", "differs"))
    assert disagreement(bad, altered) is None
    # A receiver that stopped early (no verdict) contradicts nothing.
    stopped = Status()
    stopped.add_error(ErrorCode.UNSUPPORTED_FUNCTION, "not read")
    assert disagreement(stopped, signed) is None
    # A rule that could not judge (no CRL for a damaged issuer name) judges neither way.
    unknown = _report(
        ("CMS-009", "SUCCESS", "verifies"),
        ("CERT-001", "SUCCESS", "path"),
        ("CERT-003", "INFO", "not checked: no CRL of the issuer"),
    )
    assert disagreement(status, unknown) is None
    broken_chain = Status(signed=True, signature_valid=True, chain_valid=False)
    assert disagreement(broken_chain, unknown) is None
    refused = Status(signed=True, signature_valid=False)
    refused.add_error(ErrorCode.UNSUPPORTED_ALGORITHM, "DSA is not accepted")
    assert disagreement(refused, signed) is None  # the policy's refusal, not a verdict


def test_disagreement_on_malformed_and_decryption() -> None:
    malformed = Status()
    malformed.add_error(ErrorCode.MALFORMED, "part 1.1: nesting deeper than 8 levels")
    found = disagreement(malformed, _report(("HDR-001", "SUCCESS", "From")))
    assert found is not None and found.startswith("receive says malformed (part 1.1: nesting")
    assert found.endswith("check finds no ERROR (conformant)")
    assert disagreement(malformed, _report(("MIME-004", "ERROR", "too deep"))) is None
    decrypted = Status(encrypted=True, decrypted=True)
    assert disagreement(decrypted, _report(("ENC-004", "SUCCESS", "decrypts"))) is None
    assert disagreement(decrypted, _report(("ENC-004", "ERROR", "no key"))) == (
        "receive decrypted, check did not (ENC-004)"
    )
    assert disagreement(decrypted, _report(("ENC-004", "INFO", "no identity"))) is None
    cannot = Status(encrypted=True)
    cannot.add_error(ErrorCode.CANNOT_DECRYPT, "no key")
    assert "receive says cannot-decrypt" in (
        disagreement(cannot, _report(("ENC-004", "SUCCESS", "decrypts"))) or ""
    )


def _wrapped_in_mixed(message: bytes, levels: int) -> bytes:
    """The message's content wrapped `levels` times in multipart/mixed."""
    head, _, body = message.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith((b"content-", b"mime-"))]
    inner = b"\r\n".join(line for line in lines if line not in kept) + b"\r\n\r\n" + body
    for level in range(levels):
        mark = b"nest%d" % level
        start = b'Content-Type: multipart/mixed; boundary="' + mark + b'"\r\n\r\n--' + mark
        inner = start + b"\r\n" + inner + b"\r\n--" + mark + b"--\r\n"
    return b"\r\n".join(kept) + b"\r\nMIME-Version: 1.0\r\n" + inner


class _Refusing(Target):
    """A receiver that refuses every message as too deeply nested."""

    def receive(
        self,
        message: bytes,
        limits: Limits = Limits(),  # noqa: B008
    ) -> tuple[bytes | None, Status]:
        status = Status()
        status.add_error(ErrorCode.MALFORMED, "part 1.1.1: nesting deeper than 8 levels")
        return None, status


def test_the_disagree_class_fires_when_receive_refuses_what_check_passes() -> None:
    outcome = _Refusing().run(_wrapped_in_mixed(SIGN_ENCRYPT, 3))
    assert set(outcome.failures) - {"slow"} == {"disagree"}, outcome.failures
    assert "check finds no ERROR (conformant)" in outcome.failures["disagree"]


def test_the_corpus_raises_no_disagreement_and_reads_alike_from_a_spool(target: Target) -> None:
    """No false alarm on the unmutated seeds (the large one read from a spool, the others
    also read from a spool with every body in it, the large one also in memory)."""
    for seed in [*load_seeds(engines=False), *large_seeds()]:
        outcome = target.run(seed.message)
        failures = {k: v for k, v in outcome.failures.items() if k != "slow"}
        assert not failures, f"{seed.name}: {failures}"


# --- the spooled reader and the deadline ---------------------------------------------------


def test_a_large_message_is_read_from_a_spool_and_compared_in_memory(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real = Target.receive

    def spying(
        self: Target,
        message: bytes,
        limits: Limits = Limits(),  # noqa: B008
    ) -> tuple[bytes | None, Status]:
        seen.append(limits.spool_above_bytes)
        return real(self, message, limits)

    monkeypatch.setattr(Target, "receive", spying)
    large = large_seeds()[0].message
    assert not target.run(large).failures
    small = Limits().spool_above_bytes
    # Read twice as the agent reads it (spooled: over the threshold), then in memory.
    assert seen == [small, small, harness.IN_MEMORY.spool_above_bytes]
    seen.clear()
    target.run(SIGN)
    assert seen == [small, small, 0]  # a small one: then from a spool, every body in it


def test_the_spool_differs_class_fires_when_the_readers_disagree() -> None:
    class Diverging(Target):
        def other_reading(
            self, message: bytes
        ) -> tuple[tuple[str, str], tuple[bytes | None, Status]]:
            status = Status()
            status.add_error(ErrorCode.MALFORMED, "no end of the header block")
            return ("in memory", "spooled"), (None, status)

    outcome = Diverging(check=False).run(SIGN)
    assert list(outcome.failures) == ["spool-differs"], outcome.failures
    assert outcome.failures["spool-differs"] == (
        "in memory no error; spooled ['malformed: no end of the header block']"
    )


def test_an_input_past_the_deadline_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    class Hanging(Target):
        def report(self, message: bytes) -> CheckReport:
            time.sleep(5)
            raise AssertionError("not stopped")

    monkeypatch.setattr(harness, "STOP_SECONDS", 0.3)
    began = time.perf_counter()
    outcome = Hanging().run(SIGN)
    assert time.perf_counter() - began < 2
    assert outcome.answer == "ok"  # the receiver had answered before the validator hung
    assert outcome.failures == {"timeout": "stopped after 0.3 s, in check"}
    assert FAILURE_CLASSES.index("timeout") < FAILURE_CLASSES.index("slow")  # a failure
