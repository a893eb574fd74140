"""A server of a cell's world that is there but does not start (Postfix, Dovecot, slapd):
the cell is `not run`, with the server's one-line reason, as when it is not installed;
never a harness error with a traceback; and it is not started again for every cell.

The failing servers are stand-in programs the modules are pointed at, in this process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from server_support import not_run_cell, smtp_cast, stand_in, starts

from conformance.directory import slapd
from conformance.mail import dovecot, postfix
from conformance.matrix.cast import Cast
from conformance.profiles import load_profiles

SAID = "fatal: bad configuration at line 3"


@pytest.mark.skipif(postfix.missing() is not None, reason=postfix.missing() or "")
def test_a_postfix_that_does_not_start_makes_its_cells_not_run_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postfix, "POSTFIX", stand_in(tmp_path, "postfix", SAID))
    cast = smtp_cast(tmp_path)
    try:
        first = not_run_cell(cast, "sign", ("postfix",))
        started = starts(tmp_path)
        again = not_run_cell(cast, "encrypt", ("postfix",))
    finally:
        cast.close()
    why = f"postfix did not start: `postfix start` exited with status 1: {SAID}"
    for cell in (first, again):
        assert (cell["verdict"], cell["observed"]) == ("unsupported", False)
        assert cell["reason"] == f"not run: {why}"
        assert cell["not_observed"]["kind"] == "hop-missing"
        assert (cell["not_observed"]["hop"], cell["not_observed"]["detail"]) == ("postfix", why)
    assert started and starts(tmp_path) == started  # not started again for the second cell


@pytest.mark.skipif(dovecot.missing() is not None, reason=dovecot.missing() or "")
def test_a_dovecot_that_does_not_start_makes_the_smtp_cells_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dovecot, "DOVECOT", stand_in(tmp_path, "dovecot", SAID))
    cast = smtp_cast(tmp_path)
    try:
        cell = not_run_cell(cast, "sign", ())
    finally:
        cast.close()
    assert cell["reason"] == f"not run: dovecot did not start: exited with status 1: {SAID}"
    assert cell["not_observed"]["kind"] == "store-missing"


@pytest.mark.skipif(slapd.missing() is not None, reason=slapd.missing() or "")
def test_a_slapd_that_does_not_start_leaves_the_first_contact_cells_without_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slapd, "SLAPD", stand_in(tmp_path, "slapd", SAID, version_flag="-VV"))
    cast = Cast({"reference": load_profiles()["reference"]}, workdir=tmp_path)
    try:
        world = cast.world(directory=True)
        started = starts(tmp_path)
        assert cast.world(directory=True) is world  # not started again
    finally:
        cast.close()
    assert world.directory is None and started == starts(tmp_path)
    assert world.directory_missing == f"slapd did not start: exited with status 1: {SAID}"
