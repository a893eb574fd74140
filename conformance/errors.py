"""Errors a user can act on, as opposed to bugs.

Every command catches `UserError` and prints its message (which names the
file, line, field or MIME part at fault) without a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a missing prerequisite; the message says what and where."""

    exit_code = 2


class MissingComponent(UserError):
    """A real component (SoftHSM, cmsutil, gpgsm, chromium) is not installed."""

    exit_code = 3


def os_reason(exc: OSError) -> str:
    """The OS's reason and the file it concerns ("FILE: reason"), for a UserError about a
    path that could not be written or read."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"
