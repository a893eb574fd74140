"""Did the content arrive intact? Compare what a receiver recovered with the scenario.

`compare` returns short readable reasons, one per difference (empty: intact).
It never raises on malformed input: damage is a finding, not a crash.

Equivalence used for the letter (see docs/scenarios.md): the received text,
decoded with the charset and transfer encoding the received entity declares,
must equal the letter exactly, or equal it with every CRLF turned into LF (a
receiver may hand over text in the local line-ending convention; S/MIME only
fixes the canonical CRLF form on the wire, RFC 8551 s.3.1.1). Nothing else is
forgiven: trailing whitespace lost, a bare CR or LF turned into a line break, a
long line wrapped, a "From " line escaped, a final line break added or lost,
accents re-encoded, are all differences. Re-labelling the charset or changing
the transfer encoding is not a difference as long as the decoded text is equal.
Files (attachments, the HPRIM file) must arrive byte for byte under their name;
the HPRIM file must also parse to the same report.
"""

from __future__ import annotations

import binascii
import codecs
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import collapse_rfc2231_value

from conformance.core.mime import Entity, read
from conformance.scenarios import hprim
from conformance.scenarios.content import HPRIM_MEDIA_TYPE
from conformance.scenarios.model import Scenario

SECURED_TYPES = (
    "multipart/signed",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
    "application/pkcs7-signature",
)


@dataclass
class _Part:
    media_type: str
    filename: str | None
    entity: Entity


@dataclass(frozen=True)
class _Expected:
    filename: str
    media_type: str
    data: bytes
    hprim_variant: hprim.Variant | None = None


def compare(scenario: Scenario, received_entity: bytes, sent: bytes | None = None) -> list[str]:
    """Reasons the received MIME entity differs from the scenario; [] when intact.

    `sent`: the entity built from the scenario and given to the sender. Received byte
    for byte, it is intact without being parsed again: an entity built from a scenario
    is intact (a test draws scenarios of every function and compares each with its own
    entity), and parsing it was most of a reference exchange's comparison.
    """
    if sent and received_entity == sent:
        return []
    expected_files = [_Expected(a.filename, a.media_type, a.data) for a in scenario.attachments]
    if scenario.hprim is not None:
        h = scenario.hprim
        expected_files.append(_Expected(h.filename, HPRIM_MEDIA_TYPE, h.data, h.variant))
    return _differences(scenario.body, expected_files, received_entity)


def entity_differences(expected: bytes, received: bytes) -> list[str]:
    """Reasons `received` does not carry the content of the MIME entity `expected` (the
    plaintext a vendor gives with a message), by `compare`'s equivalence; [] when it
    does. The expected letter and files are read from `expected` as a received entity
    is; a letter that does not decode there is reported as the plaintext's own fault."""
    if received == expected:
        return []
    letter, files = _split(read(expected))
    text: str | None = None
    if letter is not None:
        try:
            raw = _decode_transfer(letter.entity)
            text = raw.decode(letter.entity.headers.get_content_charset() or "utf-8")
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
            return [f"the expected plaintext's letter does not decode: {exc}"]
    wanted: list[_Expected] = []
    for part in files:
        try:
            data = _decode_transfer(part.entity)
        except ValueError as exc:
            return [f"the expected plaintext's part {part.entity.path}: {exc}"]
        wanted.append(_Expected(part.filename or "", part.media_type, data))
    return _differences(text, wanted, received)


def _differences(
    letter_text: str | None, expected_files: list[_Expected], received_entity: bytes
) -> list[str]:
    """The letter (None: none expected) and files compared with what was received."""
    if not received_entity:
        return ["nothing received: the content is empty"]
    message = read(received_entity)  # the one MIME reader: it never raises, work is bounded
    top = message.content_type
    if top in SECURED_TYPES:
        return [f"received entity is still {top}: the receiver did not unwrap it"]
    letter, files = _split(message)
    reasons: list[str] = []
    if expected_files and not message.is_multipart:
        reasons.append(
            f"received a single {top} entity, expected multipart/mixed "
            f"with {len(expected_files)} file(s)"
        )
    if letter_text is not None:
        if letter is None:
            reasons.append("letter: no text/plain part received")
        else:
            reasons += _compare_letter(letter_text, letter.entity)
    reasons += _compare_files(expected_files, files)
    return reasons


# --------------------------------------------------------------------------- structure


def _split(message: Entity) -> tuple[_Part | None, list[_Part]]:
    """The letter (first inline text/plain leaf) and the other leaves (files)."""
    letter: _Part | None = None
    files: list[_Part] = []
    for leaf in message.walk():
        if leaf.is_multipart:
            continue
        part = _Part(leaf.content_type, part_filename(leaf.headers), leaf)
        disposition = (leaf.headers.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if (
            letter is None
            and part.media_type == "text/plain"
            and part.filename is None
            and disposition != "attachment"
        ):
            letter = part
        else:
            files.append(part)
    return letter, files


def part_filename(part: Message) -> str | None:
    """The part's file name: RFC 2231 `filename*` first, then `filename`, then `name`.

    `Message.get_filename` is not used: it returns whichever `filename` comes
    first, so the ASCII fallback hides the real name when it precedes it.
    """
    for header in ("content-disposition", "content-type"):
        key = "filename" if header == "content-disposition" else "name"
        params = part.get_params(header=header) or []
        values = [v for k, v in params if k.lower() == key]
        for value in sorted(values, key=lambda v: not isinstance(v, tuple)):
            if isinstance(value, tuple):
                return collapse_rfc2231_value(value)
            text = str(value).strip('"')
            if "=?" in text:  # RFC 2047 words inside a quoted string: common, not standard
                try:
                    return str(make_header(decode_header(text)))
                except (ValueError, LookupError, UnicodeDecodeError):
                    return text
            return text
    return None


def _decode_transfer(part: Entity) -> bytes:
    """Undo the Content-Transfer-Encoding, leniently (a transfer encoding changed or
    loosely written is no difference when the content decodes intact: the reader's own
    decoding records such defects, for the validator); ValueError naming the problem."""
    raw, cte = part.body, part.transfer_encoding
    if cte in ("7bit", "8bit", "binary"):
        return raw
    if cte == "base64":
        try:
            return binascii.a2b_base64(raw)
        except binascii.Error as exc:
            raise ValueError(f"base64 does not decode ({exc})") from exc
    if cte == "quoted-printable":
        return binascii.a2b_qp(raw)
    raise ValueError(f"unknown Content-Transfer-Encoding {cte!r}")


# --------------------------------------------------------------------------- letter


def _compare_letter(expected: str, part: Entity) -> list[str]:
    try:
        raw = _decode_transfer(part)
    except ValueError as exc:
        return [f"letter: {exc}"]
    charset = part.headers.get_content_charset() or "us-ascii"
    try:
        codecs.lookup(charset)
    except LookupError:
        return [f"letter: unknown charset {charset!r}"]
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError as exc:
        return [
            f"letter: not valid {charset}: byte {raw[exc.start]:#04x} at offset {exc.start}"
            + _recoding_hint(expected, raw)
        ]
    if text in (expected, expected.replace("\r\n", "\n")):
        return []
    return ["letter: " + _explain_text(expected, text, charset, raw)]


def _recoding_hint(expected: str, raw: bytes) -> str:
    for wrote in ("utf-8", "iso-8859-1"):
        try:
            if raw.decode(wrote) in (expected, expected.replace("\r\n", "\n")):
                return f" (the text is intact in {wrote}: the charset label is wrong)"
        except UnicodeDecodeError:
            pass
    return ""


def _explain_text(expected: str, text: str, charset: str, raw: bytes) -> str:
    hint = _recoding_hint(expected, raw)
    if hint:
        return f"accents re-encoded: text labelled {charset}{hint}"
    exp = expected.replace("\r\n", "\n")
    got = text.replace("\r\n", "\n")
    try:
        if got.encode("iso-8859-1").decode("utf-8") == exp:
            return "accents encoded twice: UTF-8 bytes were read as ISO-8859-1 and re-encoded"
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    exp_lines, got_lines = exp.split("\n"), got.split("\n")
    if [x.rstrip(" \t") for x in exp_lines] == [x.rstrip(" \t") for x in got_lines]:
        lost = [i + 1 for i, (x, y) in enumerate(zip(exp_lines, got_lines, strict=True)) if x != y]
        return f"trailing whitespace lost on line(s) {_numbers(lost)}"
    if exp.replace("\r", "\n") == got.replace("\r", "\n"):
        return "bare CR or LF inside a line turned into a line break (or back)"
    if exp.rstrip("\n") == got.rstrip("\n"):
        return "final line break added or lost"
    if "".join(exp_lines) == "".join(got_lines) and len(got_lines) > len(exp_lines):
        return f"long line(s) wrapped: {len(exp_lines)} lines became {len(got_lines)}"
    if [x.removeprefix(">") for x in got_lines] == exp_lines:
        escaped = [i + 1 for i, y in enumerate(got_lines) if y.startswith(">From ")]
        return f'"From " line(s) {_numbers(escaped)} escaped as ">From "'
    return _first_difference(exp_lines, got_lines)


def _first_difference(exp_lines: list[str], got_lines: list[str]) -> str:
    for i in range(max(len(exp_lines), len(got_lines))):
        x = exp_lines[i] if i < len(exp_lines) else None
        y = got_lines[i] if i < len(got_lines) else None
        if x == y:
            continue
        if x is None or y is None:
            return f"{len(got_lines)} lines, expected {len(exp_lines)}; line {i + 1} is " + (
                f"extra: {_clip(y or '')}" if x is None else f"missing: {_clip(x)}"
            )
        col = next(
            (j for j, (a, b) in enumerate(zip(x, y, strict=False)) if a != b), min(len(x), len(y))
        )
        return (
            f"line {i + 1} differs from column {col + 1}: expected {_clip(x[col:])}, "
            f"got {_clip(y[col:])}"
        )
    return "text differs"  # pragma: no cover - lines equal means texts equal


def _clip(s: str, n: int = 40) -> str:
    return repr(s[:n]) + ("..." if len(s) > n else "")


def _numbers(ns: list[int]) -> str:
    return ", ".join(map(str, ns[:8])) + (", ..." if len(ns) > 8 else "")


# --------------------------------------------------------------------------- files


def _compare_files(expected: list[_Expected], received: list[_Part]) -> list[str]:
    reasons: list[str] = []
    remaining = list(received)
    pairs: list[tuple[_Expected, _Part | None]] = []
    for exp in expected:
        match = next((p for p in remaining if p.filename == exp.filename), None)
        if match is not None:
            remaining.remove(match)
        pairs.append((exp, match))
    unmatched = [p for p in remaining if p.filename is not None or p.media_type != "text/plain"]
    for i, (exp, part) in enumerate(pairs):
        if part is None and unmatched:  # renamed? take the next unclaimed file in order
            part = unmatched.pop(0)
            remaining.remove(part)
            reasons.append(f"attachment {exp.filename!r} arrived named {part.filename!r}")
            pairs[i] = (exp, part)
        if part is None:
            reasons.append(f"attachment {exp.filename!r} missing")
            continue
        reasons += _compare_file(exp, part)
    for part in remaining:
        reasons.append(
            f"unexpected extra part {part.media_type}"
            + (f" {part.filename!r}" if part.filename else "")
        )
    return reasons


def _compare_file(exp: _Expected, part: _Part) -> list[str]:
    what = f"HPRIM file {exp.filename!r}" if exp.hprim_variant else f"attachment {exp.filename!r}"
    reasons: list[str] = []
    if part.media_type != exp.media_type.lower():
        reasons.append(f"{what}: media type {exp.media_type} became {part.media_type}")
    try:
        data = _decode_transfer(part.entity)
    except ValueError as exc:
        return [*reasons, f"{what}: {exc}"]
    damage = describe_bytes_difference(exp.data, data)
    if damage:
        reasons.append(f"{what}: {damage}")
    if exp.hprim_variant is not None:
        reasons += _compare_hprim(what, exp.data, data, exp.hprim_variant)
    return reasons


def _compare_hprim(what: str, sent: bytes, got: bytes, variant: hprim.Variant) -> list[str]:
    expected = hprim.parse(sent, variant)  # our own file: a failure here is a harness bug
    try:
        received = hprim.parse(got, variant)
    except hprim.HprimError as exc:
        return [f"{what} no longer parses: {exc}"]
    differences = hprim.describe_difference(expected, received)
    return [f"{what} parses differently: " + "; ".join(differences)] if differences else []


def describe_bytes_difference(expected: bytes, received: bytes) -> str | None:
    """A short account of how `received` differs from `expected`, or None if equal."""
    if expected == received:
        return None
    transforms = (
        ("line endings CRLF became LF", lambda b: b.replace(b"\r\n", b"\n")),
        ("line endings became CRLF", lambda b: b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")),
        ("CR line endings became CRLF", lambda b: b.replace(b"\r", b"\r\n")),
        ("CR line endings became LF", lambda b: b.replace(b"\r", b"\n")),
        (
            "ISO-8859-1 accents re-encoded as UTF-8",
            lambda b: b.decode("iso-8859-1").encode("utf-8"),
        ),
        ("trailing whitespace stripped from lines", _strip_trailing),
    )
    for label, transform in transforms:
        if transform(expected) == received:
            return label
    if len(expected) == len(received):
        diffs = [i for i, (a, b) in enumerate(zip(expected, received, strict=True)) if a != b]
        return f"{len(diffs)} byte(s) differ from offset {diffs[0]}"
    first = next(
        (i for i, (a, b) in enumerate(zip(expected, received, strict=False)) if a != b),
        min(len(expected), len(received)),
    )
    if received == expected[: len(received)]:
        return f"truncated to {len(received)} of {len(expected)} bytes"
    if received[: len(expected)] == expected:
        return f"{len(received) - len(expected)} extra byte(s) at the end"
    return f"{len(received)} bytes instead of {len(expected)}, first difference at offset {first}"


def _strip_trailing(data: bytes) -> bytes:
    return b"\r\n".join(line.rstrip(b" \t") for line in data.split(b"\r\n"))
