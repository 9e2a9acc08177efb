"""Polynomial interpolation of tabulated ephemerides (Lagrange and Hermite), vectorised.

Each query time uses a sliding window of consecutive nodes, centred on the query where the
table allows and shifted inwards at the ends (as CCSDS OEM consumers do):

* Lagrange of degree d uses d + 1 nodes and interpolates each column independently, so for an
  ephemeris positions and velocities are interpolated separately (CCSDS ``LAGRANGE``).
* Hermite of odd degree d = 2m - 1 uses m nodes with positions *and* velocities (cubic: 2 nodes,
  quintic: 3 nodes); the returned velocity is the derivative of the position polynomial, so the
  two are consistent (CCSDS ``HERMITE``).

Times are float seconds or ``datetime64``; nodes must be strictly increasing. Queries outside the
node span raise ``ValueError`` rather than extrapolate.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.intp]


def _as_seconds(t_nodes: ArrayLike, t_query: ArrayLike) -> tuple[FloatArray, FloatArray]:
    nodes = np.asarray(t_nodes)
    query = np.asarray(t_query)
    if np.issubdtype(nodes.dtype, np.datetime64) or np.issubdtype(query.dtype, np.datetime64):
        origin = nodes.astype("datetime64[ns]")[0]
        to_s = np.timedelta64(1, "ns")
        n_s = (nodes.astype("datetime64[ns]") - origin) / to_s * 1e-9
        q_s = (query.astype("datetime64[ns]") - origin) / to_s * 1e-9
        return np.asarray(n_s, dtype=np.float64), np.atleast_1d(np.asarray(q_s, np.float64))
    return (
        np.asarray(nodes, dtype=np.float64),
        np.atleast_1d(np.asarray(query, dtype=np.float64)),
    )


def _windows(nodes: FloatArray, query: FloatArray, size: int) -> IntArray:
    """Index array (M, size) of the node window used for each query."""
    if nodes.ndim != 1:
        raise ValueError("node times must be one-dimensional")
    if nodes.shape[0] < size:
        raise ValueError(f"{size} nodes needed for this degree, only {nodes.shape[0]} given")
    if np.any(np.diff(nodes) <= 0.0):
        raise ValueError("node times must be strictly increasing")
    if np.any(query < nodes[0]) or np.any(query > nodes[-1]):
        raise ValueError(
            f"query times must lie within the node span [{nodes[0]}, {nodes[-1]}]; "
            "extrapolation is not supported"
        )
    interval = np.searchsorted(nodes, query, side="right") - 1
    start = np.clip(interval - (size - 1) // 2, 0, nodes.shape[0] - size)
    return np.asarray(start[:, None] + np.arange(size)[None, :], dtype=np.intp)


def _lagrange_basis(x: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lagrange basis values L_j(t) and derivatives L_j'(t); x is (M, m), t is (M,)."""
    m = x.shape[1]
    eye = np.eye(m, dtype=bool)
    denom = x[:, :, None] - x[:, None, :]  # x_j - x_k
    denom[:, eye] = 1.0
    factor = (t[:, None, None] - x[:, None, :]) / denom  # (t - x_k)/(x_j - x_k)
    factor[:, eye] = 1.0
    basis = np.prod(factor, axis=2)
    # L_j' = Σ_{k≠j} 1/(x_j - x_k) Π_{l≠j,k} factor_jl, written without dividing by
    # factor_jk, which vanishes at the nodes.
    inv_denom = 1.0 / denom
    inv_denom[:, eye] = 0.0
    deriv = np.zeros_like(basis)
    for k in range(m):
        others = factor.copy()
        others[:, :, k] = 1.0
        deriv += inv_denom[:, :, k] * np.prod(others, axis=2)
    return basis, deriv


def lagrange_interpolate(
    t_nodes: ArrayLike, y_nodes: ArrayLike, t_query: ArrayLike, *, degree: int = 7
) -> FloatArray:
    """Interpolate ``y_nodes`` (shape (N,) or (N, k)) at ``t_query`` with sliding Lagrange.

    ``degree`` d uses d + 1 nodes; the result has shape (M,) or (M, k).
    """
    if degree < 1:
        raise ValueError("degree must be at least 1")
    nodes, query = _as_seconds(t_nodes, t_query)
    y = np.asarray(y_nodes, dtype=np.float64)
    if y.shape[0] != nodes.shape[0]:
        raise ValueError(f"{nodes.shape[0]} node times but {y.shape[0]} values")
    idx = _windows(nodes, query, degree + 1)
    # Shift to the window origin: products of large absolute times would cancel badly.
    origin = nodes[idx[:, 0]]
    basis, _ = _lagrange_basis(nodes[idx] - origin[:, None], query - origin)
    values = y[idx]  # (M, m) or (M, m, k)
    if y.ndim == 1:
        return np.asarray(np.einsum("nj,nj->n", basis, values), dtype=np.float64)
    return np.asarray(np.einsum("nj,nj...->n...", basis, values), dtype=np.float64)


def hermite_interpolate(
    t_nodes: ArrayLike,
    r_nodes: ArrayLike,
    v_nodes: ArrayLike,
    t_query: ArrayLike,
    *,
    degree: int = 5,
) -> tuple[FloatArray, FloatArray]:
    """Hermite interpolation of positions with velocities; returns ``(r, v)`` at ``t_query``.

    ``degree`` must be odd: 3 (cubic, 2 nodes), 5 (quintic, 3 nodes), 2m - 1 (m nodes).
    ``r_nodes``/``v_nodes`` are (N, k) (or (N,)), velocities in position units per second of
    the time axis.
    """
    if degree < 1 or degree % 2 == 0:
        raise ValueError("Hermite degree must be odd (3 = cubic, 5 = quintic, ...)")
    nodes, query = _as_seconds(t_nodes, t_query)
    r = np.asarray(r_nodes, dtype=np.float64)
    v = np.asarray(v_nodes, dtype=np.float64)
    if r.shape != v.shape or r.shape[0] != nodes.shape[0]:
        raise ValueError(f"shapes differ: times {nodes.shape}, r {r.shape}, v {v.shape}")
    size = (degree + 1) // 2
    idx = _windows(nodes, query, size)
    origin = nodes[idx[:, 0]]
    x = nodes[idx] - origin[:, None]
    t = query - origin
    basis, dbasis = _lagrange_basis(x, t)
    eye = np.eye(size, dtype=bool)
    diff = x[:, :, None] - x[:, None, :]
    diff[:, eye] = np.inf
    c = np.sum(1.0 / diff, axis=2)  # L_j'(x_j)
    dt = t[:, None] - x
    a = 1.0 - 2.0 * dt * c
    sq = basis * basis
    h = a * sq
    g = dt * sq
    dh = -2.0 * c * sq + 2.0 * a * basis * dbasis
    dg = sq + 2.0 * dt * basis * dbasis
    rw, vw = r[idx], v[idx]
    spec = "nj,nj->n" if r.ndim == 1 else "nj,nj...->n..."
    r_out = np.einsum(spec, h, rw) + np.einsum(spec, g, vw)
    v_out = np.einsum(spec, dh, rw) + np.einsum(spec, dg, vw)
    return np.asarray(r_out, dtype=np.float64), np.asarray(v_out, dtype=np.float64)


def interpolate_states(
    t_nodes: ArrayLike,
    r_nodes: ArrayLike,
    v_nodes: ArrayLike,
    t_query: ArrayLike,
    *,
    method: str = "lagrange",
    degree: int | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Interpolate an ephemerides table of (r, v) at ``t_query``; returns ``(r, v)``.

    Defaults: Lagrange degree 7, Hermite degree 5. Method names are case-insensitive so the
    OEM ``INTERPOLATION`` keyword can be passed straight through.
    """
    name = method.lower()
    if name == "lagrange":
        deg = 7 if degree is None else degree
        r_out = lagrange_interpolate(t_nodes, r_nodes, t_query, degree=deg)
        v_out = lagrange_interpolate(t_nodes, v_nodes, t_query, degree=deg)
        return r_out, v_out
    if name == "hermite":
        return hermite_interpolate(
            t_nodes, r_nodes, v_nodes, t_query, degree=5 if degree is None else degree
        )
    raise ValueError(f"unknown interpolation method {method!r}; use 'lagrange' or 'hermite'")
