"""The note a reason carries when what was observed did not happen again on replay.

Apart from conformance.search, which loads hypothesis: the report reads the note off a
reason (report.views) and must not load hypothesis to do so.
"""

from __future__ import annotations

from typing import overload

# Said of a failure the search found that did not happen again when replayed.
NOT_REPEATED = "it did not happen again when the same example was replayed"


@overload
def as_observed(reason: str, repeated: bool) -> str: ...
@overload
def as_observed(reason: str | None, repeated: bool) -> str | None: ...
def as_observed(reason: str | None, repeated: bool) -> str | None:
    """A failure's reason as the cell reports it: what was observed stands, and says so
    when it did not happen again on replay (NOT_REPEATED)."""
    return reason if repeated else f"{reason} ({NOT_REPEATED})"


def without_note(reason: str) -> tuple[str, bool]:
    """`reason` without the note `as_observed` adds, and whether it had one."""
    note = f" ({NOT_REPEATED})"
    if reason.endswith(note):
        return reason.removesuffix(note), True
    return reason, False
