"""Missing reference data fails a CI run and skips a local one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.shared import shared_path


def test_present_data_is_returned(tmp_path: Path) -> None:
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "cases.json").write_text("{}", encoding="utf-8")
    assert shared_path("fixtures/cases.json", root=tmp_path) == tmp_path / "fixtures/cases.json"


def test_missing_data_skips_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="is missing"):
        shared_path("fixtures/absent.json", root=tmp_path)


def test_missing_data_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: not skipping"):
        shared_path("fixtures/absent.json", root=tmp_path)
