"""docs/engine.md gives its speed figures as measurements: each table of them is introduced
by when it was measured (or that it was not recorded) and the command, never as "now"."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "engine.md"


def _speed_blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Speed") :]
    return [" ".join(b.split()) for b in section.split("\n\n")]


def test_every_table_of_figures_says_when_and_how_it_was_measured() -> None:
    blocks = _speed_blocks()
    tables = [i for i, b in enumerate(blocks) if b.startswith("|") and "exchanges/s" in b]
    assert len(tables) >= 2  # the older figures and today's
    for i in tables:
        intro = blocks[i - 1]
        assert intro.startswith("Measured"), intro
        assert re.search(r"\d{4}-\d\d-\d\d|not recorded", intro), intro
        assert "bench" in intro, intro
        assert "(now)" not in blocks[i]
