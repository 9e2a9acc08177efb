"""Monte Carlo probability of collision.

* :func:`pc_monte_carlo`: "brute-force" Monte Carlo from epoch states as in CARA's
  ``Pc_MC_Kep2body`` / Hall et al., "High-fidelity collision probabilities estimated using
  brute force Monte Carlo simulations", AAS 18-244 (2018): both objects' 6-D states are sampled
  from their covariances, each pair is propagated with two-body (Keplerian) motion over a window
  around TCA, and a hit is a minimum separation below the combined HBR. No short-encounter
  assumption, so it is the reference for slow encounters.
* :func:`pc_monte_carlo_encounter_plane`: the cheap linear-motion variant (2-D Gaussian samples
  in the encounter plane counted inside the HBR disk).

Both return a binomial 95 % (or ``confidence``) interval, Wilson score (default) or
Clopper-Pearson.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from astroshield.astro.conjunction.pc._twobody import MU_EARTH_KM3_S2, kepler_propagate
from astroshield.astro.conjunction.pc.planar import DegenerateGeometryError
from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    CovarianceRemediation,
    check_covariance,
)

F64 = NDArray[np.float64]
Interval = Literal["wilson", "clopper-pearson"]

__all__ = [
    "MonteCarloResult",
    "binomial_interval",
    "pc_monte_carlo",
    "pc_monte_carlo_encounter_plane",
]


@dataclass(frozen=True)
class MonteCarloResult:
    """Monte Carlo Pc estimate ``hits / samples`` with a binomial confidence interval.

    ``boundary_minima`` counts samples whose closest approach fell on the window edge (a hint
    the window is too short when many of them are also near the HBR). ``covariance_remediation``
    is the verdict on each sampled covariance (CARA clips at a zero floor before sampling).
    """

    pc: float
    hits: int
    samples: int
    ci_low: float
    ci_high: float
    confidence: float
    interval: str
    boundary_minima: int = 0
    window: tuple[float, float] | None = None
    covariance_remediation: tuple[CovarianceRemediation, ...] = ()


def binomial_interval(
    hits: int, samples: int, confidence: float = 0.95, kind: Interval = "wilson"
) -> tuple[float, float]:
    """Two-sided binomial interval for ``hits`` successes in ``samples`` trials.

    Wilson score (E. B. Wilson, JASA 22, 1927) or exact Clopper-Pearson (Biometrika 26, 1934).
    """
    if samples <= 0 or not 0 <= hits <= samples:
        raise ValueError("need 0 <= hits <= samples and samples > 0")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    alpha = 1.0 - confidence
    if kind == "clopper-pearson":
        lo = 0.0 if hits == 0 else float(stats.beta.ppf(alpha / 2, hits, samples - hits + 1))
        hi = (
            1.0
            if hits == samples
            else float(stats.beta.ppf(1 - alpha / 2, hits + 1, samples - hits))
        )
        return lo, hi
    if kind != "wilson":
        raise ValueError(f"unknown interval {kind!r}")
    z = float(special.ndtri(1.0 - alpha / 2))
    p = hits / samples
    den = 1.0 + z * z / samples
    centre = (p + z * z / (2 * samples)) / den
    half = z / den * math.sqrt(p * (1 - p) / samples + z * z / (4 * samples * samples))
    return max(0.0, centre - half), min(1.0, centre + half)


def _sampler(cov: ArrayLike, name: str, repair: bool) -> tuple[F64, CovarianceRemediation]:
    c = np.asarray(cov, dtype=np.float64)
    if c.shape == (3, 3):
        # Position-only covariance: velocity taken as exact (documented assumption).
        full = np.zeros((6, 6))
        full[:3, :3] = c
        c = full
    if c.shape != (6, 6):
        raise CovarianceError(f"{name} must be 6x6 (position-velocity) or 3x3 (position)")
    # CARA (CovRemEigValClip) samples Monte Carlo states from covariances clipped at Lclip = 0.
    chk = check_covariance(c, repair=repair, floor=0.0, name=name)
    # Eigen factor instead of Cholesky: semi-definite matrices (zero velocity block) are legal.
    w, q = np.linalg.eigh(chk.matrix)
    out: F64 = q * np.sqrt(np.clip(w, 0.0, None))
    return out, chk.remediation


def pc_monte_carlo(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float,
    samples: int,
    seed: int,
    *,
    mu: float = MU_EARTH_KM3_S2,
    window: tuple[float, float] | None = None,
    n_grid: int = 16,
    newton_iterations: int = 8,
    batch_size: int = 100_000,
    confidence: float = 0.95,
    interval: Interval = "wilson",
    repair: bool = True,
) -> MonteCarloResult:
    """Two-body Monte Carlo Pc.

    States ``r*, v*`` are inertial at a common epoch near TCA (time 0); ``cov*`` are 6x6
    position-velocity covariances in the same frame (3x3 accepted = exact velocity). Units:
    km, km/s, s with the default ``mu`` (Earth, km^3/s^2); for metres pass
    ``mu=3.986004418e14``. ``window=(t_start, t_end)`` in seconds from epoch; default is
    the linear TCA of the means +/- ``(8 sigma_max + |miss| + HBR) / |v_rel|``.

    Each sample's closest approach is found by a coarse grid (``n_grid`` points) plus Newton
    iterations on ``d/dt |dr|^2 = 2 dr.dv = 0`` with the two-body relative acceleration.
    """
    if samples <= 0:
        raise ValueError("samples must be positive")
    x1 = np.concatenate([np.asarray(r1, float).reshape(3), np.asarray(v1, float).reshape(3)])
    x2 = np.concatenate([np.asarray(r2, float).reshape(3), np.asarray(v2, float).reshape(3)])
    l1, rem1 = _sampler(cov1, "cov1", repair)
    l2, rem2 = _sampler(cov2, "cov2", repair)
    dr = x1[:3] - x2[:3]
    dv = x1[3:] - x2[3:]
    speed = float(np.linalg.norm(dv))
    if window is None:
        if speed <= 1e-12 * max(float(np.linalg.norm(x1[3:])), float(np.linalg.norm(x2[3:]))):
            raise DegenerateGeometryError(
                "relative speed is (near) zero: pass an explicit window=(t_start, t_end)"
            )
        cpos = l1[:3] @ l1[:3].T + l2[:3] @ l2[:3].T
        smax = math.sqrt(max(float(np.linalg.eigvalsh(cpos)[-1]), 0.0))
        t_lin = -float(dr @ dv) / speed**2
        half = (8.0 * smax + float(np.linalg.norm(dr)) + abs(hbr)) / speed
        window = (t_lin - half, t_lin + half)
    t0, t1 = float(window[0]), float(window[1])
    if not t1 > t0:
        raise ValueError("window must have t_end > t_start")

    rng = np.random.default_rng(seed)
    grid = np.linspace(t0, t1, max(n_grid, 2))
    hits = 0
    boundary = 0
    done = 0
    while done < samples:
        b = min(batch_size, samples - done)
        s1 = x1 + rng.standard_normal((b, 6)) @ l1.T
        s2 = x2 + rng.standard_normal((b, 6)) @ l2.T
        dmin, at_edge = _closest_approach(s1, s2, grid, t0, t1, mu, newton_iterations)
        hits += int(np.count_nonzero(dmin < hbr))
        boundary += int(np.count_nonzero(at_edge))
        done += b
    lo, hi = binomial_interval(hits, samples, confidence, interval)
    return MonteCarloResult(
        hits / samples,
        hits,
        samples,
        lo,
        hi,
        confidence,
        interval,
        boundary,
        (t0, t1),
        (rem1, rem2),
    )


def _closest_approach(
    s1: F64, s2: F64, grid: F64, t0: float, t1: float, mu: float, iterations: int
) -> tuple[F64, NDArray[np.bool_]]:
    b = s1.shape[0]
    # Coarse grid: guards against picking a far local minimum in slow, curved encounters.
    best_t = np.full(b, grid[0])
    best_d = np.full(b, np.inf)
    for t in grid:
        ra, _ = kepler_propagate(s1[:, :3], s1[:, 3:], np.full(b, t), mu)
        rb, _ = kepler_propagate(s2[:, :3], s2[:, 3:], np.full(b, t), mu)
        d = np.linalg.norm(ra - rb, axis=1)
        better = d < best_d
        best_d = np.where(better, d, best_d)
        best_t = np.where(better, t, best_t)
    # Linear-motion TCA of each sample is usually the best start for fast encounters.
    ddr = s1[:, :3] - s2[:, :3]
    ddv = s1[:, 3:] - s2[:, 3:]
    vv = np.einsum("ij,ij->i", ddv, ddv)
    t_lin = np.clip(-np.einsum("ij,ij->i", ddr, ddv) / np.maximum(vv, 1e-300), t0, t1)
    ra, _ = kepler_propagate(s1[:, :3], s1[:, 3:], t_lin, mu)
    rb, _ = kepler_propagate(s2[:, :3], s2[:, 3:], t_lin, mu)
    d_lin = np.linalg.norm(ra - rb, axis=1)
    t = np.where(d_lin < best_d, t_lin, best_t)
    best_d = np.minimum(best_d, d_lin)
    span = t1 - t0
    for _ in range(iterations):
        ra, va = kepler_propagate(s1[:, :3], s1[:, 3:], t, mu)
        rb, vb = kepler_propagate(s2[:, :3], s2[:, 3:], t, mu)
        rel_r = ra - rb
        rel_v = va - vb
        na = np.linalg.norm(ra, axis=1)[:, None]
        nb = np.linalg.norm(rb, axis=1)[:, None]
        rel_a = -mu * (ra / na**3 - rb / nb**3)
        f = np.einsum("ij,ij->i", rel_r, rel_v)
        fp = np.einsum("ij,ij->i", rel_v, rel_v) + np.einsum("ij,ij->i", rel_r, rel_a)
        # Where the curvature is not positive Newton would head for a maximum: take a bounded
        # linear step instead.
        step = np.where(
            fp > 0.0,
            f / np.where(fp > 0.0, fp, 1.0),
            f / np.maximum(np.einsum("ij,ij->i", rel_v, rel_v), 1e-300),
        )
        step = np.clip(step, -0.1 * span, 0.1 * span)
        t = np.clip(t - step, t0, t1)
    ra, _ = kepler_propagate(s1[:, :3], s1[:, 3:], t, mu)
    rb, _ = kepler_propagate(s2[:, :3], s2[:, 3:], t, mu)
    d = np.linalg.norm(ra - rb, axis=1)
    dmin = np.minimum(d, best_d)
    tol = 1e-9 * span
    at_edge = (t - t0 <= tol) | (t1 - t <= tol)
    return dmin, at_edge


def pc_monte_carlo_encounter_plane(
    miss_xy: ArrayLike,
    cov_2x2: ArrayLike,
    hbr: float,
    samples: int,
    seed: int,
    *,
    confidence: float = 0.95,
    interval: Interval = "wilson",
    batch_size: int = 1_000_000,
) -> MonteCarloResult:
    """Linear-motion Monte Carlo: fraction of 2-D Gaussian samples inside the HBR disk."""
    miss = np.asarray(miss_xy, dtype=np.float64).reshape(2)
    chk = check_covariance(cov_2x2, repair=False, name="encounter-plane covariance")
    w, q = np.linalg.eigh(chk.matrix)
    fac = q * np.sqrt(np.clip(w, 0.0, None))
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < samples:
        b = min(batch_size, samples - done)
        p = rng.standard_normal((b, 2)) @ fac.T - miss
        hits += int(np.count_nonzero(np.einsum("ij,ij->i", p, p) < hbr * hbr))
        done += b
    lo, hi = binomial_interval(hits, samples, confidence, interval)
    return MonteCarloResult(hits / samples, hits, samples, lo, hi, confidence, interval)
