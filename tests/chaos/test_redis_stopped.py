"""Redis killed under logins and reads: answers are 2xx (the app degrades to local
state) or 503 with Retry-After, never 500; once Redis is back, state is shared again."""

from __future__ import annotations

import pytest

from tests.chaos.conftest import assert_survived
from tests.chaos.scenarios import redis_stopped
from tests.support.faults import REDIS_SERVER

pytestmark = pytest.mark.chaos


async def test_redis_stopped_mid_traffic(scratch_database_url: str) -> None:
    if not REDIS_SERVER.exists():
        pytest.skip(f"{REDIS_SERVER} is missing")
    row = await redis_stopped(scratch_database_url)
    assert_survived(row)
    assert row.acknowledged > 0
