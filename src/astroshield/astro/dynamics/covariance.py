"""Covariance validation and repair for collision-probability work.

The checks follow what NASA CARA's Pc tools do before integrating
(github.com/nasa/CARA_Analysis_Tools, ``DistributedMatlab/Utils/AugmentedMath/CovRemEigValClip.m``):
symmetrise, eigen-decompose and clip eigenvalues below a floor ``Lclip``. Unlike CARA, the
caller can ask for a refusal instead of a silent repair, and always learns whether a repair
happened (:class:`CovarianceCheck`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_SYMMETRY_RTOL",
    "CovarianceCheck",
    "CovarianceError",
    "check_covariance",
    "check_symmetric",
    "is_positive_definite",
    "repair_eigenvalue_clip",
]

# CARA-produced covariances (e.g. the Omitron case) carry ~1e-15 relative asymmetry from
# text round-tripping; anything beyond 1e-8 is a real data error, not rounding.
DEFAULT_SYMMETRY_RTOL = 1e-8


class CovarianceError(ValueError):
    """A covariance that is malformed, asymmetric or not positive definite (and not repaired)."""


@dataclass(frozen=True)
class CovarianceCheck:
    """Outcome of :func:`check_covariance`.

    ``matrix`` is the symmetrised (and, if ``repaired``, eigenvalue-clipped) covariance;
    ``eigenvalues`` are those of the symmetrised input before any clipping.
    """

    matrix: NDArray[np.float64]
    repaired: bool
    eigenvalues: NDArray[np.float64]
    clipped_count: int


def _as_square(cov: ArrayLike, name: str) -> NDArray[np.float64]:
    a = np.asarray(cov, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise CovarianceError(f"{name} must be a square 2-D matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise CovarianceError(f"{name} contains NaN or infinite entries")
    return a


def check_symmetric(
    cov: ArrayLike, *, rtol: float = DEFAULT_SYMMETRY_RTOL, name: str = "covariance"
) -> NDArray[np.float64]:
    """Return ``(C + C.T) / 2`` or raise :class:`CovarianceError` if ``C`` is not symmetric.

    The asymmetry is measured as ``max|C - C.T| / max|C|`` so the test is unit-free.
    """
    a = _as_square(cov, name)
    scale = float(np.max(np.abs(a)))
    if scale == 0.0:
        return a.copy()
    asym = float(np.max(np.abs(a - a.T))) / scale
    if asym > rtol:
        raise CovarianceError(
            f"{name} is not symmetric: max|C - C^T| / max|C| = {asym:.3e} exceeds {rtol:.1e}"
        )
    out: NDArray[np.float64] = 0.5 * (a + a.T)
    return out


def is_positive_definite(cov: ArrayLike) -> bool:
    """True if the (symmetric) matrix admits a Cholesky factorisation."""
    try:
        np.linalg.cholesky(np.asarray(cov, dtype=np.float64))
    except np.linalg.LinAlgError:
        return False
    return True


def repair_eigenvalue_clip(
    cov: ArrayLike, floor: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Clip eigenvalues below ``floor`` up to ``floor`` (CARA ``CovRemEigValClip``).

    Returns ``(repaired_matrix, original_eigenvalues, number_clipped)``. The input must already
    be symmetric. Eigenvectors are kept, so the repaired matrix is the nearest (Frobenius)
    matrix with spectrum bounded below by ``floor``.
    """
    if floor < 0.0:
        raise ValueError("eigenvalue floor must be >= 0")
    a = np.asarray(cov, dtype=np.float64)
    w, q = np.linalg.eigh(a)
    low = w < floor
    n_clip = int(np.count_nonzero(low))
    if n_clip == 0:
        return a.copy(), w, 0
    w_new = np.where(low, floor, w)
    rep: NDArray[np.float64] = (q * w_new) @ q.T
    rep = 0.5 * (rep + rep.T)
    return rep, w, n_clip


def check_covariance(
    cov: ArrayLike,
    *,
    repair: bool = True,
    floor: float = 0.0,
    symmetry_rtol: float = DEFAULT_SYMMETRY_RTOL,
    name: str = "covariance",
) -> CovarianceCheck:
    """Validate a covariance: finite, square, symmetric and positive (semi-)definite.

    Parameters
    ----------
    repair:
        If True, eigenvalues below ``floor`` are clipped to ``floor`` (CARA behaviour) and the
        result is flagged ``repaired``. If False, any eigenvalue ``<= floor`` (or ``< 0`` when
        ``floor`` is 0 and the matrix is only semi-definite) raises :class:`CovarianceError`.
    floor:
        Smallest eigenvalue accepted, in the covariance's squared length unit. CARA uses
        ``(1e-4 * HBR)**2`` on the projected 2x2 encounter-plane covariance.
    """
    sym = check_symmetric(cov, rtol=symmetry_rtol, name=name)
    w = np.asarray(np.linalg.eigvalsh(sym), dtype=np.float64)
    bad = w <= floor if floor > 0.0 else w < 0.0
    if not np.any(bad):
        return CovarianceCheck(sym, False, w, 0)
    if not repair:
        lam_max = float(np.max(np.abs(w))) if w.size else 0.0
        raise CovarianceError(
            f"{name} is not positive definite: smallest eigenvalue {float(w[0]):.6e} "
            f"(largest |eigenvalue| {lam_max:.6e}, floor {floor:.3e}); "
            "pass repair=True to clip eigenvalues as CARA does"
        )
    rep, w0, n = repair_eigenvalue_clip(sym, floor)
    return CovarianceCheck(rep, True, w0, n)
