"""Run every rule of the catalogue on one message: `run_checks` (`check_message` also
gives the layers it read); and, for the command line only, `check_saved_file` and
`default_trust`.

The runner never raises on a message: a rule that breaks on some input is
reported as a check naming the rule and the exception (a bug of the validator,
made visible rather than hidden), and the other rules still run. Such a check,
or the one of a message the validator failed to parse, is the suite's failure,
never a finding about the message: INFO and not checked, so the verdict is
"incomplete" (exit 3), neither conformant nor non-conformant, and no ERROR
lands in a product's `nonconformant` rule ids (matrix, vectors verify).
`run_checks` judges the bytes it is given, as a receiver and the matrix do;
`check_saved_file` is what `check FILE` adds for a file saved with LF line
endings (check/endings.py): its CRLF form is checked (the saved form apart only
when its signatures could verify otherwise), and a WARNING says which form
verified.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from conformance.check.catalogue import Rule, all_rules, get_rule, rule_ids
from conformance.check.context import Context, TrustFiles, build_context, trust_files
from conformance.check.endings import saved_form
from conformance.check.i18n import Words
from conformance.check.layers import CmsLayer
from conformance.check.model import Check, CheckReport
from conformance.check.policy import DEFAULT_POLICY, load_policy
from conformance.check.tree import raw_values
from conformance.core.bilingual import Bilingual
from conformance.core.mime import canonicalize
from conformance.errors import UserError

TrustOrigin = Literal["given", "test-pki", "none"]


def _summary(context: Context) -> dict[str, Any]:
    headers = context.root.headers

    def field(name: str) -> str | None:
        # As written (compat32: the parsed value of an ASCII field is its raw value), raw
        # 8-bit octets shown readably rather than lost to U+FFFD.
        values = raw_values(headers, name)
        return " ".join(values[0].split()) if values else None

    return {
        "size": len(context.message),
        "headers": {
            "from": field("from"),
            "to": field("to"),
            "subject": field("subject"),
            "date": field("date"),
            "message_id": field("message-id"),
        },
        "layers": [
            {
                "part": layer.part.path,
                "type": layer.name,
                "error": None if layer.error is None else layer.error.en,
            }
            for layer in context.layers
        ],
        "parts": [node.summary() for node in context.nodes],
    }


def _languages(text: str | Bilingual) -> tuple[str, str | None]:
    """(English, French or None) of what a rule wrote."""
    if isinstance(text, Bilingual):
        return text.en, text.fr
    return text, None


def _run_rule(rule: Rule, context: Context) -> list[Check]:
    checks: list[Check] = []
    severity = context.policy.severity(rule.id)
    try:
        for outcome in rule.function(context):
            status = outcome.status or ("SUCCESS" if outcome.passed else severity)
            found, found_fr = _languages(outcome.found)
            expected, expected_fr = _languages(outcome.expected)
            checks.append(
                Check(
                    rule.id,
                    status,
                    rule.title,
                    found,
                    expected,
                    rule.reference,
                    outcome.part,
                    outcome.checked,
                    found_fr,
                    expected_fr,
                )
            )
    except Exception as exc:  # a validator bug: shown, never a silent pass nor a finding
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        said = f"{type(exc).__name__}: {exc}"  # Python's words, quoted in French
        checks.append(
            Check(
                rule.id,
                "INFO",
                rule.title,
                f"the validator failed on this rule: {said} ({where})",
                "the rule runs to completion",
                rule.reference,
                "1",
                checked=False,
                found_fr=f"le validateur a échoué sur cette règle : « {said} » ({where})",
                expected_fr="la règle s'exécute jusqu'au bout",
            )
        )
    return checks


def _trust_record(files: TrustFiles, origin: TrustOrigin) -> dict[str, Any]:
    """What the chain and revocation rules were given, named, for the report."""
    if not files.anchors and not files.crls:
        origin = "none"
    return {
        "origin": origin,
        "anchors": [{"path": path, "subject": subject} for path, subject in files.anchors],
        "crls": [
            {"path": path, "issuer": issuer, "next_update": update}
            for path, issuer, update in files.crls
        ],
    }


def default_trust() -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The shipped test PKI's trust anchors and CRLs: what `check` trusts unless told
    otherwise, so that an unknown root or a revoked signer is an error, not a silent pass."""
    from conformance.pki.model import load_pki

    try:
        pki = load_pki()
    except UserError as exc:
        raise UserError(
            f"check: the default trust anchors are the test PKI's, which cannot be read ({exc}); "
            "give --trust and --crl, or --no-default-trust"
        ) from None
    return pki.trust_paths(), pki.crl_paths()


def run_checks(
    message: bytes,
    *,
    identity_dir: Path | None = None,
    trust: Sequence[Path] = (),
    crls: Sequence[Path] = (),
    policy: str = DEFAULT_POLICY,
    expected_sender: str | None = None,
    expected_recipient: str | None = None,
    trust_origin: TrustOrigin = "given",
) -> CheckReport:
    """Check one message against every rule of the catalogue under `policy`.

    Never raises on the message's content; raises UserError for an unknown
    policy or unreadable trust, CRL or identity files (configuration, not input).
    `trust_origin` says, for the report, where `trust` and `crls` came from.
    """
    return check_message(
        message,
        identity_dir=identity_dir,
        trust=trust,
        crls=crls,
        policy=policy,
        expected_sender=expected_sender,
        expected_recipient=expected_recipient,
        trust_origin=trust_origin,
    ).report


@dataclass(frozen=True)
class Checked:
    """A report and the CMS layers the reading layer opened to make it (none when the
    message could not be parsed): what a caller that also reads the message's algorithms
    takes instead of reading it again (the matrix's sent algorithms)."""

    report: CheckReport
    layers: tuple[CmsLayer, ...]


def check_message(
    message: bytes,
    *,
    identity_dir: Path | None = None,
    trust: Sequence[Path] = (),
    crls: Sequence[Path] = (),
    policy: str = DEFAULT_POLICY,
    expected_sender: str | None = None,
    expected_recipient: str | None = None,
    trust_origin: TrustOrigin = "given",
) -> Checked:
    """`run_checks`, with the layers it read."""
    chosen = load_policy(policy, rule_ids())
    try:
        context = build_context(
            bytes(message),
            policy=chosen,
            identity_dir=identity_dir,
            trust=trust,
            crls=crls,
            expected_sender=expected_sender,
            expected_recipient=expected_recipient,
        )
    except UserError:
        raise
    except Exception as exc:  # a validator bug while parsing: one visible check, no traceback
        record = _trust_record(trust_files(trust, crls), trust_origin)
        said = f"{type(exc).__name__}: {exc}"  # Python's words, quoted in French
        failed = Check(
            "MIME-004",
            "INFO",
            "the message could not be parsed",
            f"the validator failed while parsing: {said}",
            "a message the validator can walk",
            "RFC 5322 / RFC 2045",
            "1",
            checked=False,
            found_fr=f"le validateur a échoué en analysant le message : « {said} »",
            expected_fr="un message que le validateur sait parcourir",
            title_fr="le message n'a pas pu être analysé",
        )
        unparsed = CheckReport(
            message={
                "size": len(message),
                "headers": dict.fromkeys(("from", "to", "subject", "date", "message_id")),
                "layers": [],
                "parts": [],
            },
            checks=[failed],
            policy=chosen.id,
            trust=record,
        )
        return Checked(unparsed, ())
    record = _trust_record(context.trust_files, trust_origin)
    report = CheckReport(message=_summary(context), policy=chosen.id, trust=record)
    for rule in all_rules():
        report.checks.extend(_run_rule(rule, context))
    return Checked(report, tuple(context.layers))


_SIGNATURE_RULES = ("CMS-004", "CMS-009")  # the digest matches, the signature verifies


def _verifies(report: CheckReport) -> bool | None:
    """Whether every signature of the message verifies; None when it has none."""
    checks = [c for rule_id in _SIGNATURE_RULES for c in report.by_id(rule_id)]
    return all(c.status == "SUCCESS" for c in checks) if checks else None


def _mixed(report: CheckReport) -> CheckReport:
    """The report of a file with mixed line endings, its MIME-001 findings saying why it is
    judged as it is."""
    note = Bilingual(
        " ; le fichier mêle CRLF et LF isolés (ou a un CR isolé), il n'a donc pas de forme "
        "CRLF unique : jugé tel quel",
        "; the file mixes CRLF and bare LF (or has a bare CR), so it has no single "
        "CRLF form: judged as it is",
    )
    report.checks = [
        replace(
            c,
            found=c.found + note.en,
            found_fr=None if c.found_fr is None else c.found_fr + note.fr,
        )
        if c.id == "MIME-001" and c.status != "SUCCESS"
        else c
        for c in report.checks
    ]
    return report


def check_saved_file(message: bytes, **options: Any) -> CheckReport:
    """`run_checks` on a message file, and, when every line of the file ends in LF (as saved
    on Unix, check/endings.py), on its CRLF form instead. The report is then that of the CRLF
    form, the form the message is sent in (a signature that verifies only over the LF bytes
    fails there: fail-closed), and its bare-LF findings give way to one MIME-001 WARNING
    saying which form's signature verified. The saved form is checked too only when its CMS
    objects are other bytes than in the CRLF form (`SavedForm.alike`): else its signatures
    verify, or not, as the CRLF form's. Mixed endings are judged as they are, with a note
    saying why. Receivers and the matrix never convert: only this command-line entry does.

    The file is read once and not held beside its CRLF form: `message` is let go once that
    form is made (freed when the caller keeps no reference to it, as `check` keeps none)."""
    form = saved_form(message)
    if form.endings != "LF":
        report = run_checks(message, **options)
        return report if form.endings == "CRLF" else _mixed(report)
    as_saved = None if form.alike else run_checks(message, **options)
    crlf = canonicalize(message)
    del message  # the CRLF form is checked: the file's bytes need not be held beside it
    report = run_checks(crlf, **options)
    crlf_ok = _verifies(report)
    saved_ok = crlf_ok if as_saved is None else _verifies(as_saved)
    if saved_ok is None:
        verifies = "no-signature"
    else:
        verifies = {
            (True, True): "both",
            (False, True): "crlf",
            (True, False): "saved",
            (False, False): "neither",
        }[(saved_ok, bool(crlf_ok))]
    said = Words("en")(f"verifies.{verifies}")
    said_fr = Words("fr")(f"verifies.{verifies}")
    rule = get_rule("MIME-001")
    assert rule is not None
    warning = Check(
        rule.id,
        "WARNING",
        rule.title,
        "lines end in LF, as in a file saved on Unix (openssl keeps only the signed content "
        "in CRLF): checked as saved and in its CRLF form, the form it is sent in, which this "
        f"report shows; {said}",
        "CRLF at the end of every line, as the message is sent",
        rule.reference,
        "1",
        found_fr="les lignes finissent par LF, comme dans un fichier enregistré sous Unix "
        "(openssl ne garde en CRLF que le contenu signé) : vérifié tel qu'enregistré et sous "
        f"sa forme CRLF, celle de l'envoi, que montre ce rapport ; {said_fr}",
        expected_fr="CRLF à la fin de chaque ligne, comme le message est envoyé",
    )
    # The CRLF form's own MIME-001 findings (all SUCCESS) give way to it.
    place = next((i for i, c in enumerate(report.checks) if c.id == rule.id), 0)
    others = [c for c in report.checks if c.id != rule.id]
    report.checks = [*others[:place], warning, *others[place:]]
    report.line_endings = {"saved": "LF", "checked": "CRLF", "verifies": verifies}
    return report
