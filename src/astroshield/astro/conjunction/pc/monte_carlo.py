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

from astroshield.astro.conjunction.pc._twobody import (
    MU_EARTH_KM3_S2,
    kepler_propagate,
    kepler_step,
    kepler_stm,
)
from astroshield.astro.conjunction.pc.planar import DegenerateGeometryError
from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    CovarianceRemediation,
    check_covariance,
)

F64 = NDArray[np.float64]
Interval = Literal["wilson", "clopper-pearson"]
_PILOT = 2000
_SCREEN_INTERVALS = 16
_POS_VEL = (slice(0, 3), slice(3, 6))

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


def _default_window(x1: F64, x2: F64, l1: F64, l2: F64, hbr: float) -> tuple[float, float]:
    dr = x1[:3] - x2[:3]
    dv = x1[3:] - x2[3:]
    speed = float(np.linalg.norm(dv))
    if speed <= 1e-12 * max(float(np.linalg.norm(x1[3:])), float(np.linalg.norm(x2[3:]))):
        raise DegenerateGeometryError(
            "relative speed is (near) zero: pass an explicit window=(t_start, t_end)"
        )
    cpos = l1[:3] @ l1[:3].T + l2[:3] @ l2[:3].T
    smax = math.sqrt(max(float(np.linalg.eigvalsh(cpos)[-1]), 0.0))
    t_lin = -float(dr @ dv) / speed**2
    half = (8.0 * smax + float(np.linalg.norm(dr)) + abs(hbr)) / speed
    return (t_lin - half, t_lin + half)


def _state(r: ArrayLike, v: ArrayLike) -> F64:
    return np.concatenate([np.asarray(r, float).reshape(3), np.asarray(v, float).reshape(3)])


def _angular_rate(x: F64, mu: float) -> float:
    """Largest orbital angular rate of a state, mean motion or |v|/|r| (s^-1)."""
    r = max(float(np.linalg.norm(x[:3])), 1e-300)
    v2 = float(x[3:] @ x[3:])
    inv_a = 2.0 / r - v2 / mu
    n = math.sqrt(mu * inv_a**3) if inv_a > 0.0 else 0.0
    return max(n, math.sqrt(v2) / r, math.sqrt(mu / r**3))


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
    node_angle: float = 0.05,
    screen: bool = True,
) -> MonteCarloResult:
    """Two-body Monte Carlo Pc.

    States ``r*, v*`` are inertial at a common epoch near TCA (time 0); ``cov*`` are 6x6
    position-velocity covariances in the same frame (3x3 accepted = exact velocity). Units:
    km, km/s, s with the default ``mu`` (Earth, km^3/s^2); for metres pass
    ``mu=3.986004418e14``. ``window=(t_start, t_end)`` in seconds from epoch; default is
    the linear TCA of the means +/- ``(8 sigma_max + |miss| + HBR) / |v_rel|``.

    Each sample pair is propagated exactly (universal-variable Kepler) from node to node of a
    grid of at least ``n_grid`` intervals no longer than ``node_angle`` radians of orbital
    motion. The separation between two nodes cannot drop below
    ``(d_k + d_k+1 - h V) / 2`` (``V`` bounds the relative speed on the interval), so only the
    intervals where that bound is below the HBR are searched, by up to ``newton_iterations``
    Newton steps on ``d/dt |dr|^2 = 2 dr.dv = 0`` with exact two-body states and the two-body
    relative acceleration. A hit is a minimum separation below ``hbr``: the minimum is exact,
    not that of a grid.

    With ``screen`` a pair is propagated exactly only if its *linearised* motion (STMs of the
    means) comes within the HBR plus a second-order margin (4x the largest linearisation error
    per squared whitened deviation of 2,000 exactly propagated pilot pairs, times the pair's
    own); the counts equal those of ``screen=False`` (tested). ``boundary_minima`` counts the
    exactly propagated pairs whose minimum falls on a window edge.
    """
    if samples <= 0:
        raise ValueError("samples must be positive")
    x1, x2 = _state(r1, v1), _state(r2, v2)
    l1, rem1 = _sampler(cov1, "cov1", repair)
    l2, rem2 = _sampler(cov2, "cov2", repair)
    if window is None:
        window = _default_window(x1, x2, l1, l2, hbr)
    t0, t1 = float(window[0]), float(window[1])
    if not t1 > t0:
        raise ValueError("window must have t_end > t_start")
    rate = max(_angular_rate(x1, mu), _angular_rate(x2, mu))
    n = max(n_grid, 1, math.ceil((t1 - t0) * rate / node_angle))
    search = _MinimumSearch(mu, t0, (t1 - t0) / n, n, rate, newton_iterations)

    screener = _LinearScreen.build(x1, x2, l1, l2, search, seed, hbr) if screen else None
    hits, boundary = _count_hits(
        search, screener, (x1, l1), (x2, l2), hbr, samples, seed, batch_size
    )
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


def _count_hits(
    search: _MinimumSearch,
    screener: _LinearScreen | None,
    first: tuple[F64, F64],
    second: tuple[F64, F64],
    hbr: float,
    samples: int,
    seed: int,
    batch_size: int,
) -> tuple[int, int]:
    """Hits and window-edge minima of ``samples`` sampled pairs, in batches; ``first`` and
    ``second`` are each object's mean state and covariance factor."""
    (x1, l1), (x2, l2) = first, second
    rng = np.random.default_rng(seed)
    hits = 0
    boundary = 0
    done = 0
    while done < samples:
        b = min(batch_size, samples - done)
        z1 = rng.standard_normal((b, 6))
        z2 = rng.standard_normal((b, 6))
        done += b
        if screener is not None:
            near = screener.near(z1, z2, hbr)
            z1, z2 = z1[near], z2[near]
        if z1.shape[0] == 0:
            continue
        dmin, at_edge = search.run(x1 + z1 @ l1.T, x2 + z2 @ l2.T, hbr)
        hits += int(np.count_nonzero(dmin < hbr))
        boundary += int(np.count_nonzero(at_edge))
    return hits, boundary


def _dot(a: F64, b: F64) -> F64:
    out: F64 = np.einsum("ij,ij->i", a, b)
    return out


@dataclass(frozen=True)
class _MinimumSearch:
    """Exact closest approach of sample pairs over ``n`` node intervals of length ``h``."""

    mu: float
    t0: float
    h: float
    n: int
    rate: float
    iterations: int

    def run(self, s1: F64, s2: F64, hbr: float) -> tuple[F64, NDArray[np.bool_]]:
        """Minimum separation of each pair over the window and whether it is at an edge."""
        ra, va = kepler_propagate(s1[:, :3], s1[:, 3:], np.array(self.t0), self.mu)
        rb, vb = kepler_propagate(s2[:, :3], s2[:, 3:], np.array(self.t0), self.mu)
        d_prev = np.linalg.norm(ra - rb, axis=1)
        w_prev = np.linalg.norm(va - vb, axis=1)
        d_first = d_prev
        dmin = d_prev.copy()
        chi_a: F64 | None = None
        chi_b: F64 | None = None
        # (sample, node states) of every interval that may hold a hit, searched in one go.
        who: list[NDArray[np.intp]] = []
        starts: list[F64] = []
        for _ in range(self.n):
            ra_n, va_n, chi_a = kepler_step(ra, va, self.h, self.mu, chi_a)
            rb_n, vb_n, chi_b = kepler_step(rb, vb, self.h, self.mu, chi_b)
            d_next = np.linalg.norm(ra_n - rb_n, axis=1)
            w_next = np.linalg.norm(va_n - vb_n, axis=1)
            # Relative acceleration is at most ~3 n^2 |dr|: it bounds the speed change inside.
            reach = np.maximum(d_prev, d_next) + self.h * np.maximum(w_prev, w_next)
            speed = np.maximum(w_prev, w_next) + 3.0 * self.rate**2 * reach * self.h
            lower = 0.5 * (d_prev + d_next - 1.001 * self.h * speed)
            cand = np.flatnonzero(lower < hbr)
            if cand.size:
                who.append(cand)
                starts.append(np.concatenate([ra[cand], va[cand], rb[cand], vb[cand]], axis=1))
            dmin = np.minimum(dmin, d_next)
            ra, va, rb, vb, d_prev, w_prev = ra_n, va_n, rb_n, vb_n, d_next, w_next
        if who:
            st = np.concatenate(starts)
            inner = self._newton(st[:, 0:3], st[:, 3:6], st[:, 6:9], st[:, 9:12])
            np.minimum.at(dmin, np.concatenate(who), inner)
        at_edge = (d_first <= dmin) | (d_prev <= dmin)
        return dmin, at_edge

    def relative_states(self, s1: F64, s2: F64) -> F64:
        """Exact relative states ``x1 - x2`` of each pair at every node, ``(n + 1, m, 6)``."""
        ra, va = kepler_propagate(s1[:, :3], s1[:, 3:], np.array(self.t0), self.mu)
        rb, vb = kepler_propagate(s2[:, :3], s2[:, 3:], np.array(self.t0), self.mu)
        out = [np.concatenate([ra - rb, va - vb], axis=1)]
        chi_a: F64 | None = None
        chi_b: F64 | None = None
        for _ in range(self.n):
            ra, va, chi_a = kepler_step(ra, va, self.h, self.mu, chi_a)
            rb, vb, chi_b = kepler_step(rb, vb, self.h, self.mu, chi_b)
            out.append(np.concatenate([ra - rb, va - vb], axis=1))
        return np.stack(out)

    def _newton(self, ra: F64, va: F64, rb: F64, vb: F64) -> F64:
        """Smallest separation inside ``[0, h]`` from the node states, by Newton on dr.dv."""
        dr = ra - rb
        dv = va - vb
        vv = np.maximum(_dot(dv, dv), 1e-300)
        tau = np.clip(-_dot(dr, dv) / vv, 0.0, self.h)
        best = np.full(ra.shape[0], np.inf)
        for _ in range(max(self.iterations, 1)):
            pa, qa, _ = kepler_step(ra, va, tau, self.mu)
            pb, qb, _ = kepler_step(rb, vb, tau, self.mu)
            rel_r = pa - pb
            rel_v = qa - qb
            best = np.minimum(best, np.linalg.norm(rel_r, axis=1))
            na = np.linalg.norm(pa, axis=1)[:, None]
            nb = np.linalg.norm(pb, axis=1)[:, None]
            rel_a = -self.mu * (pa / na**3 - pb / nb**3)
            f = _dot(rel_r, rel_v)
            vv = _dot(rel_v, rel_v)
            fp = vv + _dot(rel_r, rel_a)
            # Where the curvature is not positive Newton would head for a maximum: take the
            # linear-motion step instead.
            step = np.where(fp > 0.0, f / np.where(fp > 0.0, fp, 1.0), f / np.maximum(vv, 1e-300))
            new_tau = np.clip(tau - step, 0.0, self.h)
            if np.all(np.abs(new_tau - tau) <= 1e-12 * max(self.h, 1.0)):
                break
            tau = new_tau
        return best


@dataclass(frozen=True)
class _LinearScreen:
    """Linearised relative states on a coarse node grid and a second-order margin.

    ``dm`` holds the exact relative mean states ``x1 - x2`` at the screen nodes (every
    ``stride``-th search node), ``gain`` maps the stacked whitened deviations ``[z1, -z2]``
    (``x = mean + L z``) to the deviations of the relative states at all of them at once.
    """

    dm: F64
    gain: F64
    c_hat: float
    h: float
    rate: float

    @classmethod
    def build(
        cls, x1: F64, x2: F64, l1: F64, l2: F64, search: _MinimumSearch, seed: int, hbr: float
    ) -> _LinearScreen:
        # Pilot pairs (their own stream, so the estimate's draws do not shift the sample's).
        pilot = np.random.default_rng([seed, 0x5C4EE7])
        z = pilot.standard_normal((_PILOT, 12))
        exact_all = search.relative_states(x1 + z[:, :6] @ l1.T, x2 + z[:, 6:] @ l2.T)
        # Screen intervals short enough that relative motion over one is ~2 HBR at most for
        # 99 % of the pairs (a looser bound would let too many misses through).
        v99 = float(np.quantile(np.linalg.norm(exact_all[..., 3:], axis=2), 0.99))
        want = math.ceil(search.h * search.n * v99 / (2.0 * max(hbr, 1e-300)))
        stride = max(1, math.ceil(search.n / min(max(want, _SCREEN_INTERVALS), search.n)))
        idx = np.arange(0, search.n + 1, stride)
        if idx[-1] != search.n:
            idx = np.append(idx, search.n)
        nodes = (search.t0 + search.h * idx).astype(np.float64)
        ra, va, phi1 = kepler_stm(x1[:3], x1[3:], nodes, search.mu)
        rb, vb, phi2 = kepler_stm(x2[:3], x2[3:], nodes, search.mu)
        dm = np.concatenate([ra - rb, va - vb], axis=1)  # (k, 6)
        a = np.concatenate([phi1 @ l1, phi2 @ l2], axis=2)  # (k, 6, 12)
        # Columns: the k position blocks, then the k velocity blocks (contiguous slices).
        blocks = [np.transpose(a[:, rows], (2, 0, 1)).reshape(12, -1) for rows in _POS_VEL]
        gain = np.concatenate(blocks, axis=1)
        exact = exact_all[idx]
        z[:, 6:] *= -1.0
        k = idx.size
        flat = z @ gain
        lin = (
            np.concatenate(
                [flat[:, : 3 * k].reshape(_PILOT, k, 3), flat[:, 3 * k :].reshape(_PILOT, k, 3)],
                axis=2,
            )
            + dm[None, :, :]
        )  # (n, k, 6)
        exact = np.transpose(exact, (1, 0, 2))
        err = np.linalg.norm(exact[..., :3] - lin[..., :3], axis=2)
        step = search.h * float(np.max(np.diff(idx)))
        err += 0.5 * step * np.linalg.norm(exact[..., 3:] - lin[..., 3:], axis=2)
        q = np.sum(z * z, axis=1)
        return cls(dm, gain, float(np.max(err / q[:, None])), step, search.rate)

    def near(self, z1: F64, z2: F64, hbr: float) -> NDArray[np.bool_]:
        """Pairs whose linearised separation may drop below ``hbr`` plus the margin."""
        z = np.concatenate([z1, -z2], axis=1)
        margin = 4.0 * self.c_hat * np.einsum("ij,ij->i", z, z)
        k = self.dm.shape[0]
        flat = z @ self.gain
        rel_r = flat[:, : 3 * k].reshape(-1, k, 3) + self.dm[None, :, :3]
        rel_v = flat[:, 3 * k :].reshape(-1, k, 3) + self.dm[None, :, 3:]
        d = np.sqrt(np.einsum("nki,nki->nk", rel_r, rel_r))
        w = np.sqrt(np.einsum("nki,nki->nk", rel_v, rel_v))
        d0, d1 = d[:, :-1], d[:, 1:]
        wmax = np.maximum(w[:, :-1], w[:, 1:])
        reach = np.maximum(d0, d1) + self.h * wmax
        speed = wmax + 3.0 * self.rate**2 * reach * self.h
        lower = np.min(0.5 * (d0 + d1 - 1.001 * self.h * speed), axis=1)
        out: NDArray[np.bool_] = np.minimum(lower, d[:, 0]) - margin < hbr
        return out


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
