"""Run work units on a Dask cluster (``distributed`` is imported only when this path runs).

The catalog is scattered to every worker once, one task per unit carries no elements, and
results are put back in unit order, so the output is identical to a local run.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from astroshield.astro.conjunction.screening.algorithm import screen_work_unit
from astroshield.astro.conjunction.screening.types import (
    ProgressCallback,
    UnitResult,
    UnitRuns,
    WorkUnit,
)
from astroshield.astro.dynamics.elements import ElementSet

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["SchedulerUnreachableError", "WorkUnitFailedError", "run_units_on_cluster"]


class SchedulerUnreachableError(ConnectionError):
    """The Dask scheduler did not answer within the connection timeout."""


class WorkUnitFailedError(RuntimeError):
    """A work unit raised on the Dask cluster, or the workers running it died."""

    def __init__(self, index: int, unit: WorkUnit, cause: BaseException) -> None:
        super().__init__(
            f"work unit {index} (seconds {unit.slab_start_s:g} to {unit.slab_stop_s:g} after "
            f"{unit.start.isoformat()}) failed on the Dask cluster: "
            f"{type(cause).__name__}: {cause}"
        )
        self.index = index
        self.slab_start_s, self.slab_stop_s = unit.slab_start_s, unit.slab_stop_s


def _screen_with_elements(unit: WorkUnit, elements: tuple[ElementSet, ...]) -> UnitResult:
    return screen_work_unit(replace(unit, elements=elements))


def _connect(address: str, timeout_s: float) -> Client:
    from distributed import Client

    try:
        return Client(address, timeout=timeout_s, set_as_default=False)  # type: ignore[no-untyped-call]
    except ValueError as error:
        raise SchedulerUnreachableError(
            f"{address!r} is not a Dask scheduler address ({error})"
        ) from error
    except (OSError, TimeoutError) as error:
        raise SchedulerUnreachableError(
            f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s ({error})"
        ) from error


def _submit(client: Client, units: list[WorkUnit]) -> list[Future[UnitResult]]:
    """One task per unit; as with the process pool, the catalog travels to each worker once
    and the tasks carry none."""
    # scatter() of a bare tuple would make every element set its own key; in a one-item list
    # the tuple is one key. hash=False gives a key of our own, so releasing it never touches
    # data the caller scattered on a client they passed in.
    [shared] = client.scatter([units[0].elements], broadcast=True, hash=False)  # type: ignore[no-untyped-call]
    run = uuid.uuid4().hex
    return [
        client.submit(
            _screen_with_elements,
            replace(unit, elements=()),
            shared,
            key=f"screen-unit-{index}-{run}",
        )
        for index, unit in enumerate(units)
    ]


def _collect(
    client: Client,
    units: list[WorkUnit],
    futures: list[Future[UnitResult]],
    progress: ProgressCallback | None,
) -> list[UnitResult]:
    """Results in unit order as the futures finish; a failed unit raises, named."""
    from distributed import as_completed as completed_futures

    results: list[UnitResult | None] = [None] * len(units)
    index_of = {future.key: index for index, future in enumerate(futures)}
    # Without loop= as_completed looks for a default client, and ours is not one.
    finished = completed_futures(futures, loop=client.loop)  # type: ignore[no-untyped-call]
    for done, future in enumerate(finished, start=1):
        index = index_of[future.key]
        try:
            results[index] = future.result()
        except Exception as error:
            raise WorkUnitFailedError(index, units[index], error) from error
        if progress:
            progress(done, len(units))
    return [item for item in results if item is not None]


def run_units_on_cluster(
    units: list[WorkUnit],
    scheduler: str | Client,
    timeout_s: float,
    progress: ProgressCallback | None,
) -> UnitRuns:
    """The units' results in unit order, computed on a Dask cluster, and its thread count.

    A client created from an address is closed afterwards; a client passed in is left open,
    with none of this run's tasks left on it.
    """
    if not isinstance(scheduler, str) and scheduler.asynchronous:
        raise ValueError("pass a synchronous distributed.Client (or an address), not an async one")
    client = _connect(scheduler, timeout_s) if isinstance(scheduler, str) else scheduler
    futures: list[Future[UnitResult]] = []
    try:
        threads = sum(client.nthreads().values())  # type: ignore[no-untyped-call]
        if progress:
            progress(0, len(units))
        futures = _submit(client, units)
        return UnitRuns(_collect(client, units, futures, progress), threads)
    except BaseException:
        # A cluster we were given outlives this call: leave no work of ours running on it.
        if futures and client is scheduler:
            client.cancel(futures)  # type: ignore[no-untyped-call]
        raise
    finally:
        if client is not scheduler:
            client.close()  # type: ignore[no-untyped-call]
