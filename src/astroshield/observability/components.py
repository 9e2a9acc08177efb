"""``astroshield_component_up{component}``: whether each part the service depends on works.

Two kinds of component, one gauge:

- dependencies (the database, Redis), set from the readiness probes' verdicts
  (``health.service.check_all``), whoever runs them: ``/readyz``, ``/health`` or a scrape
  of ``/metrics``, which runs them first;
- scheduled loops of this process (retention, audit checkpoints, alert evaluation, runtime
  configuration refresh, runtime gauges), up while their task runs: a loop that ended on
  an exception no longer does its work although every request still succeeds.

A component that is not configured (no Redis URL, a schedule turned off) has no series,
rather than a 0 that would page someone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Final

from prometheus_client import Gauge

COMPONENT_UP = Gauge(
    "astroshield_component_up",
    "1 when the component answers (dependencies) or runs (scheduled loops), 0 when not; "
    "no series when it is not configured.",
    ("component",),
    # With several workers the weakest view counts: one worker's failing loop shows.
    multiprocess_mode="livemin",
)

# Scheduled loops, by the task name the composition root gives them.
RETENTION: Final = "retention_scheduler"
AUDIT_CHECKPOINTS: Final = "audit_checkpoint_scheduler"
ALERT_EVALUATOR: Final = "alert_evaluator"
RUNTIME_CONFIG_REFRESH: Final = "runtime_config_refresh"
RUNTIME_GAUGES: Final = "runtime_gauges"


def record_component(component: str, up: bool | None) -> None:
    """``up`` None: not configured, the series is dropped."""
    if up is None:
        with contextlib.suppress(KeyError):  # no series yet
            COMPONENT_UP.remove(component)
        return
    COMPONENT_UP.labels(component).set(1 if up else 0)


def record_probes(statuses: Mapping[str, str]) -> None:
    """Readiness verdicts (``ok`` / ``failing`` / ``not_configured``) by component."""
    for component, status in statuses.items():
        record_component(component, None if status == "not_configured" else status == "ok")


def record_loops(loops: Mapping[str, asyncio.Task[None]]) -> None:
    """A loop is up while its task has not ended (they run until shutdown)."""
    for component, task in loops.items():
        record_component(component, not task.done())


__all__ = [
    "ALERT_EVALUATOR",
    "AUDIT_CHECKPOINTS",
    "COMPONENT_UP",
    "RETENTION",
    "RUNTIME_CONFIG_REFRESH",
    "RUNTIME_GAUGES",
    "record_component",
    "record_loops",
    "record_probes",
]
