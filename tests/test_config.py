from __future__ import annotations

import pytest
from pydantic import ValidationError

from astroshield.config import Settings


@pytest.mark.parametrize("secret", ["changeme", "dev-insecure-secret", "", "short-but-real"])
def test_prod_refuses_placeholder_or_short_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(profile="prod", secret_key=secret)


def test_prod_accepts_a_real_secret_and_dev_the_placeholder() -> None:
    assert Settings(profile="prod", secret_key="x" * 48).profile == "prod"
    assert Settings(profile="dev").secret_key.get_secret_value() == "dev-insecure-secret"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTROSHIELD_DB_POOL_SIZE", "25")
    monkeypatch.setenv("ASTROSHIELD_MAX_REQUEST_BODY_BYTES", "2048")
    settings = Settings()
    assert settings.db_pool_size == 25 and settings.max_request_body_bytes == 2048
    monkeypatch.setenv("ASTROSHIELD_DB_POOL_SIZE", "0")
    with pytest.raises(ValidationError, match="db_pool_size"):
        Settings()


def test_refresh_tokens_must_outlive_access_tokens() -> None:
    # A login's revocation lives on its refresh-token rows; once those are purged an
    # access token that outlived them could no longer be refused by login.
    with pytest.raises(ValidationError, match="refresh_token_ttl_s"):
        Settings(access_token_ttl_s=3600, refresh_token_ttl_s=600)
    assert Settings(access_token_ttl_s=600, refresh_token_ttl_s=600).refresh_token_ttl_s == 600
