"""Structure-aware mutations of a message: its CMS objects element by element, its MIME.

Each mutator takes a `random.Random` and bytes and returns new bytes; the
names say what an attacker (or a broken client) did, so a saved failure
reads as a story. `mutate` applies one to three of them. DER mutations work
on the tree of `der_tree` (flip, replace, truncate, duplicate, delete or
swap elements, change a tag or a length, re-encode in BER), reached through
the message's base64 PKCS#7 parts and spliced back; MIME mutations change
header fields (From: tricks included), boundaries, transfer encodings,
nesting and line ends. A few raw byte mutations keep the rest honest.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Callable

from conformance.core import mime
from conformance.fuzz.der_tree import Node, encode, parse, walk

__all__ = [
    "DER_MUTATORS",
    "MIME_MUTATORS",
    "carried_certificates",
    "edit_cms",
    "from_tricks",
    "mutate",
    "mutate_der",
    "pkcs7_bodies",
    "subject_of",
    "with_from",
]

DerMutator = Callable[[random.Random, Node], None]
Mutator = Callable[[random.Random, bytes], bytes]

_PKCS7 = re.compile(rb"pkcs7-(mime|signature)|smime\.p7[msc]", re.IGNORECASE)
_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x7FFFFFFF)


# --- DER ------------------------------------------------------------------------------


def _nodes(root: Node) -> list[tuple[Node, Node | None]]:
    return list(walk(root))


def _pick(rng: random.Random, root: Node, with_parent: bool = False) -> tuple[Node, Node | None]:
    nodes = _nodes(root)
    if with_parent:
        nodes = [n for n in nodes if n[1] is not None] or nodes
    return rng.choice(nodes)


def _leaf(rng: random.Random, root: Node) -> Node:
    leaves = [n for n, _ in walk(root) if n.children is None and n.value]
    return rng.choice(leaves) if leaves else root


def der_flip(rng: random.Random, root: Node) -> None:
    """One bit of one primitive value flipped (a name, a key, a signature, an OID)."""
    node = _leaf(rng, root)
    if not node.value:
        return
    value = bytearray(node.value)
    value[rng.randrange(len(value))] ^= 1 << rng.randrange(8)
    node.value = bytes(value)


def der_replace(rng: random.Random, root: Node) -> None:
    """A primitive value replaced: random bytes, an interesting integer, empty, or grown."""
    node = _leaf(rng, root)
    choice = rng.randrange(4)
    if choice == 0:
        node.value = rng.randbytes(len(node.value))
    elif choice == 1:
        number = rng.choice(_INTERESTING) * rng.choice((1, -1))
        node.value = number.to_bytes(8, "big", signed=True).lstrip(b"\x00") or b"\x00"
    elif choice == 2:
        node.value = b""
    else:
        node.value = node.value + rng.randbytes(rng.randrange(1, 64))


def der_truncate(rng: random.Random, root: Node) -> None:
    """An element cut short: its content, or its list of children."""
    node, _ = _pick(rng, root)
    if node.children:
        del node.children[rng.randrange(len(node.children)) :]
    elif node.value:
        node.value = node.value[: rng.randrange(len(node.value))]


def der_duplicate(rng: random.Random, root: Node) -> None:
    """An element written twice (two signers, two certificates, two attributes)."""
    node, parent = _pick(rng, root, with_parent=True)
    if parent is None or parent.children is None:
        return
    copy = parse(encode(node))
    if copy is not None:
        parent.children.insert(parent.children.index(node), copy)


def der_delete(rng: random.Random, root: Node) -> None:
    """An element left out."""
    node, parent = _pick(rng, root, with_parent=True)
    if parent is not None and parent.children is not None:
        parent.children.remove(node)


def der_swap(rng: random.Random, root: Node) -> None:
    """Two siblings swapped."""
    parents = [n for n, _ in walk(root) if n.children and len(n.children) > 1]
    if parents:
        children = rng.choice(parents).children
        assert children is not None
        i, j = rng.sample(range(len(children)), 2)
        children[i], children[j] = children[j], children[i]


def der_tag(rng: random.Random, root: Node) -> None:
    """A tag changed: another universal type, context tag, or the constructed bit."""
    node, _ = _pick(rng, root)
    choice = rng.randrange(3)
    if choice == 0:
        node.tag = bytes([node.tag[0] ^ 0x20]) + node.tag[1:]
    elif choice == 1:
        node.tag = bytes([rng.randrange(256)])
    else:
        node.tag = bytes([0xA0 | rng.randrange(4)])


def der_length(rng: random.Random, root: Node) -> None:
    """A length field that lies: off by a little, zero, huge, or too many octets."""
    node, _ = _pick(rng, root)
    size = len(encode(node)) - len(node.tag) - 1
    choice = rng.randrange(4)
    if choice == 0:
        node.raw_length = bytes([max(0, min(0x7F, size + rng.choice((-2, -1, 1, 2))))])
    elif choice == 1:
        node.raw_length = b"\x00"
    elif choice == 2:
        node.raw_length = b"\x84" + rng.choice((b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff"))
    else:
        node.raw_length = b"\x89" + bytes(9)


def der_ber(rng: random.Random, root: Node) -> None:
    """Valid BER that is not DER: indefinite lengths, long-form lengths, a chunked string."""
    node, _ = _pick(rng, root)
    choice = rng.randrange(3)
    if choice == 0 and node.children is not None and node.constructed:
        node.indefinite = True
    elif choice == 1:
        node.long_form = rng.randrange(1, 3)
    elif node.children is None and node.tag == b"\x04" and len(node.value) > 1:
        cut = rng.randrange(1, len(node.value))
        node.tag = b"\x24"
        node.children = [Node(b"\x04", node.value[:cut]), Node(b"\x04", node.value[cut:])]
        node.value = b""
        node.indefinite = rng.random() < 0.5


DER_MUTATORS: tuple[DerMutator, ...] = (
    der_flip,
    der_flip,
    der_replace,
    der_truncate,
    der_duplicate,
    der_delete,
    der_swap,
    der_tag,
    der_length,
    der_ber,
    der_ber,
)


def mutate_der(rng: random.Random, der: bytes) -> bytes:
    """One DER mutation of a CMS object (bytes flipped at random when it does not parse)."""
    root = parse(der)
    if root is None:
        return byte_flip(rng, der)
    rng.choice(DER_MUTATORS)(rng, root)
    return encode(root)


# --- the PKCS#7 parts of a message ---------------------------------------------------


def pkcs7_bodies(message: bytes) -> list[tuple[int, int, str]]:
    """(start, end, transfer encoding) of each part that carries a CMS object."""
    try:
        top = mime.read(message)
    except Exception:  # a mutated message the reader refuses: no part to reach
        return []
    found: list[tuple[int, int, str]] = []
    stack = [top]
    while stack:
        entity = stack.pop()
        stack.extend(entity.children)
        if entity.is_multipart or not _PKCS7.search(entity.header):
            continue
        start = entity.offset + entity.body_offset
        found.append((start, entity.offset + len(entity.raw), entity.transfer_encoding))
    return found


def _b64(der: bytes, width: int) -> bytes:
    text = base64.b64encode(der)
    return b"\r\n".join(text[i : i + width] for i in range(0, len(text), width)) + b"\r\n"


def cms_element(rng: random.Random, message: bytes) -> bytes:
    """A DER mutation inside one of the message's PKCS#7 parts, spliced back."""
    bodies = pkcs7_bodies(message)
    if not bodies:
        return byte_flip(rng, message)
    start, end, encoding = rng.choice(bodies)
    body = message[start:end]
    if encoding == "base64":
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except ValueError:
            return byte_flip(rng, message)
        mutated = _b64(mutate_der(rng, der), rng.choice((64, 76, 76, 76, 1000)))
    else:
        mutated = mutate_der(rng, body)
    return message[:start] + mutated + message[end:]


def edit_cms(message: bytes, edit: Callable[[Node], None], index: int = 0) -> bytes:
    """The message with `edit` done on the tree of its `index`-th base64 PKCS#7 part."""
    start, end, _ = pkcs7_bodies(message)[index]
    root = parse(base64.b64decode(b"".join(message[start:end].split())))
    if root is None:
        raise ValueError("the PKCS#7 part does not parse")
    edit(root)
    return message[:start] + _b64(encode(root), 76) + message[end:]


def carried_certificates(content_info: Node) -> list[Node]:
    """The certificates a SignedData carries (its [0] IMPLICIT SET), in order."""
    signed = (content_info.children or [])[1].children or []
    fields = signed[0].children or [] if signed else []
    return next((list(f.children or []) for f in fields if f.tag == b"\xa0"), [])


def subject_of(certificate: Node) -> Node:
    """A certificate's subject Name (after the optional version, serial, algorithm, issuer,
    validity)."""
    tbs = (certificate.children or [])[0].children or []
    return tbs[5 if tbs[0].tag == b"\xa0" else 4]


# --- MIME ------------------------------------------------------------------------------


def _split(message: bytes) -> tuple[list[bytes], bytes, bytes]:
    """(header lines, the separator, the body) of a message's top entity."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = message.partition(sep)
        if found:
            eol = sep[: len(sep) // 2]
            return head.split(eol), sep, body
    return message.split(b"\n"), b"", b""


def _join(lines: list[bytes], sep: bytes, body: bytes) -> bytes:
    eol = sep[: len(sep) // 2] or b"\r\n"
    return eol.join(lines) + (sep or eol + eol) + body


def _fields(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines) if line[:1] not in (b" ", b"\t")]


def header_field(rng: random.Random, message: bytes) -> bytes:
    """A top-level header field deleted, duplicated, folded, emptied or given 8-bit bytes."""
    lines, sep, body = _split(message)
    starts = _fields(lines)
    if not starts:
        return message
    i = rng.choice(starts)
    choice = rng.randrange(5)
    if choice == 0:
        del lines[i]
    elif choice == 1:
        lines.insert(rng.choice(starts), lines[i])
    elif choice == 2:
        name, _, value = lines[i].partition(b":")
        lines[i] = name + b":\r\n " + value.strip() if b"\r" in sep else name + b":\n " + value
    elif choice == 3:
        lines[i] = lines[i].partition(b":")[0] + b":"
    else:
        lines[i] = lines[i] + b" \xff\xfe\xc3("
    return _join(lines, sep, body)


def from_tricks(signer: bytes) -> dict[str, bytes]:
    """From: values an attacker writes around the signer's address, by name."""
    other = b"attacker@osm-test.example"
    return {
        "other-then-signer": b"<" + other + b">, <" + signer + b">",
        "signer-then-other": b"<" + signer + b">, <" + other + b">",
        "nested-comments": b"(" * 3000 + b"x" + b")" * 3000 + b" <" + signer + b">",
        "signer-as-display-name": b'"' + signer + b'" <' + other + b">",
        "encoded-word": b"=?utf-8?b?" + base64.b64encode(signer) + b"?= <" + other + b">",
        "group": b"undisclosed-recipients:;",
        "unclosed": b"<" + signer,
        "nul": b"\x00" + signer,
        "empty": b"",
    }


def with_from(message: bytes, values: list[bytes]) -> bytes:
    """The message with its From fields replaced by `values` (none: no From at all)."""
    lines, sep, body = _split(message)
    index = next((i for i, line in enumerate(lines) if line.lower().startswith(b"from:")), 0)
    kept = [line for line in lines if not line.lower().startswith(b"from:")]
    kept[index:index] = [b"From: " + value for value in values]
    return _join(kept, sep, body)


def from_field(rng: random.Random, message: bytes) -> bytes:
    """From: tricks: two mailboxes, two fields, none, deep comments, display-name spoofing."""
    head = _split(message)[0]
    field_ = next((line for line in head if line.lower().startswith(b"from:")), b"")
    found = re.search(rb"[\w.+-]+@[\w.-]+", field_)
    signer = found.group(0) if found else b"pro01@osm-test.example"
    trick = rng.choice(list(from_tricks(signer).values()))
    choice = rng.randrange(3)
    if choice == 0:
        return with_from(message, [])
    if choice == 1:
        return with_from(message, [trick, field_[5:].strip()])
    return with_from(message, [trick])


def _boundaries(message: bytes) -> list[bytes]:
    return list(dict.fromkeys(re.findall(rb'boundary="?([^";\r\n]+)"?', message, re.IGNORECASE)))


def boundary(rng: random.Random, message: bytes) -> bytes:
    """A boundary broken: the closing delimiter gone, a delimiter altered, the parameter changed."""
    found = _boundaries(message)
    if not found:
        return message
    name = rng.choice(found)
    choice = rng.randrange(5)
    if choice == 0:
        return message.replace(b"--" + name + b"--", b"", 1)
    if choice == 1:
        at = [m.start() for m in re.finditer(re.escape(b"--" + name), message)]
        spot = rng.choice(at) if at else 0
        return message[:spot] + b"--" + name + b"x" + message[spot + len(name) + 2 :]
    if choice == 2:
        return message.replace(b"boundary=", b"boundary=" + b"b" * 100, 1)
    if choice == 3:
        return message.replace(b"--" + name, b"--" + name + b" \t", 1)
    return message.replace(name, name[: len(name) // 2], 1)


def transfer_encoding(rng: random.Random, message: bytes) -> bytes:
    """A Content-Transfer-Encoding changed, or a base64 body made odd (lines, padding, junk)."""
    choice = rng.randrange(4)
    if choice == 0:
        value = rng.choice((b"quoted-printable", b"8bit", b"binary", b"x-uuencode", b"BASE64"))
        return re.sub(
            rb"(?i)(content-transfer-encoding:)[ \t]*\S+", rb"\1 " + value, message, count=1
        )
    bodies = [b for b in pkcs7_bodies(message) if b[2] == "base64"]
    if not bodies:
        return message
    start, end, _ = rng.choice(bodies)
    text = b"".join(message[start:end].split())
    if choice == 1:
        width = rng.choice((1, 4, 63, 998, 5000))
        text = b"\r\n".join(text[i : i + width] for i in range(0, len(text), width))
    elif choice == 2:
        text = text.rstrip(b"=")
    else:
        spot = rng.randrange(len(text) + 1)
        text = text[:spot] + rng.choice((b"!", b"=", b"====", b"\xc3\xa9", b" ")) + text[spot:]
    return message[:start] + text + b"\r\n" + message[end:]


def nesting(rng: random.Random, message: bytes) -> bytes:
    """The message wrapped: in multipart/mixed, message/rfc822, or many levels deep."""
    lines, _, body = _split(message)
    kept = [line for line in lines if not line.lower().startswith((b"content-", b"mime-"))]
    inner = b"\r\n".join(line for line in lines if line not in kept) + b"\r\n\r\n" + body
    levels = rng.choice((1, 1, 2, 30, 120))
    for level in range(levels):
        if rng.random() < 0.5:
            mark = b"nest%d" % level
            inner = (
                b'Content-Type: multipart/mixed; boundary="'
                + mark
                + b'"\r\n\r\n--'
                + mark
                + b"\r\n"
                + inner
                + b"\r\n--"
                + mark
                + b"--\r\n"
            )
        else:
            inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    return b"\r\n".join(kept) + b"\r\nMIME-Version: 1.0\r\n" + inner


def line_ends(rng: random.Random, message: bytes) -> bytes:
    """Line ends changed: CRLF to LF, LF to CRLF, or bare CRs."""
    choice = rng.randrange(3)
    if choice == 0:
        return message.replace(b"\r\n", b"\n")
    if choice == 1:
        return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n\r\n", 1)
    return message.replace(b"\r\n", b"\r", rng.randrange(1, 50))


def byte_flip(rng: random.Random, data: bytes) -> bytes:
    """Raw bytes changed anywhere: one flipped, one inserted, a run deleted, the end cut."""
    if not data:
        return b"\x00"
    spot = rng.randrange(len(data))
    choice = rng.randrange(4)
    if choice == 0:
        return data[:spot] + bytes([data[spot] ^ (1 << rng.randrange(8))]) + data[spot + 1 :]
    if choice == 1:
        return data[:spot] + rng.randbytes(rng.randrange(1, 8)) + data[spot:]
    if choice == 2:
        return data[:spot] + data[spot + rng.randrange(1, 64) :]
    return data[:spot]


MIME_MUTATORS: tuple[Mutator, ...] = (
    header_field,
    from_field,
    boundary,
    transfer_encoding,
    nesting,
    line_ends,
    byte_flip,
)
# CMS mutations weigh as much as all the MIME ones together: that is where the depth is.
_ALL: tuple[Mutator, ...] = (*MIME_MUTATORS, *([cms_element] * len(MIME_MUTATORS)))


def mutate(rng: random.Random, message: bytes) -> tuple[bytes, list[str]]:
    """One to three mutations of a message, and their names."""
    names: list[str] = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        mutator = rng.choice(_ALL)
        message = mutator(rng, message)
        names.append(mutator.__name__)
    return message, names
