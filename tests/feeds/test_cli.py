"""``astroshield catalog refresh``: a summary on success; one line and exit 2 on error."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.config import get_settings
from tests.feeds.providers import CelesTrak, FakeClock, SpaceTrack, running, sample_rows
from tests.support.servers import free_port


@pytest.fixture
def cli_env(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    monkeypatch.setenv("ASTROSHIELD_FEEDS_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("ASTROSHIELD_FEEDS_RETRY_BASE_S", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["catalog", "refresh", *args])
    return result.exit_code, result.stdout, result.stderr


async def test_refresh_from_celestrak_prints_a_summary(
    cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = CelesTrak(groups={"stations&json": json.dumps(sample_rows())})
    async with running(provider) as base:
        monkeypatch.setenv("ASTROSHIELD_CELESTRAK_URL", base)
        get_settings.cache_clear()
        code, out, _ = await asyncio.to_thread(
            invoke, "--source", "celestrak", "--group", "stations"
        )
        again, out_again, _ = await asyncio.to_thread(
            invoke, "--source", "celestrak", "--group", "stations"
        )
    assert code == 0, out
    assert re.search(rf"inserted\W+{len(sample_rows())}\b", out), out
    assert re.search(r"requests made\W+1\b", out)
    assert again == 0 and len(provider.log) == 1  # the second command sent nothing
    assert "queries not repeated" in out_again


async def test_unreachable_server_is_one_line_and_exit_2(
    cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASTROSHIELD_CELESTRAK_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    code, _, err = await asyncio.to_thread(invoke, "--source", "celestrak", "--group", "active")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("astroshield: error: celestrak: no answer")
    assert "Traceback" not in err


async def test_wrong_spacetrack_password_is_one_line_without_the_password(
    cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = SpaceTrack(FakeClock())
    async with running(provider) as base:
        monkeypatch.setenv("ASTROSHIELD_SPACETRACK_URL", base)
        monkeypatch.setenv("ASTROSHIELD_SPACETRACK_IDENTITY", provider.identity)
        monkeypatch.setenv("ASTROSHIELD_SPACETRACK_PASSWORD", "s3cret-wrong-password")
        get_settings.cache_clear()
        code, out, err = await asyncio.to_thread(
            invoke, "--source", "spacetrack", "--catalog-number", "25544"
        )
    assert code == 2
    assert "credentials" in err or "login refused" in err
    assert "s3cret" not in out + err


def test_bad_catalog_number_is_one_line(cli_env: None) -> None:
    code, _, err = invoke("--source", "spacetrack", "--catalog-number", "I0001")
    assert code == 2 and err.startswith("astroshield: error: --catalog-number")
