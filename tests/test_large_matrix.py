"""The large-attachment scenario as the matrix runs it (issue 21): written to a file a chunk
at a time with the bytes the in-memory scenario has, and compared with what a receiver gave
back in bounded memory (by digest, else by a skeleton and the series decoded in chunks)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from conformance.core.spool import Spool
from conformance.matrix.exchange_large import compare_large
from conformance.scenarios import build_entity
from conformance.scenarios.large import (
    LargeEntity,
    large_description,
    large_scenario,
    write_large_entity,
)

# Over exchange_large._IN_MEMORY: the comparison cannot fall back on the scenario in memory.
BIG = 9 * 1024 * 1024


@pytest.mark.parametrize("size", [0, 139, 140, 141, 57 * 4 * 1024 * 3 + 5, 700_001])
@pytest.mark.parametrize("function", ["sign", "sign-encrypt", "attachments"])
def test_the_entity_is_written_as_the_scenario_builds_it(size: int, function: str) -> None:
    out = io.BytesIO()
    written = write_large_entity(function, size, out)  # type: ignore[arg-type]
    assert out.getvalue() == build_entity(large_scenario(function, size))  # type: ignore[arg-type]
    assert written.size == len(out.getvalue())
    assert str(size) in large_description(function, size)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def big() -> tuple[bytes, LargeEntity]:
    out = io.BytesIO()
    written = write_large_entity("sign", BIG, out)
    return out.getvalue(), written


def _compare(received: bytes, entity: LargeEntity) -> list[str]:
    with Spool() as spool:
        spool.write(received)
        return compare_large("sign", BIG, entity, spool.seal().whole())


def _series_body(entity: bytes) -> tuple[int, int]:
    start = entity.rindex(b"Content-Disposition: attachment")
    start = entity.index(b"\r\n\r\n", start) + 4
    return start, entity.rindex(b"\r\n--")


def test_the_entity_as_composed_is_intact(big: tuple[bytes, LargeEntity]) -> None:
    assert _compare(*big) == []


def test_a_series_rewrapped_at_another_line_length_is_intact(
    big: tuple[bytes, LargeEntity],
) -> None:
    entity, written = big
    start, end = _series_body(entity)
    text = entity[start:end].replace(b"\r\n", b"")
    rewrapped = b"\r\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    received = entity[:start] + rewrapped + entity[end:]
    assert received != entity
    assert _compare(received, written) == []


def test_a_changed_byte_of_the_series_is_found(big: tuple[bytes, LargeEntity]) -> None:
    entity, written = big
    start, end = _series_body(entity)
    middle = (start + end) // 2
    middle += entity[middle : middle + 1] == b"\r"  # not a line break
    flipped = b"A" if entity[middle : middle + 1] != b"A" else b"B"
    received = entity[:middle] + flipped + entity[middle + 1 :]
    [reason] = _compare(received, written)
    assert reason.startswith("the series:") and "expected" in reason


def test_a_truncated_series_is_found(big: tuple[bytes, LargeEntity]) -> None:
    entity, written = big
    start, end = _series_body(entity)
    received = entity[: start + (end - start) // 2] + entity[end:]
    assert any("the series" in r for r in _compare(received, written))


def test_a_changed_letter_is_found_beside_an_intact_series(
    big: tuple[bytes, LargeEntity],
) -> None:
    entity, written = big
    letter = entity.index(b"Content-Type: text/plain")
    at = entity.index(b"\r\n\r\n", letter) + 4
    received = entity[:at] + b"X" + entity[at + 1 :]
    reasons = _compare(received, written)
    assert reasons and not any("the series" in r for r in reasons)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_large_cells_with_a_real_engine_on_either_side(tmp_path: Path) -> None:
    from conformance.cli import main

    out = tmp_path / "run"
    args = ["run", "--large-attachment", str(BIG), "--function", "sign-encrypt", "-q", "-j", "1"]
    for agent in ("reference", "openssl"):
        args += ["--sender", agent, "--receiver", agent]
    assert main([*args, "--out", str(out)]) == 0
    cells = json.loads((out / "results.json").read_text())["cells"]
    verdicts = {(c["sender"], c["receiver"]): c["verdict"] for c in cells}
    assert set(verdicts.values()) == {"pass"}, cells
    assert len(verdicts) == 4
    notes = (out / "evidence" / "openssl" / "reference" / "sign-encrypt" / "large.txt").read_text()
    assert "openssl takes the content whole" in notes
    assert not [p for p in out.rglob("*.eml") if p.stat().st_size > 65536]
