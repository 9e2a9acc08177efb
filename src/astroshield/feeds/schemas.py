from __future__ import annotations

from pydantic import Field

from astroshield.api.schemas import ResponseModel, UTCDatetime


class FeedRunRead(ResponseModel):
    """One catalog refresh or CDM poll: when, from where, what it did, how it ended."""

    id: int
    kind: str = Field(description="refresh or cdm_poll")
    source: str = Field(description="celestrak or spacetrack")
    trigger: str = Field(description="schedule or cli")
    status: str = Field(description="running, succeeded or failed")
    started_at: UTCDatetime
    finished_at: UTCDatetime | None
    fetched: int
    inserted: int
    already_present: int
    skipped: int
    requests: int
    error: str | None
