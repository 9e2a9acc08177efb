"""Run work units in this process or in a local process pool."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace

from astroshield.astro.conjunction.screening.algorithm import screen_work_unit
from astroshield.astro.conjunction.screening.types import ProgressCallback, UnitResult, WorkUnit
from astroshield.astro.dynamics.elements import ElementSet

__all__ = ["run_units"]

# The catalog of the pool's worker process, set once by the pool initialiser.
_WORKER_ELEMENTS: list[tuple[ElementSet, ...]] = []


def _init_worker(elements: tuple[ElementSet, ...]) -> None:
    _WORKER_ELEMENTS[:] = [elements]


def _screen_in_worker(unit: WorkUnit) -> UnitResult:
    return screen_work_unit(replace(unit, elements=_WORKER_ELEMENTS[0]))


def run_units(
    units: list[WorkUnit], workers: int, progress: ProgressCallback | None
) -> list[UnitResult]:
    """The units' results in unit order, computed by up to ``workers`` processes."""
    if progress:
        progress(0, len(units))
    if workers <= 1 or len(units) <= 1:
        return _run_in_process(units, progress)
    results: list[UnitResult | None] = [None] * len(units)
    # The catalog goes to each worker once (inherited on fork, pickled once on spawn);
    # the submitted units carry no elements. Pickling 26,834 element sets per unit
    # would cost ~0.3 s of CPU each, on the same two cores that do the screening.
    shared = units[0].elements
    with ProcessPoolExecutor(
        max_workers=min(workers, len(units)),
        initializer=_init_worker,
        initargs=(shared,),
    ) as pool:
        futures = {
            pool.submit(_screen_in_worker, replace(unit, elements=())): index
            for index, unit in enumerate(units)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if progress:
                progress(done, len(units))
    return [item for item in results if item is not None]


def _run_in_process(units: list[WorkUnit], progress: ProgressCallback | None) -> list[UnitResult]:
    results = []
    for index, unit in enumerate(units):
        results.append(screen_work_unit(unit))
        if progress:
            progress(index + 1, len(units))
    return results
