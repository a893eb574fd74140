"""Library logging kept off stderr: pyhanko-certvalidator's warnings, gathered per validation.

pyhanko logs a warning with a traceback when one candidate path for a CRL
issuer fails ("Path for CRL issuer ... could not be validated"), even when
another candidate then succeeds. Printed raw, it would land on an agent's
stderr among the status lines (and a fuzzed certificate makes it print on
demand). So its loggers are cut off from the root logger (no last-resort
printing) and their records are gathered for the validation in progress,
which names them in its answer when the chain fails. A rejected candidate on
the way to a valid chain is not a finding: its record is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["gathered"]

LIBRARIES = ("pyhanko_certvalidator", "pyhanko")
_records: ContextVar[list[str] | None] = ContextVar("library_log_records", default=None)


class _Gather(logging.Handler):
    """Each record's one-line message (no traceback) into the current validation's list."""

    def emit(self, record: logging.LogRecord) -> None:
        found = _records.get()
        if found is not None:
            found.append(record.getMessage().strip().splitlines()[0][:300])


def _install() -> None:
    for name in LIBRARIES:
        logger = logging.getLogger(name)
        if not any(isinstance(h, _Gather) for h in logger.handlers):
            logger.addHandler(_Gather(logging.WARNING))
        logger.propagate = False


_install()


@contextmanager
def gathered() -> Iterator[list[str]]:
    """The library warnings logged inside the block (in this context and the tasks it starts)."""
    found: list[str] = []
    token = _records.set(found)
    try:
        yield found
    finally:
        _records.reset(token)
