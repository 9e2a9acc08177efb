"""SIGKILL of a replica while clients upload CDMs: after it is started again, every
acknowledged CDM is stored once and no conjunction event is opened twice."""

from __future__ import annotations

import pytest

from tests.chaos.conftest import assert_survived
from tests.chaos.scenarios import sigkill_during_cdm_upload

pytestmark = pytest.mark.chaos


async def test_sigkill_during_cdm_upload_loses_and_duplicates_nothing(
    scratch_database_url: str,
) -> None:
    row = await sigkill_during_cdm_upload(scratch_database_url, cdms=24, clients=3)
    # The replica itself died: requests in flight then get no answer, and clients retry.
    assert_survived(row, answers_dropped_allowed=True)
    assert row.acknowledged == 24
