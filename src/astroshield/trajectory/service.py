"""Trajectory logic: read the object, bound the work, propagate and analyse (no SQL here).

Element sets are propagated with SGP4 (TEME) and rotated to the requested frame with
:mod:`astroshield.astro.dynamics.frames`. A state vector is propagated with two-body motion
in GCRF (:func:`astroshield.astro.conjunction.pc.kepler_propagate`): no J2, drag or third
bodies, so it is an approximation that drifts by kilometres per orbit in LEO and is meant
for short arcs. The numerical work is synchronous; the router runs it in a worker thread.
"""

from __future__ import annotations

import io
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.conjunction.pc import kepler_propagate
from astroshield.astro.dynamics.elements import (
    EARLIEST_EPOCH,
    LATEST_EPOCH,
    MIN_PERIGEE_RADIUS_KM,
    ElementSet,
)
from astroshield.astro.dynamics.frames import (
    gcrf_to_itrf,
    gcrf_to_teme,
    itrf_to_gcrf,
    teme_to_gcrf,
    teme_to_itrf,
)
from astroshield.astro.dynamics.orbit import (
    EARTH_EQUATORIAL_RADIUS_KM,
    MU_EARTH_KM3_S2,
    classical_elements,
    regime,
    semi_major_axis_from_mean_motion,
)
from astroshield.astro.dynamics.propagation import SGP4ErrorCode, propagate
from astroshield.astro.formats.oem import Oem, OemHeader, OemMetadata, OemSegment, dumps_kvn
from astroshield.astro.ground.eclipse import eclipse_intervals
from astroshield.astro.ground.groundtrack import StationMarker, ground_track, ground_track_plot
from astroshield.astro.ground.lifetime import orbital_lifetime
from astroshield.astro.ground.passes import GroundStation, passes
from astroshield.config import Settings
from astroshield.errors import ConflictError, FieldError, InvalidInputError
from astroshield.observability.tracing import annotate, span
from astroshield.security.principal import Principal
from astroshield.trajectory.objects import Resolved, spacecraft_elements
from astroshield.trajectory.schemas import (
    Analysis,
    AnalyzeRequest,
    EclipseRead,
    Ephemeris,
    Frame,
    GroundTrackRead,
    LifetimeRead,
    MeanElements,
    ObjectInfo,
    OsculatingElements,
    PassRead,
    PropagateRequest,
    PropagationError,
    StateInput,
)

FloatArray = NDArray[np.float64]
OEM_ORIGINATOR = "ASTROSHIELD"
# The Earth's Hill sphere: farther out the Sun, not the Earth, governs the motion.
MAX_STATE_RADIUS_KM = 1.5e6
_MICROSECONDS_PER_SECOND = 1_000_000


# ------------------------------------------------------------------------------ inputs


def check_window(
    start: datetime,
    stop: datetime,
    step_s: float | None,
    *,
    max_days: float,
    max_points: int | None = None,
    location: str = "body",
) -> None:
    """Refuse an empty, too long or too finely sampled window, or one outside the years
    element sets may have (1957-2099: SGP4, the frame models and leap seconds hold there)."""
    for name, moment in (("start", start), ("stop", stop)):
        if not EARLIEST_EPOCH <= moment < LATEST_EPOCH:
            raise InvalidInputError(
                f"{name} {moment.isoformat()} is outside 1957-01-01..2099-12-31",
                errors=[FieldError([location, name], "must be within 1957-01-01..2099-12-31")],
            )
    if stop <= start:
        raise InvalidInputError(
            "stop must be after start",
            errors=[FieldError([location, "stop"], "must be after start")],
        )
    days = (stop - start).total_seconds() / 86_400.0
    if days > max_days:
        raise InvalidInputError(
            f"the window is {days:.3g} days; at most {max_days:g} days are allowed",
            errors=[FieldError([location, "stop"], f"at most {max_days:g} days after start")],
        )
    if step_s is not None and max_points is not None:
        intervals = (stop - start).total_seconds() / step_s  # inf for a subnormal step
        points = math.floor(intervals) + 1 if math.isfinite(intervals) else max_points + 1
        if points > max_points:
            raise InvalidInputError(
                f"{points} points requested; at most {max_points} are allowed",
                errors=[
                    FieldError(
                        [location, "step_s"],
                        f"gives {points} points; at most {max_points} (use a larger step)",
                    )
                ],
            )


def sample_times(start: datetime, stop: datetime, step_s: float) -> NDArray[np.datetime64]:
    """``start, start + step, ...`` up to and including ``stop`` (microsecond resolution)."""
    origin = np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "us")
    span_us = round((stop - start).total_seconds() * _MICROSECONDS_PER_SECOND)
    step_us = step_s * _MICROSECONDS_PER_SECOND
    offsets = np.round(np.arange(0, math.floor(span_us / step_us) + 1) * step_us)
    return origin + offsets.astype(np.int64).astype("timedelta64[us]")


def _as_utc(value: np.datetime64) -> datetime:
    moment: datetime = value.astype("datetime64[us]").item()
    return moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------------- propagation


@dataclass(frozen=True)
class States:
    times: NDArray[np.datetime64]
    r_km: FloatArray
    v_km_s: FloatArray
    error_codes: NDArray[np.uint8]
    info: ObjectInfo


def _info(
    elements: ElementSet | None, propagator: str, element_set_id: int | None = None
) -> ObjectInfo:
    return ObjectInfo(
        catalog_number=elements.catalog_number if elements else None,
        object_name=elements.object_name if elements else None,
        object_id=elements.object_id if elements else None,
        element_epoch=elements.epoch if elements else None,
        propagator="SGP4" if propagator == "SGP4" else "two-body",
        element_set_id=element_set_id,
    )


def _rotate(
    source: Frame, target: Frame, r: FloatArray, v: FloatArray, times: NDArray[np.datetime64]
) -> tuple[FloatArray, FloatArray]:
    if source == target or len(times) == 0:
        return r, v
    if source == "TEME":
        return teme_to_gcrf(r, v, times) if target == "GCRF" else teme_to_itrf(r, v, times)
    if source == "GCRF":
        return gcrf_to_teme(r, v, times) if target == "TEME" else gcrf_to_itrf(r, v, times)
    r_gcrf, v_gcrf = itrf_to_gcrf(r, v, times)
    return _rotate("GCRF", target, r_gcrf, v_gcrf, times)


@span("trajectory.propagate", propagator="sgp4")
def propagate_elements(
    elements: ElementSet,
    times: NDArray[np.datetime64],
    frame: Frame,
    element_set_id: int | None = None,
) -> States:
    annotate(points=len(times), frame=frame)
    result = propagate([elements], times)
    codes = result.error_codes[0].copy()
    r = np.full((len(times), 3), np.nan)
    v = np.full((len(times), 3), np.nan)
    ok = codes == 0
    if ok.any():
        r_ok, v_ok = _rotate("TEME", frame, result.r_km[0][ok], result.v_km_s[0][ok], times[ok])
        r[ok], v[ok] = np.atleast_2d(r_ok), np.atleast_2d(v_ok)
    return States(times, r, v, codes, _info(elements, "SGP4", element_set_id))


def _check_state(r0: FloatArray, v0: FloatArray) -> float:
    """The orbital energy of a GCRF state, or a 422 naming the component that makes it no
    Earth orbit: inside the Earth (or at its centre), beyond its sphere of influence,
    unbound, or on a path whose perigee is deep inside the Earth."""
    radius = float(np.linalg.norm(r0))
    if not radius >= EARTH_EQUATORIAL_RADIUS_KM:
        raise InvalidInputError(
            f"the state is {radius:.0f} km from the Earth's centre, inside the Earth",
            errors=[FieldError(["body", "state", "r_km"], "must be above the Earth's surface")],
        )
    if radius > MAX_STATE_RADIUS_KM:
        raise InvalidInputError(
            f"the state is {radius:.3g} km from the Earth's centre, beyond its Hill sphere",
            errors=[
                FieldError(
                    ["body", "state", "r_km"],
                    f"must be within {MAX_STATE_RADIUS_KM:.0f} km of the Earth's centre",
                )
            ],
        )
    energy = float(v0 @ v0) / 2.0 - MU_EARTH_KM3_S2 / radius
    if not energy < 0:
        raise InvalidInputError(
            "the state is on an escape (parabolic or hyperbolic) trajectory",
            errors=[FieldError(["body", "state", "v_km_s"], "must be below escape speed")],
        )
    # Perigee radius p / (1 + e) from the angular momentum h: p = h²/μ, e² = 1 + 2εh²/μ².
    h_squared = float(np.sum(np.cross(r0, v0) ** 2))
    eccentricity = math.sqrt(max(0.0, 1.0 + 2.0 * energy * h_squared / MU_EARTH_KM3_S2**2))
    perigee_km = h_squared / MU_EARTH_KM3_S2 / (1.0 + eccentricity)
    if perigee_km < MIN_PERIGEE_RADIUS_KM:
        raise InvalidInputError(
            f"the state's orbit has its perigee {EARTH_EQUATORIAL_RADIUS_KM - perigee_km:.0f} "
            "km below the Earth's surface",
            errors=[
                FieldError(
                    ["body", "state", "v_km_s"],
                    "gives a perigee deep inside the Earth (a falling, not orbiting, object)",
                )
            ],
        )
    return energy


@span("trajectory.propagate", propagator="two-body")
def propagate_state(state: StateInput, times: NDArray[np.datetime64], frame: Frame) -> States:
    epoch = np.array([np.datetime64(state.epoch.astimezone(UTC).replace(tzinfo=None), "us")])
    r0, v0 = _rotate(state.frame, "GCRF", np.array([state.r_km]), np.array([state.v_km_s]), epoch)
    r0, v0 = np.atleast_2d(r0)[0], np.atleast_2d(v0)[0]
    annotate(points=len(times), frame=frame)
    energy = _check_state(r0, v0)
    # Two-body motion is periodic: dropping whole revolutions keeps the Kepler solver's
    # starting guess (built for short arcs) within one orbit of the answer.
    a_km = -MU_EARTH_KM3_S2 / (2.0 * energy)
    period = 2.0 * math.pi * math.sqrt(a_km**3 / MU_EARTH_KM3_S2)
    dt = np.fmod((times - epoch[0]) / np.timedelta64(1, "s"), period)
    r_gcrf, v_gcrf = kepler_propagate(r0, v0, dt)
    r, v = _rotate("GCRF", frame, np.atleast_2d(r_gcrf), np.atleast_2d(v_gcrf), times)
    codes = np.zeros(len(times), dtype=np.uint8)
    return States(times, np.atleast_2d(r), np.atleast_2d(v), codes, _info(None, "two-body"))


def propagate_request(request: PropagateRequest, resolved: Resolved | None) -> States:
    """The request's ephemeris: its state vector's, else the resolved element set's."""
    times = sample_times(request.start, request.stop, request.step_s)
    if resolved is not None:
        return propagate_elements(resolved.elements, times, request.frame, resolved.element_set_id)
    if request.state is None:  # the body validator lets exactly one source through
        raise InvalidInputError("no object given", errors=[FieldError(["body"], "no object")])
    return propagate_state(request.state, times, request.frame)


def _vector(row: FloatArray) -> list[float]:
    return [float(x) for x in row]


def ephemeris(states: States, frame: Frame) -> Ephemeris:
    ok = states.error_codes == 0
    return Ephemeris(
        object=states.info,
        frame=frame,
        epochs=[_as_utc(t) for t in states.times],
        r_km=[_vector(r) if good else None for r, good in zip(states.r_km, ok, strict=True)],
        v_km_s=[_vector(v) if good else None for v, good in zip(states.v_km_s, ok, strict=True)],
        errors=[
            PropagationError(
                index=int(index),
                epoch=_as_utc(states.times[index]),
                code=int(states.error_codes[index]),
                reason=SGP4ErrorCode(int(states.error_codes[index])).reason,
            )
            for index in np.flatnonzero(~ok)
        ],
    )


@span("trajectory.export_oem")
def ephemeris_oem(states: States, frame: Frame) -> str:
    """CCSDS OEM (KVN) of the valid states; failed times are listed in a data comment."""
    ok = states.error_codes == 0
    if not ok.any():
        first = int(states.error_codes[0])
        raise ConflictError(
            f"SGP4 failed at every requested time (error {first}: "
            f"{SGP4ErrorCode(first).reason}); there is no ephemeris to write"
        )
    info = states.info
    times = states.times[ok]
    comments: list[str] = []
    if not ok.all():
        first_failed = int(np.argmax(~ok))
        code = SGP4ErrorCode(int(states.error_codes[first_failed]))
        comments.append(
            f"{int(np.count_nonzero(~ok))} requested epochs omitted: SGP4 error {int(code)} "
            f"({code.reason}) from {np.datetime_as_string(states.times[first_failed], 'us')}"
        )
    propagator = "SGP4" if info.propagator == "SGP4" else "two-body (Keplerian)"
    metadata = OemMetadata(
        object_name=info.object_name or info.catalog_number or "UNKNOWN",
        object_id=info.object_id or info.catalog_number or "UNKNOWN",
        center_name="EARTH",
        ref_frame=frame,
        time_system="UTC",
        start_time=times[0].item(),
        stop_time=times[-1].item(),
        comments=(f"Propagated with {propagator} by AstroShield",),
    )
    segment = OemSegment.from_arrays(
        metadata, times, states.r_km[ok], states.v_km_s[ok], data_comments=comments
    )
    header = OemHeader(
        creation_date=datetime.now(UTC).replace(tzinfo=None), originator=OEM_ORIGINATOR
    )
    return dumps_kvn(Oem(header=header, segments=(segment,)))


# ---------------------------------------------------------------------------- analysis


def _mean_elements(elements: ElementSet) -> MeanElements:
    a_km = semi_major_axis_from_mean_motion(elements.mean_motion_rev_per_day)
    e = elements.eccentricity
    return MeanElements(
        epoch=elements.epoch,
        mean_motion_rev_per_day=elements.mean_motion_rev_per_day,
        semi_major_axis_km=a_km,
        eccentricity=e,
        inclination_deg=elements.inclination_deg,
        ra_of_asc_node_deg=elements.ra_of_asc_node_deg,
        arg_of_pericenter_deg=elements.arg_of_pericenter_deg,
        mean_anomaly_deg=elements.mean_anomaly_deg,
        bstar_per_earth_radius=elements.bstar_per_earth_radius,
        perigee_altitude_km=a_km * (1 - e) - EARTH_EQUATORIAL_RADIUS_KM,
        apogee_altitude_km=a_km * (1 + e) - EARTH_EQUATORIAL_RADIUS_KM,
        period_min=1440.0 / elements.mean_motion_rev_per_day,
        regime=str(regime(a_km, e, elements.inclination_deg)),
    )


def _osculating(elements: ElementSet, start: datetime) -> OsculatingElements | None:
    times = sample_times(start, start, 1.0)
    states = propagate_elements(elements, times, "GCRF")
    if states.error_codes[0] != 0:
        return None
    coe = classical_elements(states.r_km[0], states.v_km_s[0])
    return OsculatingElements(
        epoch=start,
        semi_major_axis_km=coe.a_km,
        eccentricity=coe.e,
        inclination_deg=coe.i_deg,
        raan_deg=coe.raan_deg,
        arg_of_perigee_deg=coe.argp_deg,
        true_anomaly_deg=coe.true_anomaly_deg,
        perigee_altitude_km=coe.perigee_altitude_km,
        apogee_altitude_km=coe.apogee_altitude_km,
        period_min=coe.period_s / 60.0 if coe.a_km > 0 else math.inf,
    )


def _nullable(values: FloatArray) -> list[float | None]:
    return [None if math.isnan(x) else float(x) for x in values]


def _stations(request: AnalyzeRequest) -> list[GroundStation]:
    return [
        GroundStation(item.lat_deg, item.lon_deg, item.alt_km, item.name)
        for item in request.ground_stations
    ]


def check_analysis(request: AnalyzeRequest, settings: Settings, *, location: str = "body") -> None:
    check_window(
        request.start,
        request.stop,
        request.ground_track_step_s,
        max_days=settings.trajectory_analysis_max_days,
        max_points=settings.trajectory_max_points,
        location=location,
    )


@span("trajectory.analyze")
def analyze(request: AnalyzeRequest, resolved: Resolved) -> Analysis:
    elements = resolved.elements
    start, stop = request.start.astimezone(UTC), request.stop.astimezone(UTC)
    found_passes = [
        PassRead(
            station=station.name,
            rise=item.rise,
            culmination=item.culmination,
            set=item.set,
            duration_s=item.duration_s,
            max_elevation_deg=item.max_elevation_deg,
            rise_azimuth_deg=item.rise_azimuth_deg,
            culmination_azimuth_deg=item.culmination_azimuth_deg,
            set_azimuth_deg=item.set_azimuth_deg,
            starts_before_window=item.starts_before_window,
            ends_after_window=item.ends_after_window,
        )
        for station in _stations(request)
        for item in passes(
            elements, station, start, stop, min_elevation_deg=request.min_elevation_deg
        )
    ]
    eclipses = [
        EclipseRead(start=i.start, stop=i.stop, kind=i.kind, duration_s=i.duration_s)
        for i in eclipse_intervals(elements, start, stop, model=request.eclipse_model)
    ]
    lifetime = orbital_lifetime(elements, max_years=request.lifetime_max_years)
    track = ground_track(
        elements, sample_times(start, stop, request.ground_track_step_s)
    ).decimated(request.ground_track_max_points)
    warnings = []
    if abs((start - elements.epoch).total_seconds()) > 30 * 86_400:
        warnings.append(
            "the window starts more than 30 days from the element set epoch; SGP4 errors "
            "grow by kilometres per day away from epoch"
        )
    if track.error_codes.any():
        warnings.append("SGP4 failed for part of the window (see null ground-track points)")
    return Analysis(
        object=_info(elements, "SGP4", resolved.element_set_id),
        start=start,
        stop=stop,
        mean_elements=_mean_elements(elements),
        osculating_elements=_osculating(elements, start),
        passes=sorted(found_passes, key=lambda item: item.rise),
        eclipses=eclipses,
        lifetime=LifetimeRead(
            status=lifetime.status,
            method=lifetime.method,
            lifetime_days=lifetime.lifetime_days,
            decay_epoch=lifetime.decay_epoch,
            lifetime_range_days=lifetime.lifetime_range_days,
            max_years=lifetime.max_years,
            ballistic_coefficient_m2_kg=lifetime.ballistic_coefficient_m2_kg,
            uncertainty=lifetime.uncertainty,
        ),
        ground_track=GroundTrackRead(
            epochs=[_as_utc(t) for t in track.times],
            latitude_deg=_nullable(track.latitude_deg),
            longitude_deg=_nullable(track.longitude_deg),
            altitude_km=_nullable(track.altitude_km),
        ),
        warnings=warnings,
    )


@span("trajectory.ground_track")
def ground_track_png(request: AnalyzeRequest, resolved: Resolved) -> bytes:
    """The ground track of ``start..stop`` every ``ground_track_step_s`` as a PNG map."""
    elements = resolved.elements
    track = ground_track(
        elements, sample_times(request.start, request.stop, request.ground_track_step_s)
    )
    annotate(points=len(track.times))
    buffer = io.BytesIO()
    label = elements.object_name or elements.catalog_number
    ground_track_plot(
        track,
        buffer,
        title=f"{label} ground track",
        stations=[
            StationMarker(s.lat_deg, s.lon_deg if s.lon_deg <= 180 else s.lon_deg - 360, s.name)
            for s in request.ground_stations
        ],
    )
    return buffer.getvalue()


def default_track_window(
    resolved: Resolved, start: datetime | None, stop: datetime | None
) -> tuple[datetime, datetime]:
    """``start`` (default now) to ``stop`` (default three orbital periods of the set later)."""
    begin = start if start is not None else datetime.now(UTC).replace(microsecond=0)
    if stop is not None:
        return begin, stop
    period_s = 86_400.0 / resolved.elements.mean_motion_rev_per_day
    return begin, begin + timedelta(seconds=3 * period_s)


# ------------------------------------------------------------------- spacecraft ephemeris


async def spacecraft_ground_track(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    spacecraft_id: uuid.UUID,
    window: tuple[datetime | None, datetime | None, float],
    element_set_id: int | None,
) -> tuple[AnalyzeRequest, Resolved]:
    """The ground-track request of one of the caller's spacecraft over ``(start, stop,
    step_s)`` from the query (defaults in :func:`default_track_window`), and its set."""
    resolved = await spacecraft_elements(
        session,
        principal,
        spacecraft_id,
        element_set_id,
        loc=["path", "spacecraft_id"],
        set_loc=["query", "element_set_id"],
    )
    start, stop = default_track_window(resolved, window[0], window[1])
    request = AnalyzeRequest(
        spacecraft_id=spacecraft_id, start=start, stop=stop, ground_track_step_s=window[2]
    )
    check_analysis(request, settings, location="query")
    return request, resolved


def window_bounds(settings: Settings) -> tuple[float, int]:
    return settings.trajectory_max_days, settings.trajectory_max_points


def check_propagation(request: PropagateRequest, settings: Settings) -> None:
    max_days, max_points = window_bounds(settings)
    check_window(
        request.start, request.stop, request.step_s, max_days=max_days, max_points=max_points
    )
    if request.state is not None and not (EARLIEST_EPOCH <= request.state.epoch < LATEST_EPOCH):
        raise InvalidInputError(
            f"the state's epoch {request.state.epoch.isoformat()} is outside 1957-2099",
            errors=[
                FieldError(["body", "state", "epoch"], "must be within 1957-01-01..2099-12-31")
            ],
        )
