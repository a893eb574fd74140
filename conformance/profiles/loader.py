"""Load profiles from YAML: resolve `extends`, validate, and say where it is wrong.

Every problem names the file, the line and the field, and all problems of a
run are reported together (a `ProfileError` carries the list). Lines come
from `yaml_lines`; after an `extends` merge each value keeps the file and
line it was written at, so an error in an inherited value points at the base.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from conformance.errors import UserError
from conformance.paths import PROFILES_DIR
from conformance.profiles import yaml_lines
from conformance.profiles.checks import check_profile
from conformance.profiles.schema import ID_PATTERN, Profile, Source, section_model
from conformance.profiles.yaml_lines import format_loc

Loc = tuple[str | int, ...]
Origin = tuple[Path, int]
M = TypeVar("M", bound=BaseModel)

# YAML files of the profiles directory that are data, not profiles.
DATA_FILES = frozenset({"claims.yaml", "practice-software.yaml", "sources.yaml"})
SOURCES_FILE = "sources.yaml"
# Keys that belong to one file and are not inherited through `extends`.
_NOT_INHERITED = ("id", "abstract", "extends", "draft")


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = display_path(self.file)
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


class ProfileError(UserError):
    """One or more problems in profiles or their data files, all listed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it (as users typed it)."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


# --- reading and validating any YAML file ------------------------------------------------


@dataclass
class Document:
    path: Path
    data: dict[str, Any]
    lines: dict[Loc, int]

    @property
    def id(self) -> str | None:
        value = self.data.get("id")
        return value if isinstance(value, str) else None

    def origins(self) -> dict[Loc, Origin]:
        return {loc: (self.path, line) for loc, line in self.lines.items()}


def read_yaml(path: Path) -> tuple[yaml_lines.Parsed | None, list[Problem]]:
    """Read and parse a YAML file the suite is given (profiles, their data files, a
    practice, waivers): what cannot be read, is not UTF-8 or is not plain YAML is a list of
    problems, each naming the file (and the line)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(path, None, "no such file")]
    except IsADirectoryError:
        return None, [Problem(path, None, "a directory, not a YAML file")]
    except OSError as exc:
        return None, [Problem(path, None, f"cannot read: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [Problem(path, line, f"not UTF-8: byte 0x{raw[exc.start]:02x}")]
    parsed = yaml_lines.parse(text)
    problems = [Problem(path, p.line, p.message) for p in parsed.problems]
    return (None, problems) if problems else (parsed, [])


def read_document(path: Path) -> tuple[Document | None, list[Problem]]:
    """Parse a YAML file whose top level must be a mapping."""
    parsed, problems = read_yaml(path)
    if parsed is None:
        return None, problems
    if parsed.data is None:
        return None, [Problem(path, 1, "empty file: expected a mapping")]
    if not isinstance(parsed.data, dict):
        return None, [Problem(path, 1, "expected a mapping at the top level")]
    return Document(path, parsed.data, parsed.lines), []


def validate(
    model: type[M],
    data: Any,
    origins: Mapping[Loc, Origin],
    fallback: Path,
    keep: Callable[[ErrorDetails, Loc], bool] | None = None,
) -> tuple[M | None, list[Problem]]:
    """Validate data against a model; each error is placed at its file and line (only
    those `keep` keeps, given pydantic's error and its place)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        described = zip(exc.errors(), describe_errors(model, exc), strict=True)
        problems = [
            place(origins, loc, message, fallback)
            for error, (loc, message) in described
            if keep is None or keep(error, loc)
        ]
        return None, problems


def place(origins: Mapping[Loc, Origin], loc: Loc, message: str, fallback: Path) -> Problem:
    """The problem at the closest known location (a missing key: its parent's line)."""
    for end in range(len(loc), -1, -1):
        found = origins.get(loc[:end])
        if found is not None:
            return Problem(found[0], found[1], f"{format_loc(loc)}: {message}" if loc else message)
    return Problem(fallback, None, f"{format_loc(loc)}: {message}" if loc else message)


_TYPE_WORDS = {
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "a mapping",
    "dict_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def describe_errors(model: type[BaseModel], exc: ValidationError) -> list[tuple[Loc, str]]:
    """Pydantic's errors in the words of a profile author."""
    out = []
    for err in exc.errors():
        # A bad mapping key comes as (..., key, "[key]"): the key itself is the place.
        loc: Loc = tuple(part for part in err["loc"] if part != "[key]")
        out.append((loc, _describe(model, err, loc)))
    return out


def _describe(model: type[BaseModel], err: ErrorDetails, loc: Loc) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        head, _, last = expected.rpartition(" or ")
        allowed = f"{head}, {last}" if head else last
        return f"{value!r} is not one of {allowed}"
    if kind == "extra_forbidden":
        allowed_names = _fields_at(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed_names, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        known = f"; known: {', '.join(allowed_names)}" if allowed_names else ""
        return f"unknown field{suggestion}{known}"
    if kind == "missing":
        return "missing required field"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {value!r}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not match the pattern {ctx.get('pattern')}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{message[:1].lower()}{message[1:]} (got {value!r})"


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names of the model found at `loc` (walking through lists and mappings)."""
    current: type[BaseModel] | None = model
    skip = False
    for part in loc:
        if skip:
            skip = False
            continue
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return []
        annotation = current.model_fields[part].annotation
        current = section_model(annotation)
        skip = _is_container(annotation)
    return list(current.model_fields) if current is not None else []


def _is_container(annotation: Any) -> bool:
    if get_origin(annotation) in (list, dict):
        return True
    return any(_is_container(arg) for arg in get_args(annotation) if arg is not type(None))


# --- profiles ------------------------------------------------------------------------------


def profile_paths(paths: Iterable[Path | str] | None = None) -> list[Path]:
    """The profile files named (directories: their *.yaml, less the data files), each
    once: a file named twice, or in a folder named too, is not a duplicate of itself."""
    out: dict[Path, Path] = {}
    for raw in [PROFILES_DIR] if paths is None else paths:
        path = Path(raw)
        if os.path.isdir(path):  # os.path: False, not an OSError, for a name too long
            found = [p for p in sorted(path.glob("*.yaml")) if p.name not in DATA_FILES]
        else:
            found = [path]
        for file in found:
            out.setdefault(file.resolve(), file)
    return list(out.values())


def folder_problems(paths: Iterable[Path]) -> list[Problem]:
    """A named folder with no profile would be read as nothing at all: said, as is a
    `*.yml` file in it (profiles are `*.yaml`: it would be left out unread)."""
    problems: list[Problem] = []
    for folder in (p for p in paths if os.path.isdir(p)):
        unread = sorted(folder.glob("*.yml"))
        problems += [Problem(p, None, "not read: a profile file ends in .yaml") for p in unread]
        if not profile_paths([folder]):
            problems.append(Problem(folder, None, "no profile (*.yaml) in this folder"))
    return problems


def sources_file(folder: Path) -> Path:
    """The sources a data file of `folder` cites: its sources.yaml, else the shipped one."""
    own = folder / SOURCES_FILE
    return own if own.is_file() else PROFILES_DIR / SOURCES_FILE


def load_sources(paths: Iterable[Path]) -> tuple[dict[str, Source], list[Problem]]:
    """The shared sources files (a `sources:` list each).

    An id twice in one file is a mistake; in two files (a copied profiles folder beside
    the shipped one) it is one source when both say the same, a conflict otherwise.
    """
    sources: dict[str, Source] = {}
    defined_in: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in paths:
        doc, found = read_document(path)
        problems += found
        if doc is None:
            continue
        loaded, found = validate(_SourcesFile, doc.data, doc.origins(), path)
        problems += found
        for index, source in enumerate(loaded.sources if loaded else []):
            first = defined_in.get(source.id)
            if first is not None:
                line = doc.lines.get(("sources", index))
                if first == path:
                    message = f"duplicate source {source.id!r}"
                elif sources[source.id] != source:
                    message = f"source {source.id!r} differs from the one in {display_path(first)}"
                else:
                    continue
                problems.append(Problem(path, line, f"sources[{index}].id: {message}"))
            sources[source.id] = source
            defined_in[source.id] = path
    return sources, problems


class _SourcesFile(BaseModel):
    model_config = Profile.model_config
    sources: list[Source]


@dataclass
class _Resolved:
    data: dict[str, Any]
    origins: dict[Loc, Origin]
    chain: list[Document]  # the profile's own file first, then the one it extends, and so on

    def stated(self) -> dict[Loc, int]:
        """Each path the YAML sets, with the place in `chain` of the file that sets it."""
        level = {d.path: index for index, d in enumerate(self.chain)}
        return {loc: level[path] for loc, (path, _) in self.origins.items() if loc}

    def drop_taken_over(self) -> None:
        """A base's citation inside a section cited by a more derived file goes when every
        value it covers was set over it: it documents none of them (a base's citation
        documents the base's values), the shorter one may (smm's `criteria` over the
        base's `criteria.interoperability`). Otherwise it stays, and lint asks for a citation."""
        provenance = self.data.get("provenance")
        if not isinstance(provenance, dict):
            return
        level = self.stated()
        for key in list(provenance):
            parts = tuple(key.split("."))
            cited = level.get(("provenance", key), 0)
            prefixes = (".".join(parts[:end]) for end in range(1, len(parts)))
            over = [level[("provenance", k)] for k in prefixes if ("provenance", k) in level]
            values = [n for loc, n in level.items() if loc[: len(parts)] == parts]
            if over and values and max(values) < cited and min(over) <= min(values):
                del provenance[key]
                self.origins = {
                    loc: o for loc, o in self.origins.items() if loc[:2] != ("provenance", key)
                }


class _Bases:
    """The profiles an `extends` may name: those being loaded, else the file `ID.yaml` in
    one of `folders` (the named files' own, then the shipped profiles). A file not named is
    read only when a profile extends it: a broken neighbour troubles only what needs it."""

    def __init__(
        self, named: Mapping[str, Document], folders: Sequence[Path], given: Iterable[Path]
    ) -> None:
        self.named = named
        self.folders = folders
        self.given = {p.resolve() for p in given}  # named: read (and reported) already
        self.read: dict[Path, tuple[Document | None, list[Problem]]] = {}

    def find(self, target: str) -> tuple[Document | None, list[Problem]]:
        """The base of that id; or None with the problems of its file, or none at all."""
        if target in self.named:
            return self.named[target], []
        if not valid_id(target) or f"{target}.yaml" in DATA_FILES:
            return None, []
        for folder in self.folders:
            path = folder / f"{target}.yaml"
            if path.resolve() in self.given or not path.is_file():
                continue
            if path not in self.read:
                self.read[path] = read_document(path)
            doc, problems = self.read[path]
            if doc is None:
                return None, problems
            if doc.id == target:
                return doc, []
        return None, []

    def ids(self) -> list[str]:
        """The ids it might have meant, for a suggestion (file names: no file is read)."""
        files = profile_paths([f for f in self.folders if f.is_dir()])
        return sorted({*self.named, *(p.stem for p in files)})


def _resolve(doc: Document, bases: _Bases) -> tuple[_Resolved | None, list[Problem]]:
    """Merge the `extends` chain of a document (deep merge, the child wins)."""
    chain = [doc]
    while True:
        current = chain[-1]
        target = current.data.get("extends")
        if target is None:
            break
        line = current.lines.get(("extends",))
        if not isinstance(target, str):
            return None, [
                Problem(current.path, line, f"extends: expected a profile id, got {target!r}")
            ]
        if any(d.id == target for d in chain):
            cycle = " -> ".join([*(d.id or "?" for d in chain), target])
            first_line = doc.lines.get(("extends",))
            return None, [Problem(doc.path, first_line, f"extends: cycle {cycle}")]
        base, unreadable = bases.find(target)
        if unreadable:  # the base's own problems, at its lines
            return None, unreadable
        if base is None:
            others = [i for i in bases.ids() if i != target]  # its own file did not read
            hint = difflib.get_close_matches(target, others, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            return None, [
                Problem(current.path, line, f"extends: unknown profile {target!r}{suggestion}")
            ]
        chain.append(base)
    data: dict[str, Any] = {}
    origins: dict[Loc, Origin] = {}
    for index, item in enumerate(reversed(chain)):
        own = item.data if index == len(chain) - 1 else _without(item.data, _NOT_INHERITED)
        data = _merge(data, own)
        origins.update(
            {loc: o for loc, o in item.origins().items() if loc[:1] not in _meta(index, chain)}
        )
    origins = {loc: origins[loc] for loc in _all_locs(data) if loc in origins}
    origins[()] = (doc.path, 1)
    resolved = _Resolved(data, origins, chain)
    resolved.drop_taken_over()
    return resolved, []


def _meta(index: int, chain: list[Document]) -> tuple[Loc, ...]:
    return () if index == len(chain) - 1 else tuple((key,) for key in _NOT_INHERITED)


def _without(data: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def _merge(base: Any, child: Any, path: Loc = ()) -> Any:
    """Deep merge of mappings; any other value of the child replaces the base's.

    A citation is one fact about a fact: the child's replaces the base's whole.
    """
    if isinstance(base, dict) and isinstance(child, dict):
        if len(path) == 2 and path[0] == "provenance":
            return child
        merged = dict(base)
        for key, value in child.items():
            merged[key] = _merge(base[key], value, (*path, key)) if key in base else value
        return merged
    return child


def _all_locs(data: Any, prefix: Loc = ()) -> list[Loc]:
    locs = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            locs += _all_locs(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            locs += _all_locs(value, (*prefix, index))
    return locs


def _read_all(paths: Sequence[Path]) -> tuple[dict[str, Document], list[Problem]]:
    docs: dict[str, Document] = {}
    problems: list[Problem] = []
    for path in paths:
        doc, found = read_document(path)
        problems += found
        if doc is None:
            continue
        doc_id = doc.id
        if doc_id is None:
            continue  # reported by validation as a missing or wrong id
        if doc_id in docs:
            first = docs[doc_id].path
            problems.append(
                Problem(
                    path,
                    doc.lines.get(("id",)),
                    f"id: duplicate profile id {doc_id!r}: "
                    f"{display_path(first)} and {display_path(path)}",
                )
            )
            continue
        docs[doc_id] = doc
    return docs, problems


def _load(
    paths: Sequence[Path], with_shipped: bool, own_sources: bool = False
) -> tuple[dict[str, Profile], list[Problem]]:
    """Profiles of the given files (the shipped ones are bases they may extend).

    The sources are those beside the files, and the shipped ones unless `own_sources`
    (a profiles folder with its own sources.yaml was named: it replaces the shipped one).
    """
    named, problems = _read_all(paths)
    source_files = {(p.parent / SOURCES_FILE).resolve() for p in paths}
    if not own_sources:
        source_files.add((PROFILES_DIR / SOURCES_FILE).resolve())
    # Bases a named profile may extend beyond the named: its neighbours, then the shipped
    # profiles. They are only read here, when extended; they are linted when named.
    folders = [*sorted({p.parent for p in paths}), PROFILES_DIR] if with_shipped else []
    bases = _Bases(named, folders, paths)
    sources, found = load_sources(sorted(p for p in source_files if p.exists()))
    problems += found
    unnamed = [p for p in paths if not any(d.path == p for d in named.values())]
    for path in unnamed:  # parse failures are already reported; an id-less document is not
        doc, _ = read_document(path)
        if doc is not None and doc.id is None:  # its extends applied: no false "missing"
            resolved, found = _resolve(doc, bases)
            if resolved is None:
                found += _unresolved_problems(doc)
            else:
                _, found = validate(Profile, resolved.data, resolved.origins, path)
            problems += found
    profiles: dict[str, Profile] = {}
    for doc_id, doc in named.items():
        profile, found = _load_one(doc, bases, sources)
        problems += found
        if profile is not None:
            profiles[doc_id] = profile
    return profiles, list(dict.fromkeys(problems))  # a base's, once for all that extend it


def _load_one(
    doc: Document, bases: _Bases, sources: Mapping[str, Source]
) -> tuple[Profile | None, list[Problem]]:
    resolved, problems = _resolve(doc, bases)
    if doc.id != doc.path.stem and valid_id(doc.id):
        problems.append(
            Problem(
                doc.path,
                doc.lines.get(("id",)),
                f"id: {doc.id!r} does not match the file name {doc.path.name!r}",
            )
        )
    if resolved is None:
        return None, problems + _unresolved_problems(doc)
    profile, found = validate(Profile, resolved.data, resolved.origins, doc.path)
    if profile is None:
        return None, problems + found
    own = {s.id: s for s in profile.sources}
    for index, source in enumerate(profile.sources):
        if source.id in sources:
            problems.append(
                place(
                    resolved.origins,
                    ("sources", index, "id"),
                    f"source {source.id!r} is already defined in {SOURCES_FILE}",
                    doc.path,
                )
            )
    lineage = [d.id or d.path.stem for d in resolved.chain]
    for loc, message in check_profile(profile, {**sources, **own}, resolved.stated(), lineage):
        problems.append(place(resolved.origins, loc, message, doc.path))
    return (None if problems else profile), problems


def _unresolved_problems(doc: Document) -> list[Problem]:
    """What the file's own values break when its `extends` cannot be resolved (said
    already): all but a field missing, which the base might have given."""

    def own(error: ErrorDetails, loc: Loc) -> bool:
        return loc[:1] != ("extends",) and (error["type"] != "missing" or loc == ("id",))

    return validate(Profile, doc.data, doc.origins(), doc.path, keep=own)[1]


def valid_id(value: str | None) -> bool:
    return value is not None and re.match(ID_PATTERN, value) is not None


def load_profiles(
    paths: Iterable[Path | str] | None = None, *, include_abstract: bool = False
) -> dict[str, Profile]:
    """Load and validate profiles (default: the shipped ones).

    Raises ProfileError listing every problem. Abstract bases are left out unless asked for.
    """
    given = None if paths is None else [Path(p) for p in paths]
    files = profile_paths(given)
    profiles, problems = _load(files, with_shipped=given is not None, own_sources=_own(given))
    problems += folder_problems(given or ())
    if problems:
        raise ProfileError(problems)
    return {k: v for k, v in sorted(profiles.items()) if include_abstract or not v.abstract}


def lint(paths: Iterable[Path | str] | None = None) -> list[Problem]:
    """Every problem in the named profiles (default: the shipped ones)."""
    given = None if paths is None else [Path(p) for p in paths]
    files = profile_paths(given)
    problems = _load(files, with_shipped=given is not None, own_sources=_own(given))[1]
    return problems + folder_problems(given or ())


def _own(given: Sequence[Path] | None) -> bool:
    """A named folder has its own sources.yaml (it replaces the shipped one)."""
    return any(os.path.isdir(p) and (p / SOURCES_FILE).is_file() for p in given or ())


def run_paths(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """What `run --profiles PATH...` loads, and the folders whose data files apply.

    Named folders replace the shipped profiles (their sources, claims and practice
    table with them); files named alone join the shipped set, a file replacing the
    shipped profile of its id (a vendor's own build of it).
    """
    folders = [p for p in paths if os.path.isdir(p)]
    if folders:
        return list(paths), folders
    named = {p.stem for p in paths}
    shipped = [p for p in profile_paths() if p.stem not in named]
    return [*shipped, *paths], [PROFILES_DIR]


def load_profile(id_or_path: str | Path) -> Profile:
    """One profile, by shipped id or by file path."""
    text = str(id_or_path)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        path = Path(text)
        if not os.path.exists(path):
            raise UserError(f"{text}: no such profile file")
        if os.path.isdir(path):  # its profiles are several: which one is not for us to pick
            raise UserError(f"{text}: a folder; name one profile file of it, or an id")
        profiles = load_profiles([path], include_abstract=True)
        return next(iter(profiles.values()))
    profiles = load_profiles(include_abstract=True)
    if text not in profiles:
        hint = difflib.get_close_matches(text, list(profiles), n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise UserError(f"unknown profile {text!r}{suggestion}; known: {', '.join(profiles)}")
    return profiles[text]
