"""Scalar 2-D Pc: one conjunction, as two inertial states or already in the encounter plane."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from astroshield.astro.conjunction.pc.planar.geometry import (
    CARA_FCLIP,
    MissConvention,
    encounter_plane,
)
from astroshield.astro.conjunction.pc.planar.integrals import (
    DEFAULT_REL_TOL,
    chan,
    foster_circle,
    foster_square,
)
from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    CovarianceRemediation,
    NotRemediableCovarianceError,
    check_covariance,
)

F64 = NDArray[np.float64]
Method = Literal["foster", "chan"]
HbrType = Literal["circle", "square", "square_equal_area"]


@dataclass(frozen=True)
class PcResult:
    """A 2-D Pc with the data needed to audit it.

    ``covariance_remediation`` is the verdict on the projected 2x2 covariance. When it is
    ``not_remediable`` the Pc is undefined: ``value`` is NaN, ``covariance`` NaN and
    ``undefined_reason`` says why.
    """

    value: float
    method: str
    hbr_type: str
    covariance_remediation: CovarianceRemediation
    miss: F64
    covariance: F64
    relative_speed: float | None = None

    @property
    def covariance_repaired(self) -> bool:
        return self.covariance_remediation.remediated

    @property
    def undefined_reason(self) -> str | None:
        """Why there is no Pc, or None when ``value`` is a number."""
        rem = self.covariance_remediation
        return None if rem.defined else f"{rem.name}: {rem.reason}"


def _undefined(
    miss: F64,
    method: str,
    hbr_type: str,
    remediation: CovarianceRemediation,
    relative_speed: float | None = None,
) -> PcResult:
    return PcResult(
        math.nan, method, hbr_type, remediation, miss, np.full((2, 2), math.nan), relative_speed
    )


def _pc_plane(
    miss: F64,
    cov: F64,
    hbr: float,
    method: Method,
    hbr_type: HbrType,
    chan_terms: int | None,
    rel_tol: float,
) -> float:
    if method == "chan":
        if hbr_type != "circle":
            raise ValueError("Chan's series is defined for a circular hard body only")
        return chan(miss, cov, hbr, chan_terms)
    if method != "foster":
        raise ValueError(f"unknown method {method!r}; expected 'foster' or 'chan'")
    if hbr_type == "circle":
        return foster_circle(miss, cov, hbr, rel_tol)
    if hbr_type == "square":
        return foster_square(miss, cov, hbr, rel_tol)
    if hbr_type == "square_equal_area":
        return foster_square(miss, cov, 0.5 * math.sqrt(math.pi) * hbr, rel_tol)
    raise ValueError(f"unknown hbr_type {hbr_type!r}")


def pc_encounter_plane_result(
    miss_xy: ArrayLike,
    cov_2x2: ArrayLike,
    hbr: float,
    method: Method = "foster",
    *,
    hbr_type: HbrType = "circle",
    chan_terms: int | None = None,
    repair: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
) -> PcResult:
    """Like :func:`pc_encounter_plane` but returns a :class:`PcResult`."""
    miss = np.asarray(miss_xy, dtype=np.float64).reshape(-1)
    if miss.shape != (2,) or not np.all(np.isfinite(miss)):
        raise ValueError("miss_xy must be a finite 2-vector")
    c = np.asarray(cov_2x2, dtype=np.float64)
    if c.shape != (2, 2):
        raise CovarianceError("cov_2x2 must be a 2x2 matrix")
    if not math.isfinite(hbr):
        raise ValueError("hbr must be finite")
    floor = (CARA_FCLIP * hbr) ** 2 if hbr > 0 else 0.0
    try:
        chk = check_covariance(c, repair=repair, floor=floor, name="encounter-plane covariance")
    except NotRemediableCovarianceError as exc:
        return _undefined(miss, method, hbr_type, exc.remediation)
    # CARA PcElrod returns 0 for a non-positive HBR rather than failing.
    value = (
        0.0
        if hbr <= 0.0
        else _pc_plane(miss, chk.matrix, hbr, method, hbr_type, chan_terms, rel_tol)
    )
    return PcResult(value, method, hbr_type, chk.remediation, miss, chk.matrix)


def pc_encounter_plane(
    miss_xy: ArrayLike,
    cov_2x2: ArrayLike,
    hbr: float,
    method: Method = "foster",
    *,
    hbr_type: HbrType = "circle",
    chan_terms: int | None = None,
    repair: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
) -> float:
    """2-D Pc for a miss vector and combined covariance already in the encounter plane.

    ``miss_xy`` is the relative position at TCA in the plane, ``cov_2x2`` the combined
    position covariance in the same axes, ``hbr`` the combined hard-body radius (same length
    unit). Square shapes have their sides along the given axes. ``hbr <= 0`` gives 0. A
    covariance that cannot be remediated gives NaN (see :func:`pc_encounter_plane_result`).
    """
    return pc_encounter_plane_result(
        miss_xy,
        cov_2x2,
        hbr,
        method,
        hbr_type=hbr_type,
        chan_terms=chan_terms,
        repair=repair,
        rel_tol=rel_tol,
    ).value


def pc_2d_result(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float,
    method: Method = "foster",
    *,
    hbr_type: HbrType = "circle",
    chan_terms: int | None = None,
    repair: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
    miss_convention: MissConvention = "cara",
) -> PcResult:
    """Like :func:`pc_2d` but returns a :class:`PcResult` (remediation, plane miss/covariance);
    an undefined Pc (covariance not remediable) is a NaN ``value`` with its reason."""
    if not math.isfinite(hbr):
        raise ValueError("hbr must be finite")
    try:
        ep = encounter_plane(
            r1, v1, cov1, r2, v2, cov2, hbr, repair=repair, miss_convention=miss_convention
        )
    except NotRemediableCovarianceError as exc:
        # The states passed encounter_plane's checks before the covariance failed.
        r = np.ravel(np.asarray(r1, dtype=np.float64) - np.asarray(r2, dtype=np.float64))
        v = np.ravel(np.asarray(v1, dtype=np.float64) - np.asarray(v2, dtype=np.float64))
        miss = np.array([float(np.linalg.norm(r)), 0.0])
        return _undefined(miss, method, hbr_type, exc.remediation, float(np.linalg.norm(v)))
    value = (
        0.0
        if hbr <= 0.0
        else _pc_plane(ep.miss, ep.covariance, hbr, method, hbr_type, chan_terms, rel_tol)
    )
    return PcResult(
        value,
        method,
        hbr_type,
        ep.covariance_remediation,
        ep.miss,
        ep.covariance,
        ep.relative_speed,
    )


def pc_2d(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float,
    method: Method = "foster",
    *,
    hbr_type: HbrType = "circle",
    chan_terms: int | None = None,
    repair: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
    miss_convention: MissConvention = "cara",
) -> float:
    """Short-encounter 2-D probability of collision of two objects at TCA.

    ``r*``, ``v*`` are inertial position/velocity at (or very near) TCA, ``cov*`` 3x3 position or
    6x6 position-velocity covariances in the same frame (only the position block is used), and
    ``hbr`` the combined hard-body radius; any consistent length unit. ``method`` is
    ``"foster"`` (adaptive integral, relative tolerance ``rel_tol``) or ``"chan"`` (series with
    ``chan_terms`` terms, default Chan's rule). ``hbr_type`` selects CARA's circle, square
    (half-width HBR) or equal-area square (half-width sqrt(pi)/2 HBR) for ``"foster"``.

    Non-positive-definite projected covariances are eigenvalue-clipped at ``(1e-4 HBR)^2`` as in
    CARA when ``repair`` is True (see :func:`pc_2d_result` for what was done), otherwise a
    :class:`CovarianceError` is raised. A covariance that cannot be remediated (see
    :mod:`astroshield.astro.dynamics.covariance`) gives NaN, the undefined Pc. A zero relative
    velocity raises :class:`DegenerateGeometryError`.
    """
    return pc_2d_result(
        r1,
        v1,
        cov1,
        r2,
        v2,
        cov2,
        hbr,
        method,
        hbr_type=hbr_type,
        chan_terms=chan_terms,
        repair=repair,
        rel_tol=rel_tol,
        miss_convention=miss_convention,
    ).value
