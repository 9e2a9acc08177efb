"""The CARA encounter plane: frame, projected miss vector and combined covariance.

Relative state ``r = r1 - r2``, ``v = v1 - v2``; encounter frame ``y = v/|v|``,
``z = (r x v)/|r x v|``, ``x = y x z``; combined covariance ``C1 + C2`` projected onto
``(x, z)``. With ``miss_convention="cara"`` the full 3-D ``|r|`` is put on the x axis (as CARA
does); ``"projected"`` uses the in-plane component. At TCA the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    CovarianceRemediation,
    check_covariance,
    check_symmetric,
)

F64 = NDArray[np.float64]
MissConvention = Literal["cara", "projected"]

# CARA clips projected-covariance eigenvalues at (Fclip * HBR)^2 with Fclip = 1e-4 (PcCircle.m).
CARA_FCLIP = 1e-4


class DegenerateGeometryError(ValueError):
    """Encounter geometry for which the 2-D encounter plane is undefined (|v_rel| ~ 0)."""


@dataclass(frozen=True)
class EncounterPlane:
    """Projection of a conjunction onto the CARA encounter plane.

    ``basis`` rows are the inertial unit vectors ``x`` and ``z`` of the plane, ``y_axis`` is the
    relative-velocity direction. ``miss`` and ``covariance`` are in the plane's (x, z) axes;
    ``covariance_remediation`` says whether the projected covariance was eigenvalue-clipped.
    """

    miss: F64
    covariance: F64
    basis: F64
    y_axis: F64
    relative_speed: float
    covariance_remediation: CovarianceRemediation

    @property
    def covariance_repaired(self) -> bool:
        return self.covariance_remediation.remediated


def _vec3(a: ArrayLike, name: str) -> F64:
    out = np.asarray(a, dtype=np.float64).reshape(-1)
    if out.shape != (3,) or not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be a finite 3-vector")
    return out


def _position_block(cov: ArrayLike, name: str) -> F64:
    c = np.asarray(cov, dtype=np.float64)
    if c.shape not in ((3, 3), (6, 6)):
        raise CovarianceError(f"{name} must be 3x3 (position) or 6x6 (position-velocity)")
    # Symmetry is checked on the full matrix so a bad 6x6 is not silently accepted.
    sym = check_symmetric(c, name=name)
    return sym[:3, :3]


def _perpendicular(u: F64) -> F64:
    # Any unit vector normal to u; used when r is parallel to v (or zero), where CARA's z axis
    # (r x v)/|r x v| is undefined but the miss in the plane is simply zero.
    trial = np.array([1.0, 0.0, 0.0]) if abs(u[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    p = np.cross(u, trial)
    out: F64 = p / np.linalg.norm(p)
    return out


def encounter_plane(
    r1: ArrayLike,
    v1: ArrayLike,
    cov1: ArrayLike,
    r2: ArrayLike,
    v2: ArrayLike,
    cov2: ArrayLike,
    hbr: float = 0.0,
    *,
    repair: bool = True,
    miss_convention: MissConvention = "cara",
    min_relative_speed: float = 0.0,
) -> EncounterPlane:
    """Build the CARA encounter frame and project miss vector and combined covariance.

    Raises :class:`DegenerateGeometryError` when ``|v1 - v2|`` is zero, below
    ``min_relative_speed`` or below 1e-12 of the larger speed (the plane is then undefined and a
    2-D Pc meaningless; use :func:`~astroshield.astro.conjunction.pc.pc_3d` or Monte Carlo), and
    :class:`~astroshield.astro.dynamics.covariance.NotRemediableCovarianceError` when the
    projected covariance cannot be remediated.
    """
    r1v, v1v, r2v, v2v = _vec3(r1, "r1"), _vec3(v1, "v1"), _vec3(r2, "r2"), _vec3(v2, "v2")
    c = _position_block(cov1, "cov1") + _position_block(cov2, "cov2")
    r = r1v - r2v
    v = v1v - v2v
    speed = float(np.linalg.norm(v))
    scale = max(float(np.linalg.norm(v1v)), float(np.linalg.norm(v2v)))
    if speed == 0.0 or speed <= min_relative_speed or speed <= 1e-12 * scale:
        raise DegenerateGeometryError(
            f"relative speed {speed:.3e} is (near) zero: the encounter plane is undefined and "
            "the 2-D short-encounter assumption does not hold; use pc_3d or pc_monte_carlo"
        )
    y = v / speed
    h = np.cross(r, v)
    hn = float(np.linalg.norm(h))
    rn = float(np.linalg.norm(r))
    z = h / hn if hn > 1e-14 * max(rn, 1e-300) * speed else _perpendicular(y)
    x = np.cross(y, z)
    basis = np.vstack([x, z])
    cp = basis @ c @ basis.T
    floor = (CARA_FCLIP * hbr) ** 2 if hbr > 0 else 0.0
    chk = check_covariance(cp, repair=repair, floor=floor, name="projected 2x2 covariance")
    miss = np.array([rn, 0.0]) if miss_convention == "cara" else basis @ r
    return EncounterPlane(miss, chk.matrix, basis, y, speed, chk.remediation)


def encounter_plane_batch(
    r1: ArrayLike, v1: ArrayLike, cov1: ArrayLike, r2: ArrayLike, v2: ArrayLike, cov2: ArrayLike
) -> tuple[F64, F64]:
    """Vectorised CARA projection: returns ``(miss (n, 2), cov (n, 2, 2))`` (CARA |r| on x).

    Inputs are ``(n, 3)`` states and ``(n, 3, 3)`` or ``(n, 6, 6)`` covariances.
    Raises :class:`DegenerateGeometryError` if any relative speed is zero.
    """
    r = np.asarray(r1, dtype=np.float64) - np.asarray(r2, dtype=np.float64)
    v = np.asarray(v1, dtype=np.float64) - np.asarray(v2, dtype=np.float64)
    c = (
        np.asarray(cov1, dtype=np.float64)[:, :3, :3]
        + np.asarray(cov2, dtype=np.float64)[:, :3, :3]
    )
    speed = np.linalg.norm(v, axis=1)
    if np.any(speed == 0.0) or not np.all(np.isfinite(speed)):
        bad = int(np.argmax(~(speed > 0.0)))
        raise DegenerateGeometryError(f"event {bad}: zero or non-finite relative speed")
    y = v / speed[:, None]
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=1)
    rn = np.linalg.norm(r, axis=1)
    ok = hn > 1e-14 * np.maximum(rn, 1e-300) * speed
    z = np.empty_like(h)
    z[ok] = h[ok] / hn[ok, None]
    for i in np.nonzero(~ok)[0]:
        z[i] = _perpendicular(y[i])
    x = np.cross(y, z)
    basis = np.stack([x, z], axis=1)  # (n, 2, 3)
    cp = np.einsum("nij,njk,nlk->nil", basis, c, basis)
    miss = np.stack([rn, np.zeros_like(rn)], axis=1)
    return miss, cp
