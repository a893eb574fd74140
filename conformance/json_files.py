"""A user's JSON file read one way: what cannot be read, is not UTF-8 or is not JSON is a
UserError naming the file (and the line), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.errors import UserError


def load(path: Path) -> Any:
    """The JSON value the file holds."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a directory, not a JSON file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise UserError(f"{path}: not JSON this program reads: nested too deep") from None


def load_object(path: Path) -> dict[str, Any]:
    """The JSON object the file holds (a file of another JSON value is a UserError)."""
    data = load(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object")
    return data
