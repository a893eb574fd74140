"""The simulated gateways: each rewrite changes what it claims and nothing else (property
tests over generated MIME messages), is deterministic, and idempotent where the table says."""

from __future__ import annotations

import base64
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.core import mime
from conformance.mail.gateways import (
    BASE64_WIDTH,
    DISCLAIMER_LINES,
    GATEWAYS,
    REFOLD_WIDTH,
    SMIME_TYPES,
    SUBJECT_TAG,
    eight_bit_to_qp,
    footer,
    footer_mixed,
    lf_store,
    refold,
    rewrap_base64,
    strip_smime_attachment,
    subject_tag,
)

CRLF = b"\r\n"
words = st.text(
    alphabet=st.sampled_from("abcdéèàôç XYZ0123456789-_.,;:'()"), min_size=0, max_size=40
).map(lambda s: " ".join(s.split()))
long_words = st.lists(
    st.text(alphabet="abcdefghijklmnop", min_size=1, max_size=30), min_size=1, max_size=12
).map(" ".join)


def _wrap(data: bytes, width: int) -> bytes:
    encoded = base64.b64encode(data)
    return CRLF.join(encoded[i : i + width] for i in range(0, len(encoded), width))


@st.composite
def text_part(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(words, min_size=1, max_size=5))
    text = CRLF.join(line.encode() for line in lines)
    encoding = draw(st.sampled_from(["8bit", "7bit-ascii", "base64", "none"]))
    header = b"Content-Type: text/plain; charset=utf-8" + CRLF
    if encoding == "base64":
        return header + b"Content-Transfer-Encoding: base64\r\n\r\n" + _wrap(text, 76)
    if encoding == "8bit":
        return header + b"Content-Transfer-Encoding: 8bit\r\n\r\n" + text
    ascii_text = text.decode().encode("ascii", "replace")
    if encoding == "none":
        return b"Content-Type: text/plain\r\n\r\n" + ascii_text
    return header + b"Content-Transfer-Encoding: 7bit\r\n\r\n" + ascii_text


@st.composite
def attachment(draw: st.DrawFn) -> bytes:
    data = draw(st.binary(min_size=60, max_size=300))  # several lines of base64
    kind = draw(st.sampled_from(["pdf", "p7s", "p7m-named"]))
    width = draw(st.sampled_from([64, 76]))
    if kind == "p7s":
        head = (
            b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
            b'Content-Disposition: attachment; filename="smime.p7s"\r\n'
        )
    elif kind == "p7m-named":
        head = (
            b"Content-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="x.P7M"\r\n'
        )
    else:
        head = (
            b"Content-Type: application/pdf\r\n"
            b'Content-Disposition: attachment; filename="cr.pdf"\r\n'
        )
    return head + b"Content-Transfer-Encoding: base64\r\n\r\n" + _wrap(data, width) + CRLF


@st.composite
def multipart(draw: st.DrawFn, depth: int = 0) -> bytes:
    boundary = f"b{depth}-{draw(st.integers(0, 999))}".encode()
    subtype = draw(st.sampled_from([b"mixed", b"signed", b"alternative"]))
    kids = draw(st.lists(st.one_of(text_part(), attachment()), min_size=1, max_size=3))
    if depth < 1 and draw(st.booleans()):
        kids.append(draw(multipart(depth + 1)))
    params = (
        b'; protocol="application/pkcs7-signature"; micalg=sha-256' if subtype == b"signed" else b""
    )
    head = b"Content-Type: multipart/" + subtype + b'; boundary="' + boundary + b'"' + params + CRLF
    body = b"".join(b"--" + boundary + CRLF + kid + CRLF for kid in kids)
    return head + CRLF + body + b"--" + boundary + b"--" + CRLF


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    subject = draw(st.one_of(words, long_words))
    top = (
        b"From: Pro Un <pro01@osm-test.example>\r\nTo: pro02@osm-test.example\r\n"
        + b"Subject: "
        + subject.encode("ascii", "replace")  # 8-bit headers: not what these gateways touch
        + CRLF
        + b"Message-ID: <x@osm-test.example>\r\nMIME-Version: 1.0\r\n"
    )
    content = draw(st.one_of(text_part(), multipart()))
    if not content.endswith(CRLF):
        content += CRLF
    return top + content


def leaves(message: bytes) -> list[mime.Entity]:
    return [e for e in mime.read(message).walk() if not e.is_multipart]


def decoded(entity: mime.Entity) -> bytes | None:
    return entity.decoded()


def unfolded(entity: mime.Entity) -> list[tuple[str, str]]:
    header = entity.raw[: entity.body_offset]
    fields = re.split(rb"\r\n(?![ \t])", header.strip(b"\r\n"))
    return [
        (name.strip().decode("latin-1").lower(), " ".join(value.decode("latin-1").split()))
        for name, value in (f.split(b":", 1) for f in fields if b":" in f)
    ]


EXAMPLES = settings(max_examples=60)


@EXAMPLES
@given(messages())
def test_8bit_to_qp(message: bytes) -> None:
    out = eight_bit_to_qp(message)
    assert eight_bit_to_qp(out) == out
    before, after = leaves(message), leaves(out)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if old.content_type.startswith("text/") and old.transfer_encoding == "8bit":
            assert new.transfer_encoding == "quoted-printable"
            assert not re.search(rb"[\x80-\xff]", new.body)
            assert max(len(line) for line in new.body.split(CRLF)) <= 76
            assert decoded(new) == decoded(old)
            assert unfolded(new)[:-1] == unfolded(old)[:-1]  # only the CTE field changed
        else:
            assert new.raw == old.raw
    assert not re.search(rb"[\x80-\xff]", out)  # the generated messages have 8 bits in text only


@EXAMPLES
@given(messages())
def test_footer(message: bytes) -> None:
    out = footer(message)
    before, after = leaves(message), leaves(out)
    assert len(before) == len(after)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a.raw != b.raw]
    texts = [i for i, e in enumerate(before) if e.content_type.startswith("text/")]
    assert changed == texts[:1]
    if changed:
        old, new = before[changed[0]], after[changed[0]]
        old_text, new_text = decoded(old) or b"", decoded(new) or b""
        assert new_text.startswith(old_text)
        assert new_text.rstrip(CRLF).endswith(DISCLAIMER_LINES[-1].encode())
        assert old.raw[: old.body_offset] == new.raw[: new.body_offset]


@EXAMPLES
@given(messages())
def test_footer_mixed(message: bytes) -> None:
    out = footer_mixed(message)
    root, top = mime.read(out), mime.read(message)
    assert root.content_type == "multipart/mixed" and len(root.children) == 2
    wrapped, note = root.children
    assert note.decoded() == CRLF.join(line.encode() for line in DISCLAIMER_LINES) + CRLF
    inner = [f for f in unfolded(top) if f[0].startswith("content-")]
    assert unfolded(wrapped) == inner
    assert wrapped.body == top.body.removesuffix(CRLF) or wrapped.body == top.body
    outer = [f for f in unfolded(root) if not f[0].startswith("content-")]
    assert outer == [f for f in unfolded(top) if not f[0].startswith("content-")]


@EXAMPLES
@given(messages())
def test_refold(message: bytes) -> None:
    out = refold(message)
    assert refold(out) == out
    for old, new in zip(mime.read(message).walk(), mime.read(out).walk(), strict=True):
        assert unfolded(old) == unfolded(new)
        if not old.is_multipart:
            assert old.body == new.body
        for line in new.raw[: new.body_offset].split(CRLF):
            assert len(line) <= REFOLD_WIDTH or b" " not in line.strip()


@EXAMPLES
@given(messages())
def test_rewrap_base64(message: bytes) -> None:
    out = rewrap_base64(message)
    assert rewrap_base64(out) == out
    for old, new in zip(leaves(message), leaves(out), strict=True):
        assert old.raw[: old.body_offset] == new.raw[: new.body_offset]
        if old.transfer_encoding == "base64":
            assert decoded(old) == decoded(new)
            assert {len(line) for line in new.body.split(CRLF)[:-2]} <= {BASE64_WIDTH}
        else:
            assert old.raw == new.raw
    if any(
        e.transfer_encoding == "base64" and len(decoded(e) or b"") > 54 for e in leaves(message)
    ):
        assert out != message  # 76 and 64 both become 72


@EXAMPLES
@given(messages())
def test_subject_tag(message: bytes) -> None:
    out = subject_tag(message)
    assert subject_tag(out) == out
    old, new = unfolded(mime.read(message)), unfolded(mime.read(out))
    assert [f for f in old if f[0] != "subject"] == [f for f in new if f[0] != "subject"]
    subject = dict(new)["subject"]
    assert subject.startswith(SUBJECT_TAG.strip())
    assert subject.removeprefix(SUBJECT_TAG.strip()).strip() == dict(old)["subject"]
    assert out.split(CRLF + CRLF, 1)[1] == message.split(CRLF + CRLF, 1)[1]


@EXAMPLES
@given(messages())
def test_strip_smime_attachment(message: bytes) -> None:
    out = strip_smime_attachment(message)
    assert strip_smime_attachment(out) == out

    def smime(e: mime.Entity) -> bool:
        name = (e.param("filename", "content-disposition") or "").lower()
        return e.content_type in SMIME_TYPES or name.endswith((".p7s", ".p7m"))

    kept_before = [e.raw for e in leaves(message) if not smime(e)]
    kept_after = [e.raw for e in leaves(out) if not smime(e)]
    assert kept_after == kept_before
    for entity in mime.read(out).walk():
        if entity.is_multipart and not all(smime(c) for c in entity.children):
            assert not any(smime(c) for c in entity.children)
        assert not entity.structure  # still well-formed MIME


@EXAMPLES
@given(messages())
def test_lf_store(message: bytes) -> None:
    out = lf_store(message)
    assert lf_store(out) == out
    assert CRLF not in out and out.replace(b"\n", CRLF) == message


def test_the_table() -> None:
    assert set(GATEWAYS) == {
        "8bit-to-qp",
        "footer",
        "footer-mixed",
        "refold",
        "rewrap-base64",
        "subject-tag",
        "strip-smime-attachment",
        "lf-store",
    }
    for key, gateway in GATEWAYS.items():
        assert gateway.id == key and gateway.reference
        assert (
            gateway.title.fr and gateway.title.en and gateway.stands_for.fr != gateway.stands_for.en
        )
    assert [g.id for g in GATEWAYS.values() if g.stage == "store"] == ["lf-store"]
    assert {g.id for g in GATEWAYS.values() if not g.idempotent} == {"footer", "footer-mixed"}


@EXAMPLES
@given(messages())
def test_deterministic_and_idempotent_as_the_table_says(message: bytes) -> None:
    for gateway in GATEWAYS.values():
        once = gateway.rewrite(message)
        assert gateway.rewrite(message) == once
        if gateway.idempotent:
            assert gateway.rewrite(once) == once


def test_rewrites_never_raise_on_broken_mime() -> None:
    broken = [
        b"",
        b"no header at all",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n",
        b'Content-Type: multipart/signed; boundary="x"\r\n\r\n--x\r\nunterminated',
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",
        b"Subject: a\nContent-Transfer-Encoding: 8bit\n\n\xe9t\xe9\n",
    ]
    for message in broken:
        for gateway in GATEWAYS.values():
            assert isinstance(gateway.rewrite(message), bytes)
