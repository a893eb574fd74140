"""The Python names docs/profiles.md gives are importable from where it says."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "profiles.md"


def test_each_documented_function_imports_from_the_module_named_before_it() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("In Python")
    paragraph = text[start : text.index("\n\n", start)]
    module, checked = "conformance.profiles", []  # the package, until a statement says
    for token in re.findall(r"`from ([\w.]+) import [^`]*`|`(\w+)\(", paragraph):
        named, function = token
        module = named or module
        if function:
            assert hasattr(importlib.import_module(module), function), (module, function)
            checked.append(function)
    assert {"load_profiles", "load_profile", "lint"} <= set(checked)
