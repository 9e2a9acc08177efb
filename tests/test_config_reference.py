"""docs/configuration.md is the settings model's reference, regenerated when settings change."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.cli.config import REGENERATE, render_reference
from astroshield.config import Settings

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_the_committed_reference_is_what_the_generator_writes() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        f"docs/configuration.md is out of date; regenerate it: {REGENERATE}"
    )


def test_every_setting_is_listed_once_with_secrets_marked_and_their_defaults_hidden() -> None:
    text = render_reference()
    rows = re.findall(r"^\| `(ASTROSHIELD_[A-Z0-9_]+)`( \*\*secret\*\*)? \|", text, re.M)
    assert [name for name, _ in rows] == [f"ASTROSHIELD_{n.upper()}" for n in Settings.model_fields]
    secret = {name for name, marked in rows if marked}
    assert {"ASTROSHIELD_SECRET_KEY", "ASTROSHIELD_SMTP_PASSWORD", "ASTROSHIELD_PII_KEYS"} <= secret
    assert "ASTROSHIELD_DATABASE_URL" not in secret
    assert "dev-insecure-secret" not in text


def test_descriptions_come_from_fields_then_comments_then_the_name() -> None:
    text = render_reference()
    row = {
        m[0]: m[1]
        for m in re.findall(r"^\| `(ASTROSHIELD_\w+)`[^|]*\|.*\| ([^|]*) \|$", text, re.M)
    }
    assert row["ASTROSHIELD_CCDM_MAX_DAYS"] == "largest window (days) a request may ask for"
    assert row["ASTROSHIELD_LOG_FILE"] == "JSON lines, rotated by size, in addition to stdout"
    assert row["ASTROSHIELD_DB_POOL_SIZE"] == "db pool size"
    assert "| `ASTROSHIELD_PORT` | integer | `8000` | ge 1, le 65535 |" in text


def test_check_mode_tells_how_to_regenerate(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("old\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "reference", "--output", str(stale), "--check"])
    assert result.exit_code == 1 and "config reference --output" in result.output
    result = runner.invoke(cli, ["config", "reference", "--output", str(stale)])
    assert result.exit_code == 0, result.output
    assert stale.read_text(encoding="utf-8") == render_reference()
    result = runner.invoke(cli, ["config", "reference", "--output", str(stale), "--check"])
    assert result.exit_code == 0, result.output
