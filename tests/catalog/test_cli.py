"""``astroshield catalog import|show`` through typer's CliRunner on a scratch database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from astroshield.catalog.models import ElementSetRecord
from astroshield.cli import app as cli
from astroshield.config import get_settings
from astroshield.db import create_unpooled_engine
from tests.catalog.conftest import CRYOSAT_TLE, csv_head, tle_head
from tests.conftest import settings_for


@pytest.fixture
def cli_database(scratch_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    get_settings.cache_clear()
    yield scratch_database_url
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _counts(output: str, file_name: str) -> list[str]:
    """The inserted / already present / rejected cells of a file's row of the report."""
    row = next(line for line in output.splitlines() if line.startswith(f"│ {file_name}"))
    return [cell.strip() for cell in row.split("│")[2:5]]


async def test_import_several_files_then_show(cli_database: str, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.csv"
    snapshot.write_text(csv_head(200), encoding="utf-8", newline="")
    history = tmp_path / "cryosat.tle"
    history.write_text(tle_head(CRYOSAT_TLE, 30), encoding="utf-8")

    code, output = await asyncio.to_thread(_run, "catalog", "import", str(snapshot), str(history))
    assert code == 0, output
    assert _counts(output, "snapshot.csv") == ["200", "0", "0"]
    assert _counts(output, "cryosat.tle") == ["30", "0", "0"]

    code, output = await asyncio.to_thread(_run, "catalog", "import", str(history))
    assert code == 0 and _counts(output, "cryosat.tle") == ["0", "30", "0"]

    code, output = await asyncio.to_thread(_run, "catalog", "show", "36508")
    assert code == 0, output
    assert "element sets stored" in output and "│ 30 " in output
    assert "1 36508U 10013A" in output  # the newest set as a TLE

    code, output = await asyncio.to_thread(_run, "catalog", "show", "5")
    assert code == 0 and "VANGUARD 1" in output and "1958-002B" in output
    code, output = await asyncio.to_thread(_run, "catalog", "show", "77777")
    assert code == 1 and "not found" in output


async def test_import_skips_unreadable_sets_with_a_warning_and_keeps_the_rest(
    cli_database: str, tmp_path: Path
) -> None:
    lines = tle_head(CRYOSAT_TLE, 5).splitlines()
    lines[2] = lines[2][:20] + "X" + lines[2][21:]  # set 2, line 1: epoch column broken
    broken = tmp_path / "broken.tle"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, output = await asyncio.to_thread(_run, "catalog", "import", str(broken))
    assert code == 0
    assert _counts(output, "broken.tle") == ["4", "0", "1"]
    assert f"astroshield: warning: {broken}:3: checksum: " in output
    assert f"astroshield: warning: {broken}: 1 of 5 element sets skipped" in output


async def test_a_bad_file_among_several_stores_nothing(cli_database: str, tmp_path: Path) -> None:
    good = tmp_path / "good.tle"
    good.write_text(tle_head(CRYOSAT_TLE, 5), encoding="utf-8")
    lines = tle_head(CRYOSAT_TLE, 3).splitlines()
    lines[3] = lines[3][:8] + "200.0000" + lines[3][16:68]
    lines[3] += str(sum(int(c) if c.isdigit() else c == "-" for c in lines[3]) % 10)
    strict_bad = tmp_path / "inclined.tle"
    strict_bad.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["catalog", "import", str(good), str(strict_bad), "--strict"]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"astroshield: error: {strict_bad}:4: inclination: 200.0 deg is outside 0..180 "
        "(TLE line 2, columns 9-16)\n"
    )
    code, output = await asyncio.to_thread(_run, "catalog", "show", "36508")
    assert code == 1 and "not found" in output  # good.tle, read first, was not stored either


async def test_import_is_a_public_platform_import_by_the_cli(
    cli_database: str, tmp_path: Path
) -> None:
    history = tmp_path / "cryosat.tle"
    history.write_text(tle_head(CRYOSAT_TLE, 3), encoding="utf-8")
    snapshot = tmp_path / "snapshot.csv"
    snapshot.write_text(csv_head(2), encoding="utf-8", newline="")
    assert (await asyncio.to_thread(_run, "catalog", "import", str(history)))[0] == 0
    code, output = await asyncio.to_thread(_run, "catalog", "import", "--feed", str(snapshot))
    assert code == 0, output

    code, output = await asyncio.to_thread(_run, "catalog", "show", "36508")
    assert code == 0 and "cryosat.tle (platform)" in output
    engine = create_unpooled_engine(settings_for(cli_database))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(
                    ElementSetRecord.source,
                    ElementSetRecord.provenance,
                    ElementSetRecord.organisation_id,
                    ElementSetRecord.uploaded_by,
                ).distinct()
            )
            stored = set(rows.all())
    finally:
        await engine.dispose()
    assert stored == {
        ("cryosat.tle", "platform", None, "cli"),
        ("snapshot.csv", "feed", None, "cli"),
    }
