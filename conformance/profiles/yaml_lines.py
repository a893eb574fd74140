"""Parse YAML into plain data plus the line of every key and item.

PyYAML's `safe_load` loses positions, so error messages could not name a
line; its node API (`compose`) keeps them. We build the data from the nodes
ourselves, which also lets us refuse duplicate keys (PyYAML silently keeps
the last one) and keep YAML 1.1 words such as `yes`/`no`/`on` as strings
(only `true`/`false` are booleans), so that `interoperability: yes` means
the word the comparison table prints rather than a surprise boolean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

# libyaml's parser when present: about ten times faster than the pure-Python one.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


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
        parsed.data = _build(node, (), parsed, loader)
    return parsed


def _build(node: yaml.Node, path: Path_, out: Parsed, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        loader.flatten_mapping(node)  # resolves `<<` merge keys
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = _scalar(key_node, loader) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                out.problems.append(YamlProblem(line, f"keys must be strings, got {key!r}"))
                continue
            if key in first_line:
                where = ".".join(str(p) for p in (*path, key))
                out.problems.append(
                    YamlProblem(line, f"{where}: duplicate key (first at line {first_line[key]})")
                )
                continue
            first_line[key] = line
            out.lines[(*path, key)] = line
            result[key] = _build(value_node, (*path, key), out, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            out.lines[(*path, index)] = item.start_mark.line + 1
            items.append(_build(item, (*path, index), out, loader))
        return items
    return _scalar(node, loader)


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == _TIMESTAMP_TAG:
        return node.value  # dates stay text: "2008-07" and "2008-07-01" alike
    if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
        return node.value  # yes/no/on/off are words here, not booleans
    return loader.construct_object(node, deep=True)
