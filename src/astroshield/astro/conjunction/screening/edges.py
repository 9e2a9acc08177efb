"""Approaches cut off by the window: the pair is within the threshold at a window edge and the
range rate says its minimum lies beyond that edge.

The interior search (range rate going from - to + inside the window) cannot see these: a pair
still closing at the end, or already receding at the start, has no sign change in the
window. They are reported at the edge itself (TCA = the edge time, miss = the separation
there) with ``edge`` set, so a caller knows the true minimum is outside the window and is at
most that close. The knot grid has a knot on each edge, so the states used are SGP4's own.

A pair whose range rate is exactly zero at the edge is not an edge event: objects that stay
together (docked modules, identical element sets) have zero range rate throughout, and a
minimum exactly on the edge is measure-zero.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from astroshield.astro.conjunction.screening.types import (
    FloatArray,
    IntArray,
    RawEvent,
    WindowEdge,
)
from astroshield.astro.dynamics.frames import rtn_rotation

__all__ = ["edge_events"]


def edge_events(
    r_km: FloatArray,
    v_km_s: FloatArray,
    valid: npt.NDArray[np.bool_],
    numbers: IntArray,
    *,
    primary: int | None,
    threshold_km: float,
    t_s: float,
    edge: WindowEdge,
) -> list[RawEvent]:
    """Edge events at one window edge from the SGP4 states there (``r_km``, ``v_km_s``: N x 3).

    Pairs are ordered like interior events: the primary first in one-vs-all, otherwise by
    catalog number (``numbers``). Objects not ``valid`` (SGP4 failed) take no part.
    """
    first, second = _pairs_within(r_km, valid, numbers, primary, threshold_km)
    d = r_km[second] - r_km[first]
    w = v_km_s[second] - v_km_s[first]
    rate = np.einsum("ij,ij->i", d, w)
    beyond = rate < 0.0 if edge == "end" else rate > 0.0
    keep = beyond & (np.sqrt(np.einsum("ij,ij->i", d, d)) <= threshold_km)
    events = []
    for i, j, gap, relative in zip(first[keep], second[keep], d[keep], w[keep], strict=True):
        rtn = rtn_rotation(r_km[i], v_km_s[i]) @ gap
        events.append(
            RawEvent(
                int(i),
                int(j),
                t_s,
                float(np.linalg.norm(gap)),
                float(np.linalg.norm(relative)),
                float(rtn[0]),
                float(rtn[1]),
                float(rtn[2]),
                edge,
            )
        )
    return events


def _pairs_within(
    r_km: FloatArray,
    valid: npt.NDArray[np.bool_],
    numbers: IntArray,
    primary: int | None,
    threshold_km: float,
) -> tuple[IntArray, IntArray]:
    """Valid pairs closer than the threshold (a k-d tree for all-vs-all)."""
    valid_index = np.flatnonzero(valid).astype(np.int64)
    if primary is not None:
        if not valid[primary]:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        others = valid_index[valid_index != primary]
        return np.full(len(others), primary, dtype=np.int64), others
    tree = cKDTree(r_km[valid_index])
    found = tree.query_pairs(threshold_km, output_type="ndarray").astype(np.int64)
    first, second = valid_index[found[:, 0]], valid_index[found[:, 1]]
    swap = numbers[first] > numbers[second]
    return np.where(swap, second, first), np.where(swap, first, second)
