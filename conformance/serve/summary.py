"""OUT/judged.json and its small summaries (summary.md, summary.html), written when the
session starts (none judged yet: they say so) and rewritten after every message judged,
each labelled with what it is: the product's messages read by the suite (measured), not
what the product showed (that is the tester's record)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

from conformance.serve.judge import MEASUREMENT, READER, Judged

JUDGED_FILE = "judged.json"
SUMMARY_MD = "summary.md"
SUMMARY_HTML = "summary.html"
_COLUMNS = ("message", "subject", "from → to", "what the suite read", "verdict", "validator")


def _row(j: Judged) -> tuple[str, ...]:
    return (
        j.file,
        j.subject,
        f"{j.sender} → {j.recipient}",
        j.shown,
        j.verdict + (f" ({j.function})" if j.function else ""),
        j.validator + ("; " + "; ".join(j.validator_errors[:3]) if j.validator_errors else ""),
    )


def write_judged(judged: Sequence[Judged], product: str, out: Path) -> None:
    data = {
        "measurement": MEASUREMENT,
        "product": product,
        "reader": f"{READER} (software keys, policy osm-2008) and the validator",
        "messages": [j.to_json() for j in judged],
    }
    (out / JUDGED_FILE).write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / SUMMARY_MD).write_text(markdown(judged, product), encoding="utf-8")
    (out / SUMMARY_HTML).write_text(page(judged, product), encoding="utf-8")


def _count(judged: Sequence[Judged]) -> str:
    """How many were judged; when none, that none has arrived yet (the files exist from the
    start, rewritten after each message the product sends)."""
    if judged:
        return f"{len(judged)} message(s) judged."
    return (
        "No message judged: the product has sent none yet "
        "(this summary is rewritten after each one it sends)."
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(judged: Sequence[Judged], product: str) -> str:
    lines = [
        f"# Messages sent by the product ({product})",
        "",
        f"*{MEASUREMENT}* — read by `{READER}` (software keys, osm-2008) and the validator.",
        "",
        _count(judged),
    ]
    if judged:
        lines += ["", "| " + " | ".join(_COLUMNS) + " |"]
        lines += ["| " + " | ".join("---" for _ in _COLUMNS) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in _row(j)) + " |" for j in judged]
    for j in judged:
        if j.undeclared:
            lines += ["", f"`{j.file}` differs from the profile {product}:"]
            lines += [f"- {u}" for u in j.undeclared]
    return "\n".join(lines) + "\n"


def page(judged: Sequence[Judged], product: str) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _row(j)) + "</tr>" for j in judged
    )
    title = html.escape(f"Messages sent by the product ({product})")
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f"<title>{title}</title><h1>{title}</h1>"
        f"<p><em>{html.escape(MEASUREMENT)}</em> — read by <code>{READER}</code> "
        "(software keys, osm-2008) and the validator.</p>"
        f"<p>{html.escape(_count(judged))}</p>"
        + (f'<table border="1" cellpadding="4"><tr>{head}</tr>{rows}</table>' if judged else "")
        + "</html>\n"
    )
