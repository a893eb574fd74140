"""`token init --pin`: a PIN SoftHSM would refuse is a usage error naming its rule,
before SoftHSM is called (and before any token directory is touched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main


@pytest.mark.parametrize("pin", ["12", "", "9" * 256])
def test_a_pin_softhsm_refuses_is_a_usage_error(
    pin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        main(["token", "init", "--pin", pin])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --pin: SoftHSM takes a PIN of 4 to 255 characters, not {len(pin)}" in err
    assert not (tmp_path / "softhsm").exists()


def test_the_rule_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "init", "--help"])
    assert "user PIN, 4 to 255 characters" in " ".join(capsys.readouterr().out.split())
