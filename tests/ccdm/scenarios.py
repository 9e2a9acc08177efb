"""Constructed CCDM scenarios: element-set histories of a protected spacecraft and neighbours.

Each history is a chain of segments; a segment is one SGP4 element set re-epoched day by day
with the secular rates SGP4 itself applies (``Satrec.mdot``, ``nodedot``, ``argpdot``), so a
set and its predecessor propagated to its epoch describe the same mean orbit. A maneuver
starts a new segment from the state reached, with a new mean motion. Seeded Gaussian noise
of a typical catalog fit (mean anomaly, mean motion) makes the maneuver detector's robust
noise model meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from astroshield.astro.dynamics.elements import ElementSet, to_satrec

START = datetime(2024, 11, 1, tzinfo=UTC)
# rev/day: no drift of the SGP4 mean longitude (1.00273791 minus the 0.0135°/day that the
# Kozai-to-Brouwer conversion of SGP4 adds at GEO).
GEO_MEAN_MOTION = 1.0027004
# Drift of the mean longitude per unit of mean-motion offset: 360 deg per rev.
DEG_PER_DAY_PER_REV_PER_DAY = 360.0


def geo_set(
    catalog_number: str,
    longitude_deg: float,
    *,
    drift_deg_per_day: float = 0.0,
    inclination_deg: float = 0.05,
    raan_deg: float = 80.0,
    epoch: datetime = START,
) -> ElementSet:
    """A near-circular GEO set whose mean longitude at ``epoch`` is ``longitude_deg``."""
    base = ElementSet(
        catalog_number=catalog_number,
        epoch=epoch,
        mean_motion_rev_per_day=GEO_MEAN_MOTION + drift_deg_per_day / DEG_PER_DAY_PER_REV_PER_DAY,
        eccentricity=0.0002,
        inclination_deg=inclination_deg,
        ra_of_asc_node_deg=raan_deg,
        arg_of_pericenter_deg=270.0,
        mean_anomaly_deg=0.0,
        bstar_per_earth_radius=0.0,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )
    from astroshield.astro.ccdm.rpo import mean_longitude_deg

    offset = longitude_deg - mean_longitude_deg(base)
    return replace(base, mean_anomaly_deg=(offset % 360.0))


def leo_set(
    catalog_number: str,
    *,
    mean_motion_rev_per_day: float = 15.2,
    mean_anomaly_deg: float = 0.0,
    inclination_deg: float = 51.6,
    raan_deg: float = 120.0,
    epoch: datetime = START,
) -> ElementSet:
    return ElementSet(
        catalog_number=catalog_number,
        epoch=epoch,
        mean_motion_rev_per_day=mean_motion_rev_per_day,
        eccentricity=0.0005,
        inclination_deg=inclination_deg,
        ra_of_asc_node_deg=raan_deg,
        arg_of_pericenter_deg=90.0,
        mean_anomaly_deg=mean_anomaly_deg,
        bstar_per_earth_radius=0.0,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )


def advance(elements: ElementSet, epoch: datetime) -> ElementSet:
    """The same mean orbit re-epoched with SGP4's secular rates (rad/min)."""
    satrec = to_satrec(elements)
    minutes = (epoch - elements.epoch).total_seconds() / 60.0
    return replace(
        elements,
        epoch=epoch,
        mean_anomaly_deg=(elements.mean_anomaly_deg + math.degrees(satrec.mdot * minutes)) % 360,
        ra_of_asc_node_deg=(elements.ra_of_asc_node_deg + math.degrees(satrec.nodedot * minutes))
        % 360,
        arg_of_pericenter_deg=(
            elements.arg_of_pericenter_deg + math.degrees(satrec.argpdot * minutes)
        )
        % 360,
    )


def history(
    initial: ElementSet,
    days: int,
    *,
    maneuvers: Sequence[tuple[float, float]] = (),
    step_days: float = 1.0,
    noise_seed: int | None = None,
    anomaly_noise_deg: float = 0.0,
    mean_motion_noise: float = 0.0,
) -> list[ElementSet]:
    """Element sets every ``step_days`` over ``days``; ``maneuvers`` are (day, Δn rev/day)
    impulses, applied at that time to the mean orbit of the running segment."""
    rng = np.random.default_rng(noise_seed)
    pending = sorted(maneuvers)
    segment = initial
    sets = []
    count = round(days / step_days) + 1
    for index in range(count):
        epoch = initial.epoch + timedelta(days=index * step_days)
        while pending and initial.epoch + timedelta(days=pending[0][0]) <= epoch:
            day, delta_n = pending.pop(0)
            burned = advance(segment, initial.epoch + timedelta(days=day))
            segment = replace(
                burned, mean_motion_rev_per_day=burned.mean_motion_rev_per_day + delta_n
            )
        clean = advance(segment, epoch)
        sets.append(
            replace(
                clean,
                mean_anomaly_deg=(clean.mean_anomaly_deg + rng.normal(0, anomaly_noise_deg)) % 360
                if anomaly_noise_deg
                else clean.mean_anomaly_deg,
                mean_motion_rev_per_day=clean.mean_motion_rev_per_day
                + (rng.normal(0, mean_motion_noise) if mean_motion_noise else 0.0),
            )
        )
    return sets


# ------------------------------------------------------------------------------- cases

GEO_DAYS = 14


def geo_target() -> list[ElementSet]:
    return history(
        geo_set("90001", 100.0),
        GEO_DAYS,
        noise_seed=1,
        anomaly_noise_deg=0.0005,
        mean_motion_noise=2e-8,
    )


# The chaser starts 1.2° west of the target drifting east at 0.05°/day (mean motion higher by
# 0.05/360 rev/day, so semi-major axis ~3.9 km lower), and at day 6.3 burns to 0.08°/day.
CHASER_DRIFT_DEG_PER_DAY = 0.05
CHASER_BURN_DAY = 6.3
CHASER_EXTRA_DRIFT_DEG_PER_DAY = 0.03


def geo_chaser() -> list[ElementSet]:
    return history(
        geo_set(
            "90002",
            98.8,
            drift_deg_per_day=CHASER_DRIFT_DEG_PER_DAY,
            inclination_deg=0.06,
            raan_deg=82.0,
        ),
        GEO_DAYS,
        maneuvers=[(CHASER_BURN_DAY, CHASER_EXTRA_DRIFT_DEG_PER_DAY / 360.0)],
        noise_seed=2,
        anomaly_noise_deg=0.0005,
        mean_motion_noise=2e-8,
    )


def geo_station_keeper(days: int = GEO_DAYS, catalog_number: str = "90003") -> list[ElementSet]:
    """0.8° east of the target in the same slot, keeping its box with a small east-west
    burn every 7 days (drift relative to the target reversed between ±0.01°/day), so over
    whole 14-day cycles it neither approaches nor departs."""
    burns = [(3.5 + 7.0 * k, (-0.02 if k % 2 == 0 else 0.02) / 360.0) for k in range(days // 7)]
    return history(
        geo_set(catalog_number, 100.8, drift_deg_per_day=0.01),
        days,
        maneuvers=burns,
        noise_seed=3,
        anomaly_noise_deg=0.0005,
        mean_motion_noise=2e-8,
    )


def geo_distant() -> list[ElementSet]:
    """A GEO object 30° east: outside any co-location window."""
    return history(geo_set("90004", 130.0), GEO_DAYS, noise_seed=4, anomaly_noise_deg=0.0005)


# ------------------------------------------------------------------------ brute force


def brute_force_relative(
    protected: Sequence[ElementSet], neighbour: Sequence[ElementSet], moment: datetime
) -> tuple[np.ndarray, float]:
    """RTN position (km) and range of the neighbour at one time, straight from sgp4:
    ``Satrec.sgp4init`` with the raw elements, the set valid at the time picked by a linear
    scan, the RTN axes built by hand."""
    from sgp4.api import WGS72, Satrec, jday

    def state(sets: Sequence[ElementSet]) -> tuple[np.ndarray, np.ndarray]:
        ordered = sorted(sets, key=lambda item: item.epoch)
        chosen = ordered[0]
        for item in ordered:
            if item.epoch <= moment:
                chosen = item
        satrec = Satrec()
        epoch_days = (chosen.epoch - datetime(1949, 12, 31, tzinfo=UTC)).total_seconds() / 86400
        satrec.sgp4init(
            WGS72,
            "i",
            0,
            epoch_days,
            chosen.bstar_per_earth_radius,
            0.0,
            0.0,
            chosen.eccentricity,
            math.radians(chosen.arg_of_pericenter_deg),
            math.radians(chosen.inclination_deg),
            math.radians(chosen.mean_anomaly_deg),
            chosen.mean_motion_rev_per_day * 2 * math.pi / 1440.0,
            math.radians(chosen.ra_of_asc_node_deg),
        )
        seconds = moment.second + moment.microsecond / 1e6
        jd, fr = jday(moment.year, moment.month, moment.day, moment.hour, moment.minute, seconds)
        error, r, v = satrec.sgp4(jd, fr)
        assert error == 0
        return np.array(r), np.array(v)

    r_p, v_p = state(protected)
    r_n, _ = state(neighbour)
    radial = r_p / np.linalg.norm(r_p)
    normal = np.cross(r_p, v_p) / np.linalg.norm(np.cross(r_p, v_p))
    transverse = np.cross(normal, radial)
    delta = r_n - r_p
    rtn = np.array([delta @ radial, delta @ transverse, delta @ normal])
    return rtn, float(np.linalg.norm(delta))
