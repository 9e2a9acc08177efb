"""``astroshield ml models list|register|activate`` on a database of its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.config import get_settings
from astroshield.ml.adversary_encoder import MODEL_VERSION
from tests.mlops.support import second_version, sha256_of


@pytest.fixture
def cli_database(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    monkeypatch.delenv("ASTROSHIELD_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield scratch_database_url
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["ml", "models", *args])
    return result.exit_code, result.stdout, result.stderr


def _active(listing: str) -> dict[str, str]:
    return {m["name"]: m["version"] for m in json.loads(listing) if m["active"]}


async def test_list_register_activate(cli_database: str, tmp_path: Path) -> None:
    code, out, _ = await asyncio.to_thread(_run, "list", "--json")
    assert code == 0
    assert _active(out)["adversary_encoder"] == MODEL_VERSION

    new = second_version(tmp_path, "0.4.0")
    code, _, err = await asyncio.to_thread(_run, "register", str(new), "--sha256", "b" * 64)
    assert code == 2 and err.count("\n") == 1 and "differs from" in err
    code, _, err = await asyncio.to_thread(_run, "register", str(new), "--sha256", sha256_of(new))
    assert code == 0, err
    assert "registered adversary_encoder 0.4.0 (inactive)" in err
    code, _, err = await asyncio.to_thread(_run, "register", str(new))
    assert code == 2 and "already registered" in err

    code, _, err = await asyncio.to_thread(_run, "activate", "adversary_encoder", "9.9")
    assert code == 2 and err.count("\n") == 1 and "9.9" in err
    code, _, err = await asyncio.to_thread(_run, "activate", "adversary_encoder", "0.4.0")
    assert code == 0, err
    code, out, _ = await asyncio.to_thread(_run, "list", "--json")
    assert _active(out)["adversary_encoder"] == "0.4.0"
    code, out, _ = await asyncio.to_thread(_run, "list")
    assert f"* adversary_encoder 0.4.0 sha256:{sha256_of(new)[:12]}" in out
