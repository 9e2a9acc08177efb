"""Collision-probability report for a CCSDS CDM: every Pc method of
:mod:`astroshield.astro.conjunction.pc`.

:func:`pc_report` turns a :class:`~astroshield.astro.formats.cdm.Cdm` into a :class:`PcReport`,
whose :meth:`PcReport.as_dict` is the JSON-ready form stored with each CDM and served by the
API::

    {"pc_2d_foster": float, "pc_2d_chan": float, "pc_max": float, "pc_3d": float,
     "pc_mc": {"value": float, "ci95": [lo, hi]}, "miss_distance_m": float,
     "tca": "2010-03-13T22:37:52.618Z", ...audit keys...,
     "covariance_remediation": {"status": ..., "reason": ..., "covariances": [...]},
     "pc_undefined_reason": {}}

Non-positive-definite covariances are remediated as CARA does (eigenvalue clipping, see
:mod:`astroshield.astro.dynamics.covariance`); ``covariance_remediation`` says what was done to
each covariance (eigenvalues and floor in the CDM's units: m², m²/s, m²/s²). A covariance that
cannot be remediated leaves the Pc of the methods that use it undefined: ``null`` in JSON, with
the reason in ``pc_undefined_reason`` (method name -> reason).

Conversions (the part that is easy to get wrong):

* CDM state vectors are km, km/s; the RTN covariances m², m²/s, m²/s² (508.0-B-1 §3.5). Each
  object's covariance is rotated from *its own* RTN frame (built from its own state) into the
  Cartesian axes of its REF_FRAME, and scaled by 1e-6 to km units, because ``pc_3d`` and
  ``pc_monte_carlo`` propagate with Earth's mu in km³/s².
* Both objects must end in one inertial frame. Two states in the same inertial frame
  (EME2000, GCRF, ICRF or TEME) are used as they are: Pc is invariant under a common rotation.
  Otherwise (different frames, or ITRF, which rotates with the Earth) both are mapped to GCRF at
  TCA with :mod:`astroshield.astro.dynamics.frames` (EME2000 via the IAU 2000 frame bias),
  covariances
  through the 6x6 Jacobian of that linear map.
* The combined hard-body radius is chosen by
  :func:`~astroshield.astro.conjunction.hard_body.hard_body_radius` (request, spacecraft,
  CDM, default, in that order) and reported with its source in ``hbr_m``/``hbr_source``; a
  warning about that choice (e.g. the default was used) is one of ``issues``.

Pc itself is never computed here; see :mod:`astroshield.astro.conjunction.pc` for the methods.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import erfa  # pyerfa ships no stubs; pyproject overrides omit it
import numpy as np
from numpy.typing import NDArray

from astroshield.astro.conjunction.hard_body import (
    HbrInputs,
    combined_hbr_m,
    hard_body_radius,
)
from astroshield.astro.conjunction.pc import pc_2d_result, pc_3d, pc_max, pc_monte_carlo
from astroshield.astro.dynamics import frames
from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    CovarianceRemediation,
    NotRemediableCovarianceError,
)
from astroshield.astro.formats.cdm import Cdm, CdmError, CdmObject

F64 = NDArray[np.float64]
_T = TypeVar("_T")

__all__ = [
    "InertialPair",
    "MonteCarloPc",
    "PcReport",
    "combined_hbr_m",
    "format_tca",
    "inertial_pair",
    "pc_report",
]

# Frames whose axes do not rotate with the Earth (TEME is quasi-inertial, as SGP4 uses it).
_INERTIAL = frozenset({"EME2000", "GCRF", "ICRF", "TEME"})

# MISS_DISTANCE is often given to the metre while states carry millimetres: differences up to
# 1 m (or 0.1 % of the miss) are rounding, beyond that the message is inconsistent.
_MISS_ABS_TOL_M = 1.0
_MISS_REL_TOL = 1e-3


class InertialPair:
    """Both objects' states (km, km/s) and 6x6 covariances (km units) in one inertial frame."""

    def __init__(self, frame: str, r1: F64, v1: F64, c1: F64, r2: F64, v2: F64, c2: F64) -> None:
        self.frame = frame
        self.r1, self.v1, self.c1 = r1, v1, c1
        self.r2, self.v2, self.c2 = r2, v2, c2


def _basis_jacobian(transform: Any, tca: datetime) -> F64:
    # The frame maps are linear in (r, v) at a fixed epoch: r' = M r, v' = M v + Mdot r, so
    # transforming the six unit states gives the Jacobian's columns exactly.
    eye = np.eye(6)
    r_out, v_out = transform(eye[:, :3], eye[:, 3:], tca)
    jac = np.zeros((6, 6))
    jac[:3, :] = np.asarray(r_out, dtype=np.float64).T
    jac[3:, :] = np.asarray(v_out, dtype=np.float64).T
    return jac


def _to_gcrf_jacobian(frame: str, tca: datetime) -> F64:
    if frame in ("GCRF", "ICRF"):
        # GCRF axes are the ICRS axes; the geocentric origin does not matter for rotations.
        return np.eye(6)
    if frame == "EME2000":
        # Mean J2000 = B * GCRS with B the IAU 2000 frame-bias matrix (time independent).
        rb, _rp, _rbp = erfa.bp00(2451545.0, 0.0)
        b = np.asarray(rb, dtype=np.float64).T
        jac = np.zeros((6, 6))
        jac[:3, :3] = b
        jac[3:, 3:] = b
        return jac
    if frame == "TEME":
        return _basis_jacobian(frames.teme_to_gcrf, tca)
    if frame == "ITRF":
        return _basis_jacobian(frames.itrf_to_gcrf, tca)
    raise CdmError(f"no transform from REF_FRAME {frame!r} to GCRF", keyword="REF_FRAME")


def _native(obj: CdmObject) -> tuple[F64, F64, F64]:
    return obj.position_km(), obj.velocity_km_s(), obj.covariance_inertial_km()


def inertial_pair(cdm: Cdm) -> InertialPair:
    """States and covariances of both objects in one inertial frame, km units (see module)."""
    f1, f2 = cdm.object1.metadata.ref_frame, cdm.object2.metadata.ref_frame
    r1, v1, c1 = _native(cdm.object1)
    r2, v2, c2 = _native(cdm.object2)
    if f1 == f2 and f1 in _INERTIAL:
        return InertialPair(f1, r1, v1, c1, r2, v2, c2)
    out: list[F64] = []
    for frame, r, v, c in ((f1, r1, v1, c1), (f2, r2, v2, c2)):
        jac = _to_gcrf_jacobian(frame, cdm.relative.tca)
        x = jac @ np.concatenate([r, v])
        out.extend([x[:3], x[3:], jac @ c @ jac.T])
    return InertialPair("GCRF", *out)


def format_tca(tca: datetime) -> str:
    """ISO-8601 UTC with milliseconds (rounded half up) and a ``Z`` suffix."""
    t = tca + timedelta(microseconds=500)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class MonteCarloPc:
    """Monte Carlo Pc and its 95 % binomial confidence interval (both None when undefined)."""

    value: float | None
    ci95: tuple[float, float] | None

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": None if self.ci95 is None else list(self.ci95)}


# Worst first: the report's overall status is the worst of its covariances'.
_STATUS_ORDER = ("not_remediable", "remediated", "positive_semidefinite", "positive_definite")

# CDM covariances are m², m²/s, m²/s²; the Pc methods work in km.
_KM2_TO_M2 = 1e6


def remediation_summary(items: tuple[CovarianceRemediation, ...]) -> dict[str, Any]:
    """``{"status", "reason", "covariances": [...]}``: the worst status over ``items`` and
    the reasons of those that were not positive (semi-)definite."""
    worst = min(
        (item.status for item in items),
        key=_STATUS_ORDER.index,
        default="positive_definite",
    )
    notes = [f"{item.name}: {item.reason}" for item in items if item.status in _STATUS_ORDER[:2]]
    return {
        "status": worst,
        "reason": "; ".join(notes) if notes else "every covariance is positive (semi-)definite",
        "covariances": [item.as_dict() for item in items],
    }


@dataclass(frozen=True, slots=True)
class PcReport:
    """Pc of one CDM by every method, with what is needed to audit it (see :func:`pc_report`).

    ``tca`` is the CDM's TCA as :func:`format_tca` writes it; ``cdm_collision_probability`` is
    the originator's own Pc when the message states one.
    """

    pc_2d_foster: float | None
    pc_2d_chan: float | None
    pc_max: float | None
    pc_3d: float | None
    pc_mc: MonteCarloPc
    miss_distance_m: float
    tca: str
    hbr_m: float
    hbr_source: str
    frame: str
    relative_speed_m_s: float
    miss_distance_recomputed_m: float
    miss_distance_discrepancy_m: float
    covariance_repaired: bool
    cdm_collision_probability: float | None
    pc_mc_samples: int
    pc_mc_hits: int
    issues: tuple[str, ...]
    covariance_remediation: tuple[CovarianceRemediation, ...] = ()
    pc_undefined_reason: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready form, keys in this order (stored with the CDM, served as is)."""
        return {
            "pc_2d_foster": self.pc_2d_foster,
            "pc_2d_chan": self.pc_2d_chan,
            "pc_max": self.pc_max,
            "pc_3d": self.pc_3d,
            "pc_mc": self.pc_mc.as_dict(),
            "miss_distance_m": self.miss_distance_m,
            "tca": self.tca,
            "hbr_m": self.hbr_m,
            "hbr_source": self.hbr_source,
            "frame": self.frame,
            "relative_speed_m_s": self.relative_speed_m_s,
            "miss_distance_recomputed_m": self.miss_distance_recomputed_m,
            "miss_distance_discrepancy_m": self.miss_distance_discrepancy_m,
            "covariance_repaired": self.covariance_repaired,
            "cdm_collision_probability": self.cdm_collision_probability,
            "pc_mc_samples": self.pc_mc_samples,
            "pc_mc_hits": self.pc_mc_hits,
            "issues": list(self.issues),
            "covariance_remediation": remediation_summary(self.covariance_remediation),
            "pc_undefined_reason": dict(self.pc_undefined_reason),
        }


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


# The Pc functions name the inputs cov1/cov2; the report speaks of the CDM's objects.
_OBJECT_NAMES = {"cov1": "OBJECT1 6x6 covariance", "cov2": "OBJECT2 6x6 covariance"}


def _named(verdicts: tuple[CovarianceRemediation, ...]) -> tuple[CovarianceRemediation, ...]:
    """Each covariance once (a bad input is judged by several methods), with CDM names."""
    seen: dict[str, CovarianceRemediation] = {}
    for v in verdicts:
        name = _OBJECT_NAMES.get(v.name, v.name)
        seen.setdefault(name, replace(v, name=name))
    return tuple(seen.values())


def _or_undefined(
    method: str, compute: Callable[[], _T], undefined: dict[str, str]
) -> tuple[_T | None, CovarianceRemediation | None]:
    """Run one Pc method; a covariance it cannot use makes its Pc undefined, with the reason
    (and the failing covariance's verdict when it was judged not remediable)."""
    try:
        return compute(), None
    except NotRemediableCovarianceError as exc:
        undefined[method] = str(exc)
        return None, exc.remediation
    except CovarianceError as exc:  # e.g. a propagated position covariance that is singular
        undefined[method] = str(exc)
        return None, None


def _miss_distance_issue(cdm: Cdm, miss_m: float) -> list[str]:
    """An issue line when MISS_DISTANCE disagrees with the states by more than max(1 m, 0.1 %)."""
    discrepancy = miss_m - cdm.relative.miss_distance_m
    tol = max(_MISS_ABS_TOL_M, _MISS_REL_TOL * cdm.relative.miss_distance_m)
    if abs(discrepancy) <= tol:
        return []
    return [
        f"MISS_DISTANCE {cdm.relative.miss_distance_m} m differs from |r1 - r2| = "
        f"{miss_m:.3f} m by {discrepancy:.3f} m (tolerance {tol:.3f} m)"
    ]


def pc_report(
    cdm: Cdm,
    *,
    hbr: HbrInputs | None = None,
    hbr_m: float | None = None,
    mc_samples: int = 100_000,
    seed: int = 0,
) -> PcReport:
    """Pc of a CDM by 2-D Foster, 2-D Chan, Alfano max, 3-D (Coppola/Hall) and Monte Carlo.

    ``hbr`` holds what the combined hard-body radius may come from besides the CDM (see
    :mod:`astroshield.astro.conjunction.hard_body`); ``hbr_m`` is short for
    ``HbrInputs(requested_m=hbr_m)``, a requested radius in metres, which wins over the CDM.
    Non-positive-definite covariances are eigenvalue-clipped as CARA does:
    ``covariance_repaired`` and ``covariance_remediation`` say so. A covariance that cannot be
    remediated makes the Pc of the methods using it None, with ``pc_undefined_reason``. The miss
    distance recomputed from the two states is compared with MISS_DISTANCE:
    ``miss_distance_discrepancy_m`` (recomputed - message) and an entry in ``issues`` when it
    exceeds max(1 m, 0.1 %).

    Raises :class:`ValueError` without a usable hard-body radius (or with both ``hbr`` and
    ``hbr_m``) or for an asymmetric covariance,
    :class:`~astroshield.astro.conjunction.pc.DegenerateGeometryError` for a (near) zero
    relative velocity (no encounter plane) and :class:`~astroshield.astro.formats.cdm.CdmError`
    for a REF_FRAME pair that cannot be put in one inertial frame.
    """
    if hbr is not None and hbr_m is not None:
        raise ValueError("pass the hard-body radius as hbr or as hbr_m, not both")
    radius = hard_body_radius(cdm, hbr if hbr is not None else HbrInputs(requested_m=hbr_m))
    pair = inertial_pair(cdm)
    hbr_km = radius.value_m * 1e-3
    states = (pair.r1, pair.v1, pair.c1, pair.r2, pair.v2, pair.c2)
    foster = pc_2d_result(*states, hbr_km, "foster")
    chan = pc_2d_result(*states, hbr_km, "chan")
    pmax = pc_max(*states, hbr_km)
    planar = (foster.undefined_reason, chan.undefined_reason, pmax.undefined_reason)
    undefined = {
        m: r for m, r in zip(("pc_2d_foster", "pc_2d_chan", "pc_max"), planar, strict=True) if r
    }
    p3, bad3 = _or_undefined("pc_3d", lambda: pc_3d(*states, hbr_km), undefined)
    mc, bad_mc = _or_undefined(
        "pc_mc", lambda: pc_monte_carlo(*states, hbr_km, mc_samples, seed), undefined
    )
    sampled = mc.covariance_remediation if mc is not None else ()
    if not sampled and p3 is not None:
        sampled = p3.covariance_remediation
    verdicts = _named(
        (foster.covariance_remediation, *sampled, *(v for v in (bad_mc, bad3) if v is not None))
    )

    miss_m = float(np.linalg.norm(pair.r1 - pair.r2)) * 1e3
    speed_m_s = float(np.linalg.norm(pair.v1 - pair.v2)) * 1e3
    discrepancy = miss_m - cdm.relative.miss_distance_m
    issues = [*cdm.issues, *radius.warnings, *_miss_distance_issue(cdm, miss_m)]
    return PcReport(
        pc_2d_foster=_defined(foster.value),
        pc_2d_chan=_defined(chan.value),
        pc_max=_defined(pmax.pc),
        pc_3d=None if p3 is None else _defined(p3.value),
        pc_mc=(
            MonteCarloPc(None, None)
            if mc is None
            else MonteCarloPc(float(mc.pc), (float(mc.ci_low), float(mc.ci_high)))
        ),
        miss_distance_m=float(cdm.relative.miss_distance_m),
        tca=format_tca(cdm.relative.tca),
        hbr_m=radius.value_m,
        hbr_source=radius.source,
        frame=pair.frame,
        relative_speed_m_s=speed_m_s,
        miss_distance_recomputed_m=miss_m,
        miss_distance_discrepancy_m=discrepancy,
        covariance_repaired=any(v.remediated for v in verdicts),
        cdm_collision_probability=cdm.relative.collision_probability,
        pc_mc_samples=0 if mc is None else int(mc.samples),
        pc_mc_hits=0 if mc is None else int(mc.hits),
        issues=tuple(issues),
        covariance_remediation=tuple(v.scaled(_KM2_TO_M2) for v in verdicts),
        pc_undefined_reason=tuple(undefined.items()),
    )
