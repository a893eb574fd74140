"""Renderings of a CheckReport: the terminal table, the HTML page, the catalogue in Markdown."""

from __future__ import annotations

import functools
import re
import shutil
import textwrap
from typing import NamedTuple

import jinja2

from conformance import __version__
from conformance.check.catalogue import GROUPS, all_rules, rule_ids
from conformance.check.i18n import DEFAULT_LANGUAGE, TITLES_FR, Words
from conformance.check.model import JSON_FORMAT, STATUSES, Check, CheckReport
from conformance.check.policy import load_policy, policy_names

# Errors first, then warnings, then the rest: what a tester must act on comes first.
_ORDER = {"ERROR": 0, "WARNING": 1, "INFO": 2, "SUCCESS": 3}


def ordered(report: CheckReport) -> list[Check]:
    """The checks, errors first, then warnings, INFO, SUCCESS; catalogue order within each."""
    return sorted(report.checks, key=lambda c: _ORDER[c.status])


def verdict_line(report: CheckReport, words: Words) -> str:
    """ "conforme", "2 erreurs, 1 avertissement", "incomplet (non vérifié : CERT-001)"."""
    verdict = report.verdict()
    warnings = words.count(verdict.warnings, "warning")
    unchecked = words("verdict.unchecked", ids=", ".join(verdict.unchecked))
    semicolon = words("semicolon")
    if verdict.status == "non-conformant":
        text = f"{words.count(verdict.errors, 'error')}, {warnings}"
        return f"{text}{semicolon}{unchecked}" if verdict.unchecked else text
    if verdict.status == "incomplete":
        extra = f"{semicolon}{warnings}" if verdict.warnings else ""
        return f"{words('verdict.incomplete')} ({unchecked}{extra})"
    extra = f" ({warnings})" if verdict.warnings else ""
    return f"{words('verdict.conformant')}{extra}"


def setting_lines(report: CheckReport, words: Words) -> list[tuple[str, str]]:
    """(label, value) of what the check used: policy, trust anchors, CRLs, line endings."""
    trust = report.trust
    origin = words(f"origin.{trust['origin']}")
    anchors = "; ".join(f"{a['subject']} ({a['path']})" for a in trust["anchors"])
    lists = "; ".join(
        f"{c['issuer']}, "
        + (words("next_update", date=c["next_update"]) + " " if c["next_update"] else "")
        + f"({c['path']})"
        for c in trust["crls"]
    )
    lines = [
        (words("policy"), report.policy),
        (words("trust"), f"{origin}{words('sep')}{anchors}" if anchors else origin),
        (words("crls"), f"{origin}{words('sep')}{lists}" if lists else origin),
    ]
    if report.line_endings is not None:
        lines.append((words("line_endings"), line_endings_text(report, words)))
    return lines


def line_endings_text(report: CheckReport, words: Words) -> str:
    assert report.line_endings is not None
    verified = words(f"verifies.{report.line_endings['verifies']}")
    return words("line_endings.text", verified=verified)


# What a terminal would obey rather than show: the C0 controls (the line breaks `_wrap`
# makes aside), DEL and the C1 controls. A message's words reach the report (a From: with
# ESC [2J clears the screen and writes a false verdict): shown as \xNN.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _visible(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _wrap(prefix: str, text: str, width: int, indent: int) -> list[str]:
    """`prefix` then `text` (its whitespace collapsed, its control characters shown as
    \\xNN) wrapped to `width`, continuation lines indented; never cut: a word longer than
    the line (a path, an OID) overflows instead."""
    return textwrap.wrap(
        _visible(" ".join(text.split())),
        width=max(width, len(prefix) + 20, indent + 20),
        initial_indent=prefix,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [prefix]


def text_table(report: CheckReport, width: int | None = None, lang: str = DEFAULT_LANGUAGE) -> str:
    """The terminal report: the verdict, what the check used, then every check in full
    (errors and warnings with what was found and expected, and the reference), wrapped to
    the terminal's width, nothing truncated; the verdict again at the end."""
    words = Words(lang)
    width = width or shutil.get_terminal_size((100, 24)).columns
    sep = words("sep")
    verdict = _wrap(f"{words('verdict')}{sep}", verdict_line(report, words), width, 4)
    lines = list(verdict)
    for label, value in setting_lines(report, words):
        lines += _wrap(f"{label}{sep}", value, width, 4)
    lines.append("")
    status_width = max(len(words.status(s)) for s in STATUSES)
    indent = status_width + 2
    labels = {key: words(key) for key in ("found", "expected", "reference")}
    label_width = max(len(label) for label in labels.values())
    for check in ordered(report):
        head = (
            f"{words.status(check.status):<{status_width}}  {check.id:<9} "
            f"{words('part')} {check.part:<5} "
        )
        title = words.title(check.id, check.title, check.title_fr)
        if check.status in ("ERROR", "WARNING"):
            lines += _wrap(head, title, width, indent)
            for key, value in (
                ("found", words.detail(check, "found")[0]),
                ("expected", words.detail(check, "expected")[0]),
                ("reference", words.reference(check.id, check.reference)),
            ):
                prefix = " " * indent + labels[key].ljust(label_width) + sep
                lines += _wrap(prefix, value, width, len(prefix))
        else:
            lines += _wrap(head, f"{title}{sep}{words.detail(check, 'found')[0]}", width, indent)
    counts = ", ".join(f"{n} {words.status(s)}" for s, n in report.counts().items())
    lines += ["", f"{words('checks', n=len(report.checks))}{sep}{counts}", *verdict]
    return "\n".join(line.rstrip() for line in lines) + "\n"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("conformance.check", "templates"),
        autoescape=True,  # subjects, addresses and file names come from the message: data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class _Row(NamedTuple):
    """A check's row of the HTML table, its words already chosen: the matrix writes a
    page per cell, and a row built here costs a fraction of the template's own calls."""

    status: str
    id: str
    status_text: str
    title: str
    part: str
    details: tuple[tuple[str, str | None], ...]  # found, expected: (text, lang attribute)
    reference: str


def _rows(report: CheckReport, words: Words) -> list[_Row]:
    rows = []
    for check in ordered(report):
        details = []
        for which in ("found", "expected"):
            text, text_lang = words.detail(check, which)
            # The lang attribute only where the text is not in the page's language.
            details.append((text, text_lang if text_lang and text_lang != words.lang else None))
        rows.append(
            _Row(
                check.status,
                check.id,
                words.status(check.status),
                words.title(check.id, check.title, check.title_fr),
                check.part,
                tuple(details),
                words.reference(check.id, check.reference),
            )
        )
    return rows


def html_page(report: CheckReport, lang: str = DEFAULT_LANGUAGE) -> str:
    """A self-contained HTML page (inline style, no script, no external resource): a verdict
    banner, what the check used (policy, trust anchors, CRLs), every check in full."""
    words = Words(lang)
    template = _environment().get_template("report.html.j2")
    policy = load_policy(report.policy, rule_ids())
    return template.render(
        report=report,
        rows=_rows(report, words),
        verdict=report.verdict(),
        verdict_text=verdict_line(report, words),
        line_endings=line_endings_text(report, words) if report.line_endings else None,
        t=words,
        counts=report.counts(),
        policy=policy,
        version=__version__,
        groups=GROUPS,
    )


def catalogue_text() -> str:
    lines = []
    ids = rule_ids()
    for rule in all_rules():
        severities = " ".join(
            f"{p}={load_policy(p, ids).severity(rule.id)}" for p in policy_names()
        )
        lines.append(f"{rule.id:10} {rule.title}  [{rule.reference}]  {severities}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def catalogue_markdown() -> str:
    """docs/check-rules.md: generated from the rules and the policies (a test keeps it in sync)."""
    names = policy_names()
    policies = [load_policy(n, rule_ids()) for n in names]
    out = [
        "# Conformance rules of `osm-conformance check`",
        "",
        "<!-- GENERATED by `osm-conformance check --catalogue --markdown > docs/check-rules.md`;",
        "     do not edit: change the rules (conformance/check/rules/) or the policies",
        "     (conformance/check/policies/) and regenerate. -->",
        "",
        "Each rule has a stable id and a title in English and French (in italics; `--lang`).",
        "A check is SUCCESS when the message passes the rule; otherwise its status is the",
        "rule's severity under the chosen policy (`--policy`), or INFO when the rule could not",
        "judge (no identity, no trust anchor, no CRL): it is then *not checked*. Algorithm rules",
        "grade each algorithm as the policy lists it (see the end of this page).",
        "",
        "## Reading the output",
        "",
        "The first line is the verdict: **conforme** / *conformant* (no ERROR; warnings are",
        "counted beside it), **N erreurs, M avertissements** / *N errors, M warnings*, or",
        "**incomplet** / *incomplete* (no ERROR, but a rule could not judge: the rules not",
        "checked are named). Then what the check used: the policy, the trust anchors and the",
        "CRLs, each named with its file. Then every check, errors first, then warnings, INFO",
        "and SUCCESS, wrapped to the terminal, never cut (`--html` writes the same with a",
        f"verdict banner; `--json` the machine-readable report, `format` {JSON_FORMAT}).",
        "",
        "- **Trust, fail-closed.** Without `--trust` and `--crl`, the chain (CERT-001) and",
        "  revocation (CERT-003) are judged against the shipped test PKI's root and CRLs",
        "  (`vectors/pki/ca/`), so a message from an unknown root or a revoked signer is an",
        "  ERROR. `--trust`/`--crl` replace them; `--no-default-trust` without them leaves",
        "  both rules, and CERT-013 (the signer's CAs carried up to an anchor), *not checked*",
        "  and the verdict *incomplete*.",
        "- **Files saved with LF.** `check FILE` also checks a file whose lines end in LF",
        "  (saved on Unix; openssl keeps only the signed content in CRLF) in its CRLF form,",
        "  and reports one MIME-001 WARNING saying which form's signature verified. Mixed",
        "  endings (CRLF and bare LF in one header block or body, or a bare CR) stay an",
        "  ERROR. Receivers and the matrix never convert: they judge the bytes received.",
        "- **Exit status:** 0 conformant, 1 non-conformant, 2 usage error, 3 incomplete (a",
        "  rule could not judge, or the validator itself failed on a rule: the suite's bug,",
        "  named in that rule's line, never counted against the message).",
        "- **Language:** `--lang fr` (default) or `en` translates the verdict, the statuses,",
        "  the labels, the rule titles, the policy's title, the references that are words",
        '  ("OSM: the sender\'s address") and what a rule found and expected (each rule writes',
        "  both languages; a header's value is shown as it is, and a library's own words, a",
        "  parser's, the path validator's or a PKCS#11 module's, are quoted, in « » in",
        "  French); the JSON is never translated.",
        "",
        "## Policies",
        "",
    ]
    for policy in policies:
        out.append(f"- `{policy.id}`: {policy.title}. {policy.description}")
    for group, title in GROUPS.items():
        out += ["", f"## {title} ({group})", ""]
        header = "| id | rule | reference | " + " | ".join(names) + " |"
        out.append(header)
        out.append("|" + " --- |" * (3 + len(names)))
        for rule in all_rules():
            if rule.group != group:
                continue
            severities = " | ".join(p.severity(rule.id) for p in policies)
            out.append(
                f"| {rule.id} | **{_md(rule.title)}** (*{_md(TITLES_FR[rule.id])}*): "
                f"{_md(rule.description)} | "
                f"{_md(rule.reference)} | {severities} |"
            )
    out += ["", "## Algorithms by policy", ""]
    for policy in policies:
        cited = policy.provenance
        out += [
            f"### {policy.id}",
            "",
            f"Minimum RSA key size: {policy.min_rsa_bits} bits "
            f"({_md(cited['min_rsa_bits'].label)}).",
            "",
        ]
        for kind, table in policy.grades.items():
            graded = ", ".join(f"{name} ({status})" for name, status in table.items())
            why = _md(cited[f"algorithms.{kind}"].label)
            out.append(f"- {kind.replace('_', ' ')}: {graded}; anything else is refused ({why}).")
        out.append("")
    return "\n".join(textwrap.dedent(line) for line in out).rstrip() + "\n"
