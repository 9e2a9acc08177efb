"""A CDM built from catalog element sets, for events found by screening.

The public catalog carries no covariance, so each object gets a documented default RTN
covariance (COVARIANCE_METHOD = DEFAULT, explained in a COMMENT): diagonal, with position
sigmas of the order Flohrer, Krag & Klinkrad (2008, "Assessment and categorization of TLE
orbit errors for the US SSN catalogue") report for LEO element sets near epoch (radial
~0.1 km, along-track ~1 km, cross-track ~0.3 km), and velocity sigmas consistent with them
through the mean motion (about n x the coupled position sigma, n ~ 1.1e-3 rad/s in LEO).
A Pc computed from such a CDM is a screening figure, not an operational one.

States are SGP4 (TEME) at TCA rotated to GCRF, the inertial frame of CCSDS 508.0-B-1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from astroshield.astro.dynamics.elements import ElementSet, epoch_to_julian_date, to_satrec
from astroshield.astro.dynamics.frames import rtn_rotation, teme_to_gcrf
from astroshield.astro.dynamics.propagation import SGP4ErrorCode
from astroshield.astro.formats.cdm import (
    Cdm,
    CdmCovariance,
    CdmHeader,
    CdmObject,
    CdmObjectMetadata,
    CdmRelativeData,
    CdmStateVector,
)

F64 = NDArray[np.float64]

DEFAULT_POSITION_SIGMA_RTN_M = (100.0, 1000.0, 300.0)
DEFAULT_VELOCITY_SIGMA_RTN_M_S = (1.0, 0.2, 0.3)
COVARIANCE_COMMENT = (
    "covariance: default (no covariance in the catalog element set); diagonal RTN sigmas "
    f"R/T/N {DEFAULT_POSITION_SIGMA_RTN_M} m, "
    f"RDOT/TDOT/NDOT {DEFAULT_VELOCITY_SIGMA_RTN_M_S} m/s (Flohrer et al. 2008 LEO TLE errors)"
)
REF_FRAME = "GCRF"


class PropagationError(ValueError):
    """SGP4 cannot give a state for an object at TCA."""


@dataclass(frozen=True, slots=True)
class ObjectAtTca:
    elements: ElementSet
    name: str | None
    position_km: F64
    velocity_km_s: F64


def default_covariance_rtn() -> F64:
    """6x6 RTN covariance in CDM units (m², m²/s, m²/s²)."""
    sigmas = np.array([*DEFAULT_POSITION_SIGMA_RTN_M, *DEFAULT_VELOCITY_SIGMA_RTN_M_S])
    return np.diag(sigmas**2)


def state_at(elements: ElementSet, tca: datetime, name: str | None = None) -> ObjectAtTca:
    """SGP4 state at ``tca`` (aware UTC) in GCRF, km and km/s."""
    whole, fraction = epoch_to_julian_date(tca.astimezone(UTC))
    code, r_teme, v_teme = to_satrec(elements).sgp4(whole, fraction)
    if code != 0:
        raise PropagationError(
            f"SGP4 fails for {elements.catalog_number} at TCA: {SGP4ErrorCode(code).reason}"
        )
    r, v = teme_to_gcrf(np.asarray(r_teme), np.asarray(v_teme), tca.astimezone(UTC))
    return ObjectAtTca(elements, name, np.asarray(r), np.asarray(v))


def _segment(label: str, item: ObjectAtTca, comments: Sequence[str]) -> CdmObject:
    r, v = item.position_km, item.velocity_km_s
    return CdmObject(
        metadata=CdmObjectMetadata(
            object=label,
            object_designator=item.elements.catalog_number,
            catalog_name="SATCAT",
            object_name=(item.name or item.elements.object_name or "UNKNOWN")[:80],
            international_designator=item.elements.object_id or "UNKNOWN",
            ephemeris_name="NONE",
            covariance_method="DEFAULT",
            maneuverable="N/A",
            ref_frame=REF_FRAME,
            comments=(
                f"state: SGP4 from the element set of epoch "
                f"{item.elements.epoch.isoformat()}, TEME rotated to GCRF",
            ),
        ),
        state=CdmStateVector(
            x_km=float(r[0]),
            y_km=float(r[1]),
            z_km=float(r[2]),
            x_dot_km_s=float(v[0]),
            y_dot_km_s=float(v[1]),
            z_dot_km_s=float(v[2]),
        ),
        covariance=CdmCovariance.from_matrix(default_covariance_rtn(), comments=comments),
    )


def build_cdm(
    primary: ObjectAtTca,
    secondary: ObjectAtTca,
    tca: datetime,
    *,
    message_id: str,
    originator: str,
    creation_date: datetime,
) -> Cdm:
    """OBJECT1 is the primary; relative position/velocity are secondary minus primary in
    the primary's RTN frame (508.0-B-1 §3.4)."""
    rotation = rtn_rotation(primary.position_km, primary.velocity_km_s)
    dr = secondary.position_km - primary.position_km
    dv = secondary.velocity_km_s - primary.velocity_km_s
    dr_rtn, dv_rtn = rotation @ dr * 1e3, rotation @ dv * 1e3

    def naive(moment: datetime) -> datetime:
        return moment.astimezone(UTC).replace(tzinfo=None)

    return Cdm(
        header=CdmHeader(
            creation_date=naive(creation_date),
            originator=originator,
            message_id=message_id,
            comments=("built from catalog element sets by a conjunction screening",),
        ),
        relative=CdmRelativeData(
            tca=naive(tca),
            miss_distance_m=float(np.linalg.norm(dr)) * 1e3,
            relative_speed_m_s=float(np.linalg.norm(dv)) * 1e3,
            relative_position_r_m=float(dr_rtn[0]),
            relative_position_t_m=float(dr_rtn[1]),
            relative_position_n_m=float(dr_rtn[2]),
            relative_velocity_r_m_s=float(dv_rtn[0]),
            relative_velocity_t_m_s=float(dv_rtn[1]),
            relative_velocity_n_m_s=float(dv_rtn[2]),
        ),
        object1=_segment("OBJECT1", primary, (COVARIANCE_COMMENT,)),
        object2=_segment("OBJECT2", secondary, (COVARIANCE_COMMENT,)),
    )
