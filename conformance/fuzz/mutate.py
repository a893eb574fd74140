"""Structure-aware mutations of a message: its CMS objects element by element, its MIME.

Each mutator takes a `random.Random` and bytes and returns new bytes; the
names say what an attacker (or a broken client) did, so a saved failure
reads as a story. `mutate` applies one to three of them. DER mutations work
on the tree of `der_tree` (flip, replace, truncate, duplicate, delete or
swap elements, change a tag or a length, re-encode in BER), reached through
the message's base64 PKCS#7 parts and spliced back; MIME mutations change
header fields (From: tricks included), boundaries, transfer encodings,
nesting and line ends. A few raw byte mutations keep the rest honest.

Size-multiplying mutations make what a small edit cannot: an OID arc of
thousands of bytes, an element repeated thousands of times, a Content-Type
with 100,000 parameters, a header block of 300 KB, megabytes of lines that
look like a boundary. Each MIME one adds bytes to a size drawn from `SIZES`,
never past `MAX_BYTES` in all (a few MB: a run's inputs stay fast to make and
to read when the reader is right; the largest cross the receiver's spool
threshold, `Limits.spool_above_bytes`, so the spooled reader reads them); a
DER one adds at most 1 MiB to an object.
`mutate` applies them after the others, which read the message's MIME.
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
    "MAX_BYTES",
    "MIME_MUTATORS",
    "SIZES",
    "SIZE_MUTATORS",
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
# The sizes a size-multiplying mutation grows a message to, and the most it may reach: the
# largest over the receiver's spool threshold (4 MiB).
SIZES = (2_000, 64 * 1024, 300 * 1024, 1024 * 1024, 4_500_000)
MAX_BYTES = 5 * 1024 * 1024
_OID = 0x06
_UNASSIGNED_ARC = bytes.fromhex("2b06010401868d1f")  # 1.3.6.1.4.1.99999: no one's


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


def _grown_to(rng: random.Random, now: int) -> int:
    """How many bytes a size-multiplying mutation adds to a message of `now` bytes."""
    return max(0, min(rng.choice(SIZES), MAX_BYTES - now))


def der_oid(rng: random.Random, root: Node) -> None:
    """An OBJECT IDENTIFIER changed: an arc of thousands of bytes, an unknown OID, or
    another OID of the same object (a content type where an algorithm belongs)."""
    oids = [n for n, _ in walk(root) if n.tag[0] == _OID and n.children is None]
    if not oids:
        return
    node = rng.choice(oids)
    choice = rng.randrange(3)
    if choice == 0:
        size = rng.choice(SIZES[:3])
        spot = rng.randrange(1, len(node.value) + 1) if node.value else 0
        node.value = node.value[:spot] + b"\xff" * size + b"\x01" + node.value[spot:]
    elif choice == 1:
        node.value = _UNASSIGNED_ARC + bytes([rng.randrange(128)])
    else:
        node.value = rng.choice(oids).value


def der_grow(rng: random.Random, root: Node) -> None:
    """An element multiplied: a primitive value repeated to kilobytes or megabytes, or an
    element written hundreds of thousands of times (signers, certificates, attributes)."""
    node, parent = _pick(rng, root, with_parent=True)
    target = rng.choice(SIZES[:4])
    if rng.random() < 0.5 and parent is not None and parent.children is not None:
        one = encode(node)
        copy = parse(one)
        if copy is not None:
            at = parent.children.index(node)
            parent.children[at:at] = [copy] * max(1, target // len(one))
            return
    if node.children is None and node.value:
        node.value = node.value * max(2, target // len(node.value))


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
    der_oid,
    der_grow,
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
        start = entity.body_start
        found.append((start, entity.end, entity.transfer_encoding))
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
    """A top-level header field deleted, duplicated, folded, emptied, given 8-bit bytes or
    control characters (terminal escape sequences)."""
    lines, sep, body = _split(message)
    starts = _fields(lines)
    if not starts:
        return message
    i = rng.choice(starts)
    choice = rng.randrange(6)
    if choice == 0:
        del lines[i]
    elif choice == 1:
        lines.insert(rng.choice(starts), lines[i])
    elif choice == 2:
        name, _, value = lines[i].partition(b":")
        lines[i] = name + b":\r\n " + value.strip() if b"\r" in sep else name + b":\n " + value
    elif choice == 3:
        lines[i] = lines[i].partition(b":")[0] + b":"
    elif choice == 4:
        lines[i] = lines[i] + b" \xff\xfe\xc3("
    else:  # terminal escape sequences and other controls, as a log or a terminal shows them
        lines[i] = lines[i] + rng.choice((b" \x1b[2J\x1b[31m", b" \x1b]0;x\x07", b"\x00\x08\x7f"))
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
    levels = rng.choice((1, 1, 2, 3, 5, 6, 7, 8, 9, 30, 120))  # 5 to 9: around max_depth 8
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


# --- size-multiplying MIME mutations --------------------------------------------------

_FIELD_END = re.compile(rb"\r?\n(?![ \t])")


def _repeat(unit: bytes, size: int) -> bytes:
    """`unit` written as many times as fit in `size` bytes (once at least)."""
    return unit * max(1, size // len(unit))


def header_params(rng: random.Random, message: bytes) -> bytes:
    """A Content-Type or Content-Disposition given a parameter again with another value
    (two boundaries, two protocols), or thousands of parameters, on one line or folded."""
    fields = list(re.finditer(rb"(?im)^content-(?:type|disposition):", message))
    if not fields:
        return message
    start = rng.choice(fields).start()
    end_found = _FIELD_END.search(message, start)
    end = end_found.start() if end_found else len(message)
    value = message[start:end]
    if rng.random() < 0.3:
        names: list[bytes] = re.findall(rb";\s*([\w-]+)=", value) or [b"charset"]
        added = b"; " + rng.choice(names) + b'="x' + bytes([0x61 + rng.randrange(26)]) + b'"'
    else:
        sep = rng.choice((b"; ", b";\r\n "))
        size = _grown_to(rng, len(message))
        if rng.random() < 0.5:
            added = _repeat(sep + b"p=v", size)
        else:  # every name different: nothing to collapse (names up to p9999999)
            added = b"".join(sep + b"p%d=v" % i for i in range(max(1, size // (len(sep) + 10))))
    return message[:end] + added + message[end:]


def header_flood(rng: random.Random, message: bytes) -> bytes:
    """A header block grown to hundreds of kilobytes or megabytes: thousands of fields, one
    field folded over thousands of lines, or one line that never ends."""
    lines, sep, body = _split(message)
    size = _grown_to(rng, len(message))
    choice = rng.randrange(3)
    if choice == 0:
        added = [b"X-Fuzz: " + b"a" * 60] * max(1, size // 70)
    elif choice == 1:
        added = [b"X-Fuzz: a"] + [b" folded"] * max(1, size // 9)
    else:
        added = [b"X-Fuzz: " + b"a" * size]
    at = rng.randrange(len(lines) + 1)
    return _join(lines[:at] + added + lines[at:], sep, body)


def body_lines(rng: random.Random, message: bytes) -> bytes:
    """Megabytes of lines in a body: lines that look like a delimiter and are not one
    (`--b` of boundary `b` followed by more, or its first half), the body's own lines
    repeated, or one line that never ends."""
    size = _grown_to(rng, len(message))
    found = _boundaries(message)
    choice = rng.randrange(4)
    if found and choice < 2:
        name = rng.choice(found)
        looks = (
            b"--" + name + rng.choice((b"X", b"-", b" x", b"--x"))
            if choice == 0
            else (b"--" + name[: max(1, len(name) // 2)])
        )
        at = [m.end() for m in re.finditer(re.escape(b"--" + name) + rb"\r?\n", message)]
        spot = rng.choice(at) if at else len(message)
        return message[:spot] + _repeat(looks + b"\r\n", size) + message[spot:]
    head, sep, body = message.partition(b"\r\n\r\n")
    if not sep:
        return message + _repeat(b"\r\n", size)
    if choice == 3:
        return head + sep + body[:-2] + b"A" * size + body[-2:]
    lines = body.split(b"\r\n")
    one = rng.choice([line for line in lines if line] or [b"A"])
    return head + sep + body + _repeat(one + b"\r\n", size)


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


SIZE_MUTATORS: tuple[Mutator, ...] = (header_params, header_flood, body_lines)
MIME_MUTATORS: tuple[Mutator, ...] = (
    header_field,
    from_field,
    boundary,
    transfer_encoding,
    nesting,
    line_ends,
    byte_flip,
    *SIZE_MUTATORS,
)
# CMS mutations weigh as much as all the MIME ones together: that is where the depth is.
_ALL: tuple[Mutator, ...] = (*MIME_MUTATORS, *([cms_element] * len(MIME_MUTATORS)))


def mutate(rng: random.Random, message: bytes) -> tuple[bytes, list[str]]:
    """One to three mutations of a message, and their names (in the order done: the size
    multiplying ones last, so that no other mutation reads a multiplied message's MIME)."""
    chosen = [rng.choice(_ALL) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    chosen.sort(key=lambda m: m in SIZE_MUTATORS)
    for mutator in chosen:
        message = mutator(rng, message)
    return message, [m.__name__ for m in chosen]
