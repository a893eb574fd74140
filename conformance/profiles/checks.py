"""Rules a profile must follow beyond its types: consistency and provenance.

Each rule returns (location, message) pairs; the loader turns a location
into the file and line it came from. Kept apart from the models so that a
rule can look at several sections and at the shared list of sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conformance.core.vocabulary import REAL_TOOLS
from conformance.functions import OPERATION, Operation
from conformance.profiles.schema import Citation, Profile, Source, field_paths

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

_SMIME_SEND_PARTS = ("order", "signature", "encryption", "mime")
_FIELD_PATHS = frozenset(field_paths())


def check_profile(
    profile: Profile,
    sources: Mapping[str, Source],
    stated: Mapping[Loc, int],
    lineage: Sequence[str],
) -> list[Problem]:
    """All rule violations of a resolved profile.

    `stated`: the paths its YAML sets, each with the level of the file that sets it (0:
    the profile's own, 1: the one it extends, ...); `lineage`: the profile ids by level.
    """
    return [
        *_send_rules(profile),
        *_receive_rules(profile),
        *_engine_rules(profile),
        *_provenance_rules(profile, sources, stated, lineage),
    ]


def _send_rules(p: Profile) -> list[Problem]:
    out: list[Problem] = []
    send = p.send
    if send.format == "smime":
        for part in _SMIME_SEND_PARTS:
            if getattr(send, part) is None:
                out.append((("send", part), "required when send.format is smime"))
    else:
        for part in _SMIME_SEND_PARTS:
            if getattr(send, part) is not None:
                out.append((("send", part), "not allowed when send.format is apicrypt"))
        if send.apicrypt_functions:
            out.append(
                (
                    ("send", "apicrypt_functions"),
                    "not allowed when send.format is apicrypt (use functions)",
                )
            )
    if send.format == "apicrypt" and "hprim-net" in send.functions:
        out.append(
            (("send", "functions"), "hprim-net is S/MIME: an apicrypt sender cannot send it")
        )
    if "hprim-net" in send.apicrypt_functions:
        out.append(
            (("send", "apicrypt_functions"), "hprim-net is S/MIME: it cannot be sent as Apicrypt")
        )
    return out


def _receive_rules(p: Profile) -> list[Problem]:
    out: list[Problem] = []
    receive = p.receive
    listed = "hprim-net" in receive.functions
    if receive.reads_hprim_net and not listed:
        out.append(
            (("receive", "reads_hprim_net"), "true, but 'hprim-net' is not in receive.functions")
        )
    if listed and not receive.reads_hprim_net:
        out.append(
            (("receive", "functions"), "lists 'hprim-net' but receive.reads_hprim_net is false")
        )
    if receive.reads_hprim_net and receive.smime is None:
        out.append(
            (("receive", "reads_hprim_net"), "HPRIM-Net is S/MIME, but receive.smime is null")
        )
    if receive.smime is None and receive.apicrypt.reads == "none" and receive.functions:
        out.append(
            (("receive", "functions"), "lists functions but it reads neither S/MIME nor Apicrypt")
        )
    out += _empty_accept_lists(p)
    if receive.apicrypt.reads == "envelope-only" and receive.apicrypt.require_signature:
        out.append(
            (
                ("receive", "apicrypt", "require_signature"),
                "an envelope-only reader cannot require the Apicrypt signature it cannot check",
            )
        )
    return out


# The accept lists of receive.smime each operation reads through (conformance/functions.py).
_SIGNED = ("digests", "signature_algorithms", "formats", "media_types")
_ENCRYPTED = ("ciphers", "key_transports", "media_types")
_NEEDED_BY: dict[Operation, frozenset[str]] = {
    "sign": frozenset(_SIGNED),
    "encrypt": frozenset(_ENCRYPTED),
    "sign-encrypt": frozenset(_SIGNED + _ENCRYPTED),
}


def _empty_accept_lists(p: Profile) -> list[Problem]:
    """An empty accept list refuses every message that needs it: a function listed in
    receive.functions would then fail every cell, as if the senders were at fault. Null
    (anything the engine reads) is not empty; an Apicrypt reader may get it that way."""
    smime = p.receive.smime
    if smime is None or p.receive.apicrypt.reads != "none":
        return []
    out: list[Problem] = []
    for name in dict.fromkeys(_SIGNED + _ENCRYPTED):
        needing = [f for f in p.receive.functions if name in _NEEDED_BY[OPERATION[f]]]
        if getattr(smime, name) == [] and needing:
            message = f"empty: it reads no message of {', '.join(needing)} (receive.functions)"
            out.append((("receive", "smime", name), message))
    return out


def _engine_rules(p: Profile) -> list[Problem]:
    out: list[Problem] = []
    engine = p.engine
    if engine.type == "command" and not engine.argv:
        out.append((("engine", "argv"), "required when engine.type is command"))
    if engine.type != "command" and engine.argv is not None:
        out.append((("engine", "argv"), f"only for engine.type command, not {engine.type}"))
    if engine.executable is not None and engine.type not in REAL_TOOLS:
        out.append((("engine", "executable"), f"only for openssl, nss or gpgsm, not {engine.type}"))
    if engine.type == "apicrypt-model" and p.send.format != "apicrypt":
        out.append((("engine", "type"), "apicrypt-model needs send.format apicrypt"))
    if p.send.format == "apicrypt" and engine.type not in ("apicrypt-model", "command"):
        out.append(
            (
                ("send", "format"),
                f"apicrypt needs engine.type apicrypt-model or command, not {engine.type}",
            )
        )
    return out


def citation_rules(loc: Loc, citation: Citation, sources: Mapping[str, Source]) -> list[Problem]:
    out: list[Problem] = []
    if citation.assumed:
        if not citation.reason:
            out.append(((*loc, "reason"), "an assumed fact needs its reason"))
        if citation.source is not None:
            out.append(((*loc, "source"), "a fact is either assumed or sourced, not both"))
    elif citation.source is None:
        out.append((loc, "cite a source, or set assumed: true with a reason"))
    if citation.source is not None and citation.source not in sources:
        known = ", ".join(sorted(sources))
        out.append(((*loc, "source"), f"unknown source {citation.source!r} (known: {known})"))
    return out


def _provenance_rules(
    p: Profile, sources: Mapping[str, Source], stated: Mapping[Loc, int], lineage: Sequence[str]
) -> list[Problem]:
    out: list[Problem] = []
    for key, citation in p.provenance.items():
        loc: Loc = ("provenance", key)
        if key not in _FIELD_PATHS:
            out.append((loc, f"{key!r} is not a field of a profile"))
            continue
        out.extend(citation_rules(loc, citation, sources))
        out.extend(_column_rules(p, key, citation))
    for path in stated:
        if not path or path[0] not in _SECTIONS_WITH_FACTS or isinstance(path[-1], int):
            continue
        dotted = ".".join(str(part) for part in path)
        if dotted not in _FIELD_PATHS:
            continue  # a list item
        if dotted in _FIELD_PATHS_WITH_CHILDREN and _value_at(p, path) is not None:
            continue  # a section: its leaves are checked (a section set to null is a fact)
        cited = p.citation_key(dotted)
        if cited is None:
            out.append((path, "no provenance: cite a source or mark it assumed under provenance:"))
        elif stated.get(("provenance", cited), 0) > stated[path]:
            out.append((path, _base_citation(p, dotted, cited, stated[path], stated, lineage)))
        elif (copied := p.provenance[cited].copied_from) is not None and stated.get(
            ("provenance", cited), 0
        ) == stated[path]:  # set in the file the copy was written to: not the base's value
            out.append(
                (
                    path,
                    f"no provenance of its own: the citation {cited!r} was copied from {copied} "
                    f"by `profiles new` and documents {copied}'s values; cite {dotted!r} itself",
                )
            )
    return out


def _value_at(p: Profile, path: Loc) -> object:
    value: object = p
    for part in path:
        value = getattr(value, str(part), None)
    return value


def _base_citation(
    p: Profile, dotted: str, key: str, level: int, stated: Mapping[Loc, int], lineage: Sequence[str]
) -> str:
    """A value set over a profile it extends is not documented by that profile's citation
    (it documents the value it set), be it on a section or on a longer path than this file's."""
    base = lineage[stated[("provenance", key)]]
    parts = dotted.split(".")
    shadowed = [
        k
        for k in (".".join(parts[:end]) for end in range(len(parts) - 1, 0, -1))
        if k in p.provenance and stated.get(("provenance", k), 0) <= level
    ]
    hint = f" (its own {shadowed[0]!r} is shorter: cite {dotted!r} itself)" if shadowed else ""
    return (
        f"no provenance of its own: the citation {key!r} of {base} would apply, which documents "
        f"the value set there{hint}; cite a source or mark it assumed under provenance:"
    )


def _column_rules(p: Profile, key: str, citation: Citation) -> list[Problem]:
    """A criteria fact quoted from the comparison table names its column, and it is this
    profile's: a profile that inherits another's column (`profiles new --from`) is caught."""
    loc: Loc = ("provenance", key, "column")
    criteria = key == "criteria" or key.startswith("criteria.")
    if citation.column is not None and not criteria:
        return [(loc, "only a criteria fact quotes a column of the comparison table")]
    if not criteria:
        return []
    if citation.source == COMPARISON_TABLE and citation.column is None:
        return [(loc[:-1], f"name the column it quotes ({COMPARISON_TABLE}): column: {p.id}")]
    if citation.column is not None and citation.column != p.id:
        return [(loc, f"quotes the column of {citation.column!r}, not this profile's ({p.id!r})")]
    return []


COMPARISON_TABLE = "comparison-table"
_SECTIONS_WITH_FACTS = frozenset(path for path in _FIELD_PATHS if "." not in path)
_FIELD_PATHS_WITH_CHILDREN = frozenset(
    path.rsplit(".", 1)[0] for path in _FIELD_PATHS if "." in path
)
