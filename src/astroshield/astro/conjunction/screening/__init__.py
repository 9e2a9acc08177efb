"""Catalog conjunction screening: all-vs-all and one-vs-all over a time window.

Pipeline (each stage only narrows what the next one sees):

1. Radial shells (:func:`orbit_shells`, in :mod:`.shells`): perigee/apogee radii of SGP4's
   own mean elements at both ends of the window, padded for the periodic terms and the
   threshold. One-vs-all drops every object whose shell misses the primary's before
   propagating it.
2. to 6. Per time slab (:func:`screen_work_unit`, in :mod:`.algorithm`): SGP4 at coarse
   knots, Hermite states and a k-d tree per sub-interval (:mod:`.filters`), a tangent-line
   test per candidate pair, bisection of the interpolated range rate, and TCA refinement
   with real SGP4 calls.

An event is an interior local minimum of the separation (range rate going from negative to
non-negative) inside ``(start, start + duration)`` with miss distance ≤ the threshold, or an
approach cut off by the window (:mod:`.edges`): within the threshold at the end and still
closing (``edge="end"``), or within it at the start and already receding (``edge="start"``).
An edge event's TCA and miss are the values at the edge; its true minimum lies outside the
window, so screen a window that covers it to learn the real TCA and miss. Objects that stay
exactly together (identical element sets, e.g. docked modules) have zero range rate
throughout and therefore no events.

Work units are time slabs. :func:`screen_work_unit` is a pure function of a picklable
:class:`WorkUnit` (element sets, window, threshold), so :func:`screen_catalog` (in
:mod:`.catalog`) runs the units in a local process pool (:mod:`.local`) or on a Dask cluster
(:mod:`.dask_cluster`; ``screen_catalog(..., scheduler=ADDRESS)``, ``astroshield screen
--scheduler tcp://host:port``). The slab layout depends only on the window, never on the
worker count, so the output is identical for any ``workers`` and on a cluster.
``distributed`` is imported only on the cluster path. :mod:`.writers` saves events as CSV
or JSON.
"""

from astroshield.astro.conjunction.screening.algorithm import plan_work_units, screen_work_unit
from astroshield.astro.conjunction.screening.catalog import screen_catalog
from astroshield.astro.conjunction.screening.dask_cluster import (
    SchedulerUnreachableError,
    WorkUnitFailedError,
)
from astroshield.astro.conjunction.screening.shells import orbit_shells
from astroshield.astro.conjunction.screening.types import (
    ConjunctionEvent,
    ScreeningResult,
    ScreeningStats,
    SkippedObject,
    UnitResult,
    WindowEdge,
    WorkUnit,
)
from astroshield.astro.conjunction.screening.writers import (
    CSV_HEADER,
    write_events_csv,
    write_events_json,
)

__all__ = [
    "CSV_HEADER",
    "ConjunctionEvent",
    "SchedulerUnreachableError",
    "ScreeningResult",
    "ScreeningStats",
    "SkippedObject",
    "UnitResult",
    "WindowEdge",
    "WorkUnit",
    "WorkUnitFailedError",
    "orbit_shells",
    "plan_work_units",
    "screen_catalog",
    "screen_work_unit",
    "write_events_csv",
    "write_events_json",
]
