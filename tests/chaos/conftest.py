"""The chaos suite: faults struck at the real service while clients keep writing.

Every test is marked ``chaos`` (``make chaos``, and in CI with the rest), bounded well
under a minute, and prints its figures with ``-s``."""

from __future__ import annotations

import pytest

from tests.chaos.scenarios import ChaosRow
from tests.support.databases import is_postgres

# A generous bound on the time to recover: measured and printed, not a performance claim.
# After a SIGKILL it includes starting the process again, 10-30 s on a loaded 2-core box.
RECOVERY_BOUND_S = 60.0


def needs_postgres(database_url: str, why: str) -> None:
    if not is_postgres(database_url):
        pytest.skip(f"PostgreSQL only: {why}")


def assert_survived(row: ChaosRow, *, answers_dropped_allowed: bool = False) -> None:
    """Nothing acknowledged was lost or stored twice; every answer was 2xx or a 503 with
    Retry-After; service came back within the bound."""
    row.show()
    assert (row.lost, row.duplicated) == (0, 0)
    assert row.unexpected == []
    assert row.server_errors == 0
    if not answers_dropped_allowed:
        assert row.no_answer == 0, f"no answer while the replica was up: {row.dropped}"
    assert row.recovery_s is not None and row.recovery_s < RECOVERY_BOUND_S
