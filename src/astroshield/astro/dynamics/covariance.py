"""Covariance validation and CARA-style remediation for collision-probability work.

The rules follow NASA CARA (github.com/nasa/CARA_Analysis_Tools): ``CovRemEigValClip.m``
(eigenvalue clipping: eigenvalues below a floor ``Lclip`` are raised to it and the matrix is
rebuilt from the original eigenvectors; D. T. Hall, M. D. Hejduk and L. C. Johnson, "Remediating
non-positive definite state covariances for collision probability estimation", AAS 17-567),
``PcCircle.m`` (projected 2x2 clipped at ``(Fclip * HBR)^2``, ``Fclip = 1e-4``; two non-positive
eigenvalues refused) and ``RemediateCovariance2x2.m`` (a clipped matrix that still fails a
Cholesky factorisation gives Pc = NaN). Floors: ``(1e-4 HBR)^2`` for 2x2/3x3 position
covariances used in 2-D/3-D Pc, ``0`` for 6x6 covariances that are only sampled (Monte Carlo).

:func:`check_covariance` is the one entry point. It always says what it did
(:class:`CovarianceRemediation`: status, raw and clipped eigenvalues, floor, reason):

* ``positive_definite`` / ``positive_semidefinite``: nothing to do (the latter only with a zero
  floor, e.g. a 6x6 with an exactly known velocity);
* ``remediated``: eigenvalues below the floor were clipped (a Pc is returned, with a warning);
* ``not_remediable``: no Pc can be defined from this covariance. That is the case for NaN or
  infinite entries, for a matrix without a single positive eigenvalue (no direction carries any
  variance: CARA's ``PcCircle:TwoNonPositiveEigenvalues``), and for a matrix so ill-conditioned
  that the clipped reconstruction still is not positive (semi-)definite in floating point
  (CARA ``RemediateCovariance2x2`` returns NaN there). :class:`NotRemediableCovarianceError`
  carries the verdict; the Pc functions turn it into an undefined (NaN) Pc with the reason.

A malformed matrix (not square) or a clearly asymmetric one is a data error, not a remediation
case: :class:`CovarianceError`. With ``repair=False`` the caller gets a refusal instead of a
remediation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_SYMMETRY_RTOL",
    "CovarianceCheck",
    "CovarianceError",
    "CovarianceRemediation",
    "NotRemediableCovarianceError",
    "RemediationStatus",
    "check_covariance",
    "check_symmetric",
    "is_positive_definite",
    "repair_eigenvalue_clip",
]

# CARA-produced covariances (e.g. the Omitron case) carry ~1e-15 relative asymmetry from
# text round-tripping; anything beyond 1e-8 is a real data error, not rounding.
DEFAULT_SYMMETRY_RTOL = 1e-8

RemediationStatus = Literal[
    "positive_definite", "positive_semidefinite", "remediated", "not_remediable"
]


class CovarianceError(ValueError):
    """A covariance that is malformed, asymmetric or not positive definite (and not repaired)."""


@dataclass(frozen=True)
class CovarianceRemediation:
    """What :func:`check_covariance` found and did to one covariance.

    ``eigenvalues`` are those of the symmetrised input (ascending, empty when the entries are
    not finite); ``clipped_eigenvalues`` the ones raised to ``floor``; all in the squared unit
    of the matrix. ``reason`` says in words what was done or why nothing could be.
    """

    name: str
    status: RemediationStatus
    eigenvalues: tuple[float, ...]
    clipped_eigenvalues: tuple[float, ...]
    floor: float
    reason: str

    @property
    def remediated(self) -> bool:
        """True when eigenvalues were clipped (the Pc comes with a warning)."""
        return self.status == "remediated"

    @property
    def defined(self) -> bool:
        """False when no Pc can be computed from this covariance."""
        return self.status != "not_remediable"

    def scaled(self, factor: float) -> CovarianceRemediation:
        """The same verdict for the matrix multiplied by ``factor`` (a change of unit)."""
        return CovarianceRemediation(
            self.name,
            self.status,
            tuple(v * factor for v in self.eigenvalues),
            tuple(v * factor for v in self.clipped_eigenvalues),
            self.floor * factor,
            self.reason,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (eigenvalues as lists of floats)."""
        return {
            "covariance": self.name,
            "status": self.status,
            "eigenvalues": list(self.eigenvalues),
            "clipped_eigenvalues": list(self.clipped_eigenvalues),
            "floor": self.floor,
            "reason": self.reason,
        }


class NotRemediableCovarianceError(CovarianceError):
    """No Pc can be defined from this covariance; ``remediation`` says why."""

    def __init__(self, remediation: CovarianceRemediation) -> None:
        super().__init__(f"{remediation.name}: {remediation.reason}")
        self.remediation = remediation


@dataclass(frozen=True)
class CovarianceCheck:
    """Outcome of :func:`check_covariance`: the matrix to use and what was done to it.

    ``matrix`` is the symmetrised (and, if remediated, eigenvalue-clipped) covariance.
    """

    matrix: NDArray[np.float64]
    remediation: CovarianceRemediation

    @property
    def repaired(self) -> bool:
        return self.remediation.remediated

    @property
    def eigenvalues(self) -> NDArray[np.float64]:
        """Eigenvalues of the symmetrised input before any clipping (ascending)."""
        return np.asarray(self.remediation.eigenvalues, dtype=np.float64)

    @property
    def clipped_count(self) -> int:
        return len(self.remediation.clipped_eigenvalues)


def _as_square(cov: ArrayLike, name: str) -> NDArray[np.float64]:
    a = np.asarray(cov, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise CovarianceError(f"{name} must be a square 2-D matrix, got shape {a.shape}")
    return a


def _require_finite(a: NDArray[np.float64], name: str, floor: float) -> None:
    if not np.all(np.isfinite(a)):
        raise NotRemediableCovarianceError(
            CovarianceRemediation(
                name,
                "not_remediable",
                (),
                (),
                floor,
                "contains NaN or infinite entries: no eigenvalues, nothing to remediate",
            )
        )


def check_symmetric(
    cov: ArrayLike, *, rtol: float = DEFAULT_SYMMETRY_RTOL, name: str = "covariance"
) -> NDArray[np.float64]:
    """Return ``(C + C.T) / 2`` or raise :class:`CovarianceError` if ``C`` is not symmetric.

    The asymmetry is measured as ``max|C - C.T| / max|C|`` so the test is unit-free. NaN or
    infinite entries raise :class:`NotRemediableCovarianceError`.
    """
    a = _as_square(cov, name)
    _require_finite(a, name, 0.0)
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


def _usable_after_clip(rep: NDArray[np.float64], floor: float, lam_max: float) -> bool:
    """RemediateCovariance2x2's test: a positive floor must give a Cholesky-factorable
    matrix; a zero floor a matrix that is PSD to rounding (it is only eigen-factored)."""
    if floor > 0.0:
        return is_positive_definite(rep)
    tol = 8.0 * len(rep) * float(np.finfo(np.float64).eps) * lam_max
    return float(np.linalg.eigvalsh(rep)[0]) >= -tol


def _negative_variance(diag: NDArray[np.float64], floor: float) -> int | None:
    """Index of a diagonal element that is negative beyond rounding, if any."""
    tol = floor + 64.0 * np.finfo(np.float64).eps * float(np.max(np.abs(diag)))
    bad = np.nonzero(diag < -tol)[0]
    return int(bad[0]) if bad.size else None


# RemediateCovariance2x2: when clipping at the standard floor leaves a matrix that still fails
# a Cholesky factorisation (round-off in very elongated covariances), CARA retries with the
# clipping factors Fclip = 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, i.e. floors 9 ... 9e4 times 1e-4's.
_FLOOR_LADDER = (1.0, 9.0, 100.0, 900.0, 1e4, 9e4)


def _remediate(
    name: str, sym: NDArray[np.float64], w: NDArray[np.float64], floor: float
) -> tuple[NDArray[np.float64] | None, CovarianceRemediation]:
    """Clip ``sym`` (eigenvalues ``w``, ascending, some below ``floor``): the clipped matrix
    and the verdict, or None and a ``not_remediable`` verdict saying why."""
    eig = tuple(float(x) for x in w)
    lam_max = float(w[-1])
    below = tuple(float(x) for x in w[w < floor])
    if lam_max <= 0.0:
        reason = (
            "no positive eigenvalue: no direction carries variance, so clipping would invent "
            "the whole covariance (CARA PcCircle refuses two non-positive eigenvalues)"
        )
        return None, CovarianceRemediation(name, "not_remediable", eig, below, floor, reason)
    neg = _negative_variance(np.diag(sym), floor)
    if neg is not None:
        reason = (
            f"diagonal element {neg + 1} is a negative variance: the matrix is corrupt, not "
            "rounded, and clipping would hide it (stricter than CARA, which would clip)"
        )
        return None, CovarianceRemediation(name, "not_remediable", eig, below, floor, reason)
    ratio = float(w[0]) / lam_max
    for factor in _FLOOR_LADDER if floor > 0.0 else (1.0,):
        used = floor * factor
        rep, _w, n_clip = repair_eigenvalue_clip(sym, used)
        if not _usable_after_clip(rep, used, lam_max):
            continue
        kind = "negative" if w[0] < 0.0 else "zero" if w[0] == 0.0 else "tiny"
        reason = (
            f"{n_clip} of {len(eig)} eigenvalues ({kind}, smallest/largest {ratio:.3e}) clipped "
            "to the floor by CARA eigenvalue clipping"
        )
        if factor > 1.0:
            reason += (
                f"; the standard floor left it not positive definite in floating point, so "
                f"the floor was raised {factor:g}-fold as CARA RemediateCovariance2x2 does"
            )
        clipped = tuple(float(x) for x in w[w < used])
        return rep, CovarianceRemediation(name, "remediated", eig, clipped, used, reason)
    reason = (
        f"too ill-conditioned to remediate (smallest/largest eigenvalue {ratio:.3e}): clipped "
        f"up to {_FLOOR_LADDER[-1] if floor > 0.0 else 1:g} times the floor it still is not "
        "positive definite in floating point (CARA RemediateCovariance2x2 gives NaN here)"
    )
    return None, CovarianceRemediation(name, "not_remediable", eig, below, floor, reason)


def check_covariance(
    cov: ArrayLike,
    *,
    repair: bool = True,
    floor: float = 0.0,
    symmetry_rtol: float = DEFAULT_SYMMETRY_RTOL,
    name: str = "covariance",
) -> CovarianceCheck:
    """Validate and, if needed, remediate a covariance (see the module for the rules).

    Parameters
    ----------
    repair:
        If True, eigenvalues below ``floor`` are clipped to ``floor`` (CARA) and the check's
        ``remediation.status`` is ``"remediated"``; a covariance that cannot be remediated
        raises :class:`NotRemediableCovarianceError`. If False, any eigenvalue ``<= floor``
        (or ``< 0`` when ``floor`` is 0) raises :class:`CovarianceError`.
    floor:
        Smallest eigenvalue accepted, in the covariance's squared length unit. CARA uses
        ``(1e-4 * HBR)**2`` on position covariances and 0 on covariances it only samples.
    """
    if floor < 0.0:
        raise ValueError("eigenvalue floor must be >= 0")
    sym = check_symmetric(cov, rtol=symmetry_rtol, name=name)
    w = np.asarray(np.linalg.eigvalsh(sym), dtype=np.float64)
    if not np.any(w < floor):
        status: RemediationStatus = "positive_definite" if w[0] > 0.0 else "positive_semidefinite"
        eig = tuple(float(x) for x in w)
        none = CovarianceRemediation(name, status, eig, (), floor, "no eigenvalue below the floor")
        return CovarianceCheck(sym, none)
    if not repair:
        lam_max = float(np.max(np.abs(w)))
        raise CovarianceError(
            f"{name} is not positive definite: smallest eigenvalue {float(w[0]):.6e} "
            f"(largest |eigenvalue| {lam_max:.6e}, floor {floor:.3e}); "
            "pass repair=True to clip eigenvalues as CARA does"
        )
    rep, verdict = _remediate(name, sym, w, floor)
    if rep is None:
        raise NotRemediableCovarianceError(verdict)
    return CovarianceCheck(rep, verdict)
