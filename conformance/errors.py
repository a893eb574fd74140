"""Errors a user can act on, as opposed to bugs.

Every command catches `UserError` and prints its message (which names the
file, line, field or MIME part at fault) without a traceback.
"""

from __future__ import annotations

from conformance.core.bilingual import Facts

# The facts an error's message says, by name, for a caller wording it in another language.


class UserError(Exception):
    """Bad input or a missing prerequisite; the message says what and where. `code` and
    `values`, when set, say the same for a report in another language (`check --lang fr`
    words those of `conformance.token.base.TokenErrorCode`)."""

    exit_code = 2
    code: str = ""
    values: Facts = ()

    def __init__(self, *args: object, code: str = "", values: Facts = ()) -> None:
        super().__init__(*args)
        self.code = code
        self.values = values


class MissingComponent(UserError):
    """A real component (SoftHSM, cmsutil, gpgsm, chromium) is not installed."""

    exit_code = 3


def os_reason(exc: OSError) -> str:
    """The OS's reason and the file it concerns ("FILE: reason"), for a UserError about a
    path that could not be written or read."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"
