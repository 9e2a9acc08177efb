"""The spatial filters of a screening run: which pairs can meet within a sub-interval.

(scipy's cKDTree: 13 ms per 26,834-point step here against 38 ms for a vectorised numpy
uniform-grid hash with the same output.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from astroshield.astro.conjunction.screening.types import FloatArray, IntArray

__all__ = ["IndexPairs", "candidate_filter", "close_pairs"]

# Upper bound of |a1 - a2| for two objects: twice the surface gravity (9.8e-3 km/s²) rounded
# up. It bounds how far the relative path bends away from its tangent within a sub-interval.
_MAX_RELATIVE_ACCEL_KM_S2 = 0.02
# Speed of a LEO object at perigee is below 8 km/s; only HEO/GTO objects near perigee are
# faster and they get their own search radius (see close_pairs).
_FAST_SPEED_KM_S = 8.0


class IndexPairs(NamedTuple):
    """Object index pairs, ``first[k]`` with ``second[k]``."""

    first: IntArray
    second: IntArray


def candidate_filter(
    d: FloatArray, w: FloatArray, half: FloatArray, limit: float
) -> npt.NDArray[np.bool_]:
    """Does the relative path through (d, w) at the midpoint come within ``limit``?

    Closest point of the tangent line d + w τ for |τ| ≤ half, minus the largest bend of the
    real path over that time (A τ²/2), compared with the threshold plus margin.
    """
    ww = np.einsum("ij,ij->i", w, w)
    tau = np.where(ww > 0.0, -np.einsum("ij,ij->i", d, w) / np.where(ww > 0.0, ww, 1.0), 0.0)
    tau = np.clip(tau, -half, half)
    closest = np.linalg.norm(d + w * tau[:, None], axis=1)
    bend = 0.5 * _MAX_RELATIVE_ACCEL_KM_S2 * half * half
    return np.asarray(closest - bend <= limit)


def close_pairs(points: FloatArray, speeds: FloatArray, half: float, limit: float) -> IndexPairs:
    """Index pairs (a < b) that might come within ``limit`` in the ±``half`` s around here.

    Two objects close by at most (v_a + v_b)·half plus the bend of their relative path, so
    pairs farther apart than that are out. One k-d tree radius for everyone would have to
    use the fastest object (~10 km/s at a HEO perigee); instead the radius assumes speeds up
    to ``_FAST_SPEED_KM_S`` (all of LEO) and the few faster objects are queried separately
    with their own, larger radius. The k-d tree query is the single largest cost of a run.
    """
    bend = 0.5 * _MAX_RELATIVE_ACCEL_KM_S2 * half * half
    top = float(np.max(speeds)) if len(speeds) else 0.0
    cap = min(_FAST_SPEED_KM_S, top)
    base_radius = limit + 2.0 * cap * half + bend
    tree = cKDTree(points, balanced_tree=False, compact_nodes=False)
    found = tree.query_pairs(base_radius, output_type="ndarray").astype(np.int64)
    first, second = found[:, 0], found[:, 1]
    fast = np.flatnonzero(speeds > cap)
    if len(fast) == 0:
        return IndexPairs(first, second)
    radii = limit + (speeds[fast] + top) * half + bend
    neighbours = tree.query_ball_point(points[fast], radii, return_sorted=False)
    counts = np.array([len(item) for item in neighbours], dtype=np.int64)
    if counts.sum() == 0:
        return IndexPairs(first, second)
    query = np.repeat(fast, counts)
    other = np.concatenate([np.asarray(item, dtype=np.int64) for item in neighbours])
    gap = points[other] - points[query]
    is_fast = speeds[other] > cap
    # Drop self-matches, pairs query_pairs already returned, and the second copy of
    # fast-fast pairs (each end of those finds the other).
    extra = (
        (other != query)
        & (np.einsum("ij,ij->i", gap, gap) > base_radius * base_radius)
        & (~is_fast | (query < other))
    )
    query, other = query[extra], other[extra]
    return IndexPairs(
        np.concatenate([first, np.minimum(query, other)]),
        np.concatenate([second, np.maximum(query, other)]),
    )
