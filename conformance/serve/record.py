"""The receive side: what the tester records the product showed for each dropped message.

A small web form on loopback (http.server) lists the dropped messages by id and writes
exactly the two records `vectors import` reads, in OUT/vectors/ beside the export's
manifest: record.csv (file, opened, signature, decrypted, content_ok, notes) for the
interop messages and negative.csv (file, refused, notes) for the hostile ones. The
tester may as well fill those CSV files by hand: the form is a convenience, not a second
format. After each save the records are read back by the import's own readers, so a
line the import would refuse is named on the page at once, and each recorded line shows
the verdict the import will give it ("observed by the tester"). A hostile message that
comes with CRLs says, on its line, to load them into the product before reading it, with
their paths: without them a product that checks revocation refuses for a missing CRL.
"""

from __future__ import annotations

import csv
import html
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conformance.errors import UserError
from conformance.serve.drops import VECTORS_DIR, Drop
from conformance.serve.summary import SUMMARY_HTML
from conformance.vectors.export import RECORD_COLUMNS, RECORD_FILE
from conformance.vectors.manifest import MANIFEST_FILE, load_export_manifest
from conformance.vectors.manual import judge_record, record_lines
from conformance.vectors.negative_record import (
    NEGATIVE_COLUMNS,
    NEGATIVE_RECORD_FILE,
    negative_lines,
)

MEASUREMENT = "observed by the tester"
_CHOICES: dict[str, tuple[str, ...]] = {
    "opened": ("", "yes", "no"),
    "signature": ("", "valid", "invalid", "absent"),
    "decrypted": ("", "yes", "no"),
    "content_ok": ("", "yes", "no"),
    "refused": ("", "yes", "no"),
}


def _read_rows(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f) if row.get("file")}


class Record:
    """The two CSV records of one serve folder, read and written by file name."""

    def __init__(self, out: Path, drops: Sequence[Drop]) -> None:
        self.folder = out / VECTORS_DIR
        self.drops = list(drops)
        self._lock = threading.Lock()

    @property
    def interop_path(self) -> Path:
        return self.folder / RECORD_FILE

    @property
    def negative_path(self) -> Path:
        return self.folder / NEGATIVE_RECORD_FILE

    def rows(self) -> dict[str, dict[str, str]]:
        return {**_read_rows(self.interop_path), **_read_rows(self.negative_path)}

    def save(self, form: Mapping[str, str]) -> None:
        """Write both records from the form's fields (`<id>.<column>`): record.csv lists
        the interop messages with something recorded, negative.csv every hostile one. An
        unknown value is a UserError naming the message and the field."""
        interop: list[list[str]] = []
        negative: list[list[str]] = []
        for drop in self.drops:
            columns = RECORD_COLUMNS if drop.kind == "interop" else NEGATIVE_COLUMNS
            row = [drop.file]
            for column in columns[1:]:
                value = form.get(f"{drop.id}.{column}", "").strip()
                if column in _CHOICES and value not in _CHOICES[column]:
                    raise UserError(
                        f"{drop.id} ({drop.file}): {column} {value!r} is not one of "
                        + ", ".join(c for c in _CHOICES[column] if c)
                    )
                row.append(value.replace("\r", " ").replace("\n", " "))
            if drop.kind == "rejection":
                negative.append(row)  # a blank `refused` is "not recorded" there
            elif any(row[1:]):  # `vectors import` refuses a listed line left blank
                interop.append(row)
        with self._lock:
            for path, columns, rows in (
                (self.interop_path, RECORD_COLUMNS, interop),
                (self.negative_path, NEGATIVE_COLUMNS, negative),
            ):
                with path.open("w", encoding="utf-8", newline="") as f:
                    writer = csv.writer(f, lineterminator="\n")
                    writer.writerow(columns)
                    writer.writerows(rows)

    def check(self) -> tuple[list[str], dict[str, str]]:
        """What `vectors import` would say: problems, and per file the verdict of a
        recorded interop line."""
        problems: list[str] = []
        verdicts: dict[str, str] = {}
        manifest = load_export_manifest(self.folder)
        vectors = {v.file: v for v in manifest.vectors}
        blank = all(
            not any(v for k, v in row.items() if k != "file")
            for row in _read_rows(self.interop_path).values()
        )
        listed = (self.folder / MANIFEST_FILE, vectors)
        try:  # the good lines kept, every bad one (and any the manifest lacks) listed
            for recorded in [] if blank else record_lines(self.interop_path, problems, listed):
                verdict, reason, _ = judge_record(recorded, vectors[recorded.file])
                verdicts[recorded.file] = verdict + (f" ({reason})" if reason else "")
        except UserError as exc:  # nothing recorded yet: not a problem on this page
            problems += [p for p in str(exc).splitlines() if "records no vector" not in p]
        try:  # the good lines kept, every bad one (and any the manifest lacks) listed
            for line in negative_lines(self.negative_path, problems, manifest.negatives):
                verdicts[line.file] = "refused" if line.refused else "accepted"
        except UserError as exc:  # the columns line: nothing can be read
            problems += str(exc).splitlines()
        return problems, verdicts


def _select(name: str, column: str, current: str) -> str:
    options = "".join(
        f'<option value="{c}"{" selected" if c == current else ""}>{c or "—"}</option>'
        for c in _CHOICES[column]
    )
    return f'<select name="{name}" aria-label="{column}">{options}</select>'


def _message_cell(drop: Drop, folder: Path) -> str:
    """The drop's file and, when it comes with CRLs, what to do with them and where they
    are (absolute paths: the tester loads them into the product from there)."""
    e = html.escape
    cell = e(drop.file)
    if drop.crls:
        paths = ", ".join(f"<code>{e(str(folder.absolute() / crl))}</code>" for crl in drop.crls)
        cell += f"<br><strong>load these CRLs into the product before reading it:</strong> {paths}"
    return cell


def form_page(record: Record, message: str = "") -> str:
    rows = record.rows()
    problems, verdicts = record.check()
    e = html.escape
    parts = [
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>osm-conformance serve: '
        "the tester's record</title><h1>What the product showed</h1>",
        f"<p><em>{MEASUREMENT}</em>. One line per message dropped into the product's "
        "inbox (its id is at the front of the Subject). Saved to "
        f"<code>{e(str(record.interop_path))}</code> and "
        f"<code>{e(str(record.negative_path))}</code>, the records "
        "<code>vectors import</code> reads. The product's own messages, read by the suite: "
        f'<a href="/summary">{SUMMARY_HTML}</a>.</p>',
    ]
    if any(drop.crls for drop in record.drops):
        parts.append(
            "<p>Some hostile messages come with the CRLs of a certificate authority their "
            "case made up (named on their line): load them into the product, where it keeps "
            "CRLs, before reading the message, as it would fetch that issuer's CRL. Without "
            "them a product that checks revocation refuses for a missing CRL, which does not "
            "test what the case breaks.</p>"
        )
    if message:
        parts.append(f"<p><strong>{e(message)}</strong></p>")
    for problem in problems:
        parts.append(f'<p style="color:#a00">vectors import would refuse: {e(problem)}</p>')
    parts.append('<form method="post" action="/"><table border="1" cellpadding="3">')
    parts.append(
        "<tr><th>id</th><th>message</th><th>expected</th><th>opened</th><th>signature</th>"
        "<th>decrypted</th><th>content ok</th><th>refused</th><th>notes</th>"
        "<th>verdict</th></tr>"
    )
    for drop in record.drops:
        row = rows.get(drop.file, {})
        cells = [e(drop.id), _message_cell(drop, record.folder), e(drop.expected)]
        for column in ("opened", "signature", "decrypted", "content_ok", "refused"):
            own = column != "refused" if drop.kind == "interop" else column == "refused"
            current = row.get(column) or ""
            cells.append(_select(f"{drop.id}.{column}", column, current) if own else "")
        notes = e(row.get("notes") or "")
        cells.append(f'<input name="{drop.id}.notes" value="{notes}" size="24">')
        cells.append(e(verdicts.get(drop.file, "")))
        parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    parts.append('</table><p><button type="submit">Save</button></p></form></html>\n')
    return "".join(parts)


def _handler(record: Record, out: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return  # the terminal shows the server's settings, not every request

        def _send(self, status: int, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/":
                self._send(200, form_page(record))
            elif self.path == "/summary":
                summary = out / SUMMARY_HTML
                text = summary.read_text(encoding="utf-8") if summary.is_file() else ""
                self._send(200, text or "<p>No message received from the product yet.</p>")
            else:
                self._send(404, "<p>Not found.</p>")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1_000_000)).decode("utf-8", "replace")
            form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
            try:
                record.save(form)
                self._send(200, form_page(record, "Saved."))
            except UserError as exc:
                self._send(400, form_page(record, f"Not saved: {exc}"))

    return Handler


@contextmanager
def record_form(record: Record, out: Path, host: str, port: int) -> Iterator[tuple[str, int]]:
    """The form served on host:port in a thread until the block ends; yields where."""
    server = ThreadingHTTPServer((host, port), _handler(record, out))
    thread = threading.Thread(target=server.serve_forever, name="serve-record", daemon=True)
    thread.start()
    try:
        yield str(server.server_address[0]), int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
