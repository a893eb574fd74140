"""Parse YAML into plain data plus the line of every key and item.

PyYAML's `safe_load` loses positions, so error messages could not name a
line; its node API (`compose`) keeps them. We build the data from the nodes
ourselves, which also lets us refuse duplicate keys (PyYAML silently keeps
the last one) and keep YAML 1.1 words such as `yes`/`no`/`on` as strings
(only `true`/`false` are booleans), so that `interoperability: yes` means
the word the comparison table prints rather than a surprise boolean. Only
plain data is built: a tag (`!foo`, `!!python/object`, `!!binary`) is a problem
naming its line, as is a value its tag cannot be (`!!int abc`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

# libyaml's parser when present: about ten times faster than the pure-Python one.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_TAG = "tag:yaml.org,2002:"
_BOOL_TAG = _YAML_TAG + "bool"
_TIMESTAMP_TAG = _YAML_TAG + "timestamp"
# The tags of plain data (those PyYAML resolves untagged values to), and what a value of
# each scalar tag must be; any other tag would build an object, bytes or a set, or nothing.
_SCALAR_TAGS = {
    _YAML_TAG + "str": "text",
    _YAML_TAG + "int": "an integer",
    _YAML_TAG + "float": "a number",
    _BOOL_TAG: "true or false",
    _YAML_TAG + "null": "null",
    _TIMESTAMP_TAG: "a date",
}
_COLLECTION_TAGS = (_YAML_TAG + "map", _YAML_TAG + "seq")
# Aliases make the built data a tree again, so a few lines of `&a [*b, *b, ...]` can
# stand for billions of values (the "billion laughs"); the largest shipped file builds
# about 1,200. Past this many, the file is refused, in bounded time.
MAX_VALUES = 100_000


class _Refused(Exception):
    """A document that cannot be built into plain data: its problem, said once."""

    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class YamlProblem:
    line: int | None
    message: str


@dataclass
class Parsed:
    """The document as plain data, and the 1-based line of each path in it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)


def parse(text: str) -> Parsed:
    """Parse one YAML document; syntax errors become problems, not exceptions."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        return Parsed(None, problems=[YamlProblem(line, f"YAML syntax error: {problem}")])
    except yaml.YAMLError as exc:
        return Parsed(None, problems=[YamlProblem(None, f"YAML syntax error: {exc}")])
    finally:
        loader.dispose()
    parsed = Parsed(None, {(): 1})
    if node is not None:
        try:
            parsed.data = _Builder(parsed, loader).build(node, ())
        except _Refused as exc:
            return Parsed(None, problems=[*parsed.problems, exc.problem])
    return parsed


class _Builder:
    """Plain data from the nodes, within MAX_VALUES and refusing an alias to a node
    that contains it (`&a [*a]`: data without end)."""

    def __init__(self, out: Parsed, loader: yaml.SafeLoader) -> None:
        self.out = out
        self.loader = loader
        self.values = 0
        self.inside: set[int] = set()  # the collections being built, by id

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.values += 1
        line = node.start_mark.line + 1
        if self.values > MAX_VALUES:
            raise _Refused(
                YamlProblem(line, f"more than {MAX_VALUES} values once aliases are expanded")
            )
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return self.scalar(node, path)
        if node.tag not in _COLLECTION_TAGS:
            self.out.problems.append(_unsupported(node, path))
            return None
        if id(node) in self.inside:
            raise _Refused(YamlProblem(line, "an alias to a collection that contains it"))
        self.inside.add(id(node))
        try:
            return _collection(node, path, self)
        finally:
            self.inside.discard(id(node))

    def scalar(self, node: yaml.Node, path: Path_) -> Any:
        """The scalar's value; None, its problem noted, for one that is not plain data."""
        try:
            return _scalar(node, self.loader, path)
        except _Refused as exc:
            self.out.problems.append(exc.problem)
            return None


def _collection(node: yaml.Node, path: Path_, builder: _Builder) -> Any:
    out, loader = builder.out, builder.loader
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        _flatten(node, path, loader)
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            try:
                scalar = isinstance(key_node, yaml.ScalarNode)
                key = _scalar(key_node, loader, path) if scalar else None
            except _Refused as exc:  # a tag refused: said once, as such
                out.problems.append(exc.problem)
                continue
            if not isinstance(key, str):
                out.problems.append(YamlProblem(line, f"keys must be strings, got {key!r}"))
                continue
            if key in first_line:
                first = first_line[key]
                message = f"{_where((*path, key))}duplicate key (first at line {first})"
                out.problems.append(YamlProblem(line, message))
                continue
            first_line[key] = line
            out.lines[(*path, key)] = line
            result[key] = builder.build(value_node, (*path, key))
        return result
    items = []
    for index, item in enumerate(node.value):
        out.lines[(*path, index)] = item.start_mark.line + 1
        items.append(builder.build(item, (*path, index)))
    return items


def _flatten(node: yaml.MappingNode, path: Path_, loader: yaml.SafeLoader) -> None:
    """Resolve the `<<` merge keys (a merged value must be a mapping, or a list of them)."""
    try:
        loader.flatten_mapping(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.context_mark or node.start_mark  # the mapping's, not the merged value's
        problem = f"{_where(path)}{exc.problem or 'a merge key (<<) that cannot be merged'}"
        raise _Refused(YamlProblem(mark.line + 1, problem)) from None


def _scalar(node: yaml.Node, loader: yaml.SafeLoader, path: Path_) -> Any:
    assert isinstance(node, yaml.ScalarNode)
    expected = _SCALAR_TAGS.get(node.tag)
    if expected is None:
        raise _Refused(_unsupported(node, path))
    if node.tag == _TIMESTAMP_TAG:
        return node.value  # dates stay text: "2008-07" and "2008-07-01" alike
    if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
        return node.value  # yes/no/on/off are words here, not booleans
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, LookupError):  # `!!int abc`, `!!float ""`; an int of 5,000 digits
        shown = node.value if len(node.value) <= 40 else f"{node.value[:40]}..."
        message = f"{_where(path)}{shown!r} is not {expected} ({_short(node.tag)})"
        raise _Refused(YamlProblem(node.start_mark.line + 1, message)) from None


def _unsupported(node: yaml.Node, path: Path_) -> YamlProblem:
    """A tag other than plain data's: said with the tag as the file writes it."""
    line = node.start_mark.line + 1
    return YamlProblem(line, f"{_where(path)}unsupported YAML tag {_short(node.tag)!r}")


def _short(tag: str) -> str:
    return f"!!{tag.removeprefix(_YAML_TAG)}" if tag.startswith(_YAML_TAG) else tag


def _where(path: Path_) -> str:
    return f"{format_loc(path)}: " if path else ""


def format_loc(loc: Path_) -> str:
    """A path as messages name it: `send.encryption.content`, `correspondents[0].tool`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part:
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else part
    return out
