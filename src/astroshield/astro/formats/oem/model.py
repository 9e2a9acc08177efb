"""The OEM as frozen dataclasses: header, segments of metadata, states and covariances.

Epochs are naive :class:`datetime.datetime` labels in the segment's TIME_SYSTEM; covariances
are the 21 lower-triangular elements in CCSDS row order (km², km²/s, km²/s²).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from astroshield.astro.formats.oem.checks import check_header, check_segment
from astroshield.astro.formats.oem.errors import OemError

FloatArray: TypeAlias = NDArray[np.float64]
Vector3: TypeAlias = tuple[float, float, float]


@dataclass(frozen=True)
class OemHeader:
    creation_date: datetime
    originator: str
    version: str = "3.0"
    classification: str | None = None
    message_id: str | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class OemMetadata:
    object_name: str
    object_id: str
    center_name: str
    ref_frame: str
    time_system: str
    start_time: datetime
    stop_time: datetime
    ref_frame_epoch: datetime | None = None
    useable_start_time: datetime | None = None
    useable_stop_time: datetime | None = None
    interpolation: str | None = None
    interpolation_degree: int | None = None
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class OemStateVector:
    epoch: datetime
    position_km: Vector3
    velocity_km_s: Vector3
    acceleration_km_s2: Vector3 | None = None


@dataclass(frozen=True)
class OemCovariance:
    epoch: datetime
    lower_triangle: tuple[float, ...]
    """21 elements, CCSDS row order (see module notes)."""
    cov_ref_frame: str | None = None
    comments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.lower_triangle) != 21:
            raise OemError(
                f"covariance needs 21 lower-triangular elements, got {len(self.lower_triangle)}"
            )

    @classmethod
    def from_matrix(
        cls,
        epoch: datetime,
        matrix: Any,
        cov_ref_frame: str | None = None,
        comments: Sequence[str] = (),
    ) -> OemCovariance:
        """Build from a 6×6 array (its lower triangle is used)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.shape != (6, 6):
            raise OemError(f"covariance matrix must be 6×6, got {m.shape}")
        rows, cols = np.tril_indices(6)
        return cls(
            epoch=epoch,
            lower_triangle=tuple(float(x) for x in m[rows, cols]),
            cov_ref_frame=cov_ref_frame,
            comments=tuple(comments),
        )

    def matrix(self) -> FloatArray:
        """The full symmetric 6×6 covariance."""
        m = np.zeros((6, 6))
        rows, cols = np.tril_indices(6)
        m[rows, cols] = self.lower_triangle
        m[cols, rows] = self.lower_triangle
        return m


@dataclass(frozen=True)
class OemSegment:
    metadata: OemMetadata
    states: tuple[OemStateVector, ...]
    covariances: tuple[OemCovariance, ...] = ()
    data_comments: tuple[str, ...] = ()

    @classmethod
    def from_arrays(
        cls,
        metadata: OemMetadata,
        epochs: Any,
        positions_km: Any,
        velocities_km_s: Any,
        accelerations_km_s2: Any = None,
        *,
        covariances: Sequence[OemCovariance] = (),
        data_comments: Sequence[str] = (),
    ) -> OemSegment:
        """Build a segment from N epochs (datetime64 or datetimes) and (N, 3) arrays."""
        times = np.asarray(epochs, dtype="datetime64[us]").ravel()
        r = np.asarray(positions_km, dtype=np.float64).reshape(-1, 3)
        v = np.asarray(velocities_km_s, dtype=np.float64).reshape(-1, 3)
        a = (
            None
            if accelerations_km_s2 is None
            else np.asarray(accelerations_km_s2, dtype=np.float64).reshape(-1, 3)
        )
        if not len(times) == len(r) == len(v) or (a is not None and len(a) != len(r)):
            raise ValueError("epochs, positions, velocities (and accelerations) differ in length")
        states = tuple(
            OemStateVector(
                epoch=times[i].item(),
                position_km=(float(r[i, 0]), float(r[i, 1]), float(r[i, 2])),
                velocity_km_s=(float(v[i, 0]), float(v[i, 1]), float(v[i, 2])),
                acceleration_km_s2=None
                if a is None
                else (float(a[i, 0]), float(a[i, 1]), float(a[i, 2])),
            )
            for i in range(len(times))
        )
        return cls(
            metadata=metadata,
            states=states,
            covariances=tuple(covariances),
            data_comments=tuple(data_comments),
        )

    def epochs(self) -> NDArray[np.datetime64]:
        """State epochs as ``datetime64[us]`` (labels in the segment's TIME_SYSTEM)."""
        return np.array([s.epoch for s in self.states], dtype="datetime64[us]")

    def positions_km(self) -> FloatArray:
        return np.array([s.position_km for s in self.states], dtype=np.float64).reshape(-1, 3)

    def velocities_km_s(self) -> FloatArray:
        return np.array([s.velocity_km_s for s in self.states], dtype=np.float64).reshape(-1, 3)

    def interpolate(self, epochs: Any) -> tuple[FloatArray, FloatArray]:
        """Positions and velocities at ``epochs`` (datetime64 or datetimes, TIME_SYSTEM labels).

        Uses the segment's INTERPOLATION (LAGRANGE or HERMITE; default LAGRANGE) and
        INTERPOLATION_DEGREE (default 7 for Lagrange, 5 for Hermite) with
        :func:`astroshield.astro.dynamics.interpolation.interpolate_states`.
        """
        from astroshield.astro.dynamics.interpolation import interpolate_states

        method = (self.metadata.interpolation or "LAGRANGE").upper()
        if method not in ("LAGRANGE", "HERMITE"):
            raise OemError(
                f"interpolation method {method!r} is not supported", keyword="INTERPOLATION"
            )
        query = np.atleast_1d(np.asarray(epochs, dtype="datetime64[us]"))
        return interpolate_states(
            self.epochs(),
            self.positions_km(),
            self.velocities_km_s(),
            query,
            method="hermite" if method == "HERMITE" else "lagrange",
            degree=self.metadata.interpolation_degree,
        )


@dataclass(frozen=True)
class Oem:
    header: OemHeader
    segments: tuple[OemSegment, ...] = field(default_factory=tuple)

    def validate(self) -> None:
        """Check the semantic rules the readers enforce; raise :class:`OemError` if broken."""
        check_header(self.header, {})
        if not self.segments:
            raise OemError("an OEM needs at least one segment", keyword="META_START")
        for segment in self.segments:
            check_segment(segment, {}, [])
