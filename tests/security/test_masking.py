"""Secrets and PII never reach log output: direct, in exception messages, nested."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import structlog

from astroshield.config import Settings
from astroshield.observability.logging import configure_logging
from astroshield.security.masking import REDACTED, mask

PASSWORD = "Tr0ub4dor&3-horse-battery"
JWT = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwicm9sZSI6ImFkbWluIn0."
    "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)
EMAIL = "grace.hopper@navy.example.mil"
PHONE = "+1 202 555 0143"
SECRETS = (PASSWORD, JWT, EMAIL, PHONE, "hunter2", "AKIAEXAMPLEKEY")


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    configure_logging(Settings(profile="prod", secret_key="x" * 40, log_level="debug"))
    return capsys


def _output(capture: pytest.CaptureFixture[str]) -> str:
    captured = capture.readouterr()
    return captured.out + captured.err


def test_log_call_arguments_are_masked(json_logs: pytest.CaptureFixture[str]) -> None:
    log = structlog.get_logger("probe")
    log.info(
        "login attempt",
        password=PASSWORD,
        authorization=f"Bearer {JWT}",
        note=f"user {EMAIL} called from {PHONE}",
        request={
            "headers": {"cookie": "session=abc", "x-custom": f"Bearer {JWT}"},
            "body": {"user": {"contact": {"email": EMAIL, "deep": [f"token {JWT}"]}}},
        },
        dsn="postgresql://admin:hunter2@db.internal/prod",
        aws_api_key="AKIAEXAMPLEKEY",
    )
    output = _output(json_logs)
    line = json.loads(output.strip().splitlines()[-1])
    assert line["event"] == "login attempt" and line["level"] == "info"
    for secret in SECRETS:
        assert secret not in output, secret
    assert line["password"] == REDACTED
    assert line["dsn"] == f"postgresql://{REDACTED}@db.internal/prod"


def test_exception_messages_are_masked(json_logs: pytest.CaptureFixture[str]) -> None:
    log = structlog.get_logger("probe")
    try:
        raise ValueError(f"cannot log in {EMAIL} with password={PASSWORD!r} token {JWT}")
    except ValueError:
        log.exception("failed")
    output = _output(json_logs)
    assert "ValueError" in output
    for secret in (EMAIL, JWT):
        assert secret not in output


def test_standard_library_logs_are_masked(json_logs: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("some.library").warning("sending %s to %s", f"Bearer {JWT}", EMAIL)
    output = _output(json_logs)
    assert "some.library" in output
    assert JWT not in output and EMAIL not in output


def test_mask_keeps_what_is_not_sensitive() -> None:
    value = {"spacecraft_id": "0d2f", "count": 3, "items": [1, 2.5, None], "mode": "safe_mode"}
    assert mask(value) == value


def test_rotating_json_log_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "logs" / "astroshield.jsonl"
    configure_logging(
        Settings(profile="dev", log_file=log_file, log_file_max_bytes=2048, log_file_backups=2)
    )
    log = structlog.get_logger("rotation")
    for n in range(60):
        log.info("line", n=n, email=EMAIL)
    files = sorted(log_file.parent.iterdir())
    assert [f.name for f in files] == [
        "astroshield.jsonl",
        "astroshield.jsonl.1",
        "astroshield.jsonl.2",
    ]
    for path in files:
        for line in path.read_text().splitlines():
            assert json.loads(line)["event"] == "line"
        assert EMAIL not in path.read_text()
    configure_logging(Settings(profile="dev"))  # closes the file handler again
