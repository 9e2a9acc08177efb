"""Seeded scenario simulator: element-set histories labelled by construction.

Each simulated object has a *true* SGP4 mean-element set (our
:class:`~astroshield.astro.dynamics.elements.ElementSet` and SGP4 through
:func:`~astroshield.astro.dynamics.elements.to_satrec`: J2-J4 secular drift, BSTAR drag in LEO,
luni-solar and resonance terms in GEO). The catalogue publishes element sets at epochs drawn
from the regime's real cadence; each published set is the true mean elements at that epoch
plus the regime's real TLE noise (:mod:`astroshield.ml.noise_estimate`). An *event* changes
the true elements at its time and the truth is re-initialised there:

- ``maneuver`` (in-plane along-track, in-plane radial or out-of-plane; Δv log-uniform over
  the regime's range): an impulsive Δv applied to the mean elements with the Gauss
  variational equations for near-circular orbits (Vallado, 4th ed., §9.6):
  Δa = 2aΔv_T/v; Δ(e cos ω) = (2Δv_T cos u + Δv_R sin u)/v, Δ(e sin ω) = (2Δv_T sin u -
  Δv_R cos u)/v; Δλ = -2Δv_R/v; Δi = Δv_N cos u/v; ΔΩ = Δv_N sin u/(v sin i), with
  v = n·a and u the mean argument of latitude;
- ``breakup``: the tracked piece leaves with a random-direction Δv of metres per second
  (the same equations, larger Δv);
- ``element_jump``: the catalogue's set jumps along track (a cross-tag or a mis-association):
  the mean anomaly moves by tens to hundreds of km of arc, nothing else.

Every published set is labelled ``event_since_previous`` when an event happened after the
previous set's epoch and at or before its own, with the event's kind and Δv.

Scenario families are functions in :data:`SCENARIOS` (name -> events of one object).
Conjunctions with covariance and rendezvous/proximity approaches toward a protected spacecraft
(issue 18, later slices) belong there as new families; they need a second object, so they
will add a ``protected`` object id column rather than change the per-set rows written here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from astroshield.astro.ccdm.maneuvers.jumps import MINUTES_PER_DAY, Mean, mean_at
from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.ml.noise_estimate import SPACING_QUANTILES, RegimeNoise

GENERATOR_VERSION = "1.0"
_TWO_PI = 2.0 * math.pi
_RAD_MIN_TO_REV_DAY = MINUTES_PER_DAY / _TWO_PI
_START = datetime(2020, 1, 1, tzinfo=UTC)
# Sets at the start of a history kept free of events (context for windows and normalisation).
QUIET_START_SETS = 20
# Δv ranges (m/s, log-uniform) of manoeuvres per regime and kind; breakups; jump sizes (km).
DV_RANGE_M_S: dict[str, dict[str, tuple[float, float]]] = {
    "LEO": {"along_track": (0.002, 0.5), "radial": (0.01, 1.0), "out_of_plane": (0.02, 2.0)},
    "GEO": {"along_track": (0.01, 0.5), "radial": (0.05, 1.0), "out_of_plane": (0.5, 5.0)},
}
BREAKUP_DV_M_S = (2.0, 30.0)
JUMP_KM = (20.0, 500.0)
SCENARIO_SHARES = {"nominal": 0.4, "maneuvering": 0.45, "breakup": 0.075, "element_jump": 0.075}
REGIME_SHARES = {"LEO": 0.6, "GEO": 0.4}


@dataclass(frozen=True, slots=True)
class Event:
    """One change of the true orbit at ``time``; Δv in m/s (radial, along-track, normal)."""

    time: datetime
    kind: str  # "along_track", "radial", "out_of_plane", "breakup", "element_jump"
    dv_rtn_m_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    jump_km: float = 0.0


@dataclass(frozen=True, slots=True)
class SimulatedHistory:
    """One object's published sets, their labels, and its events."""

    object_index: int
    regime: str
    scenario: str
    sets: tuple[ElementSet, ...]
    labels: tuple[bool, ...]  # an event since the previous set
    label_kinds: tuple[str, ...]  # its kind ("" when none)
    events: tuple[Event, ...]


ScenarioFn = Callable[[np.random.Generator, str, Sequence[datetime]], list[Event]]


def _maneuvers(rng: np.random.Generator, regime: str, epochs: Sequence[datetime]) -> list[Event]:
    count = int(rng.integers(1, 4))
    events = []
    for time in _event_times(rng, epochs, count):
        kind = str(rng.choice(["along_track", "radial", "out_of_plane"]))
        low, high = DV_RANGE_M_S[regime][kind]
        size = float(math.exp(rng.uniform(math.log(low), math.log(high))))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        axis = {"radial": 0, "along_track": 1, "out_of_plane": 2}[kind]
        dv = [0.0, 0.0, 0.0]
        dv[axis] = sign * size
        events.append(Event(time, kind, (dv[0], dv[1], dv[2])))
    return events


def _breakup(rng: np.random.Generator, regime: str, epochs: Sequence[datetime]) -> list[Event]:
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    size = float(math.exp(rng.uniform(*np.log(BREAKUP_DV_M_S))))
    dv = direction * size
    (time,) = _event_times(rng, epochs, 1)
    return [Event(time, "breakup", (float(dv[0]), float(dv[1]), float(dv[2])))]


def _element_jump(rng: np.random.Generator, regime: str, epochs: Sequence[datetime]) -> list[Event]:
    size = float(math.exp(rng.uniform(*np.log(JUMP_KM)))) * (1.0 if rng.random() < 0.5 else -1.0)
    (time,) = _event_times(rng, epochs, 1)
    return [Event(time, "element_jump", jump_km=size)]


SCENARIOS: dict[str, ScenarioFn] = {
    "nominal": lambda rng, regime, epochs: [],
    "maneuvering": _maneuvers,
    "breakup": _breakup,
    "element_jump": _element_jump,
}


def _event_times(
    rng: np.random.Generator, epochs: Sequence[datetime], count: int
) -> list[datetime]:
    first = epochs[min(QUIET_START_SETS, len(epochs) - 2)].timestamp()
    last = epochs[-1].timestamp()
    times = sorted(rng.uniform(first, last, size=count).tolist())
    return [datetime.fromtimestamp(t, tz=UTC) for t in times]


def initial_truth(
    rng: np.random.Generator, regime: str, catalog: str, epoch: datetime
) -> ElementSet:
    if regime == "LEO":
        altitude = rng.uniform(550.0, 1400.0)
        a_km = 6378.135 + altitude
        n = math.sqrt(398600.8 / a_km**3) * 86400.0 / _TWO_PI
        inc, ecc, bstar = (
            rng.uniform(50.0, 100.0),
            rng.uniform(1e-4, 2e-3),
            10 ** rng.uniform(-5.5, -4.0),
        )
    else:
        n = 1.00273791 + rng.normal(0.0, 2e-4)
        inc, ecc, bstar = rng.uniform(0.3, 3.0), rng.uniform(5e-5, 5e-4), 0.0
    return ElementSet(
        catalog_number=catalog,
        epoch=epoch,
        mean_motion_rev_per_day=n,
        eccentricity=ecc,
        inclination_deg=inc,
        ra_of_asc_node_deg=rng.uniform(0.0, 360.0),
        arg_of_pericenter_deg=rng.uniform(0.0, 360.0),
        mean_anomaly_deg=rng.uniform(0.0, 360.0),
        bstar_per_earth_radius=bstar,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )


def mean_elements(truth: ElementSet, epoch: datetime) -> Mean:
    """The SGP4 mean elements of ``truth`` propagated to ``epoch``."""
    mean = mean_at(to_satrec(truth), (epoch - truth.epoch).total_seconds() / 60.0)
    if mean is None:
        raise ValueError(f"SGP4 cannot propagate object {truth.catalog_number} to {epoch}")
    return mean


def element_set_from_mean(
    template: ElementSet,
    epoch: datetime,
    *,
    n_rad_min: float,
    e: float,
    inc: float,
    raan: float,
    argp: float,
    mean_anomaly: float,
) -> ElementSet:
    """An element set at ``epoch`` whose SGP4 (Brouwer) mean elements are the given ones.

    The TLE/OMM mean motion is Kozai's; sgp4init converts it to Brouwer's, so the published
    value is found by fixed-point iteration on that conversion (three steps reach 1e-15).
    """
    kozai = n_rad_min
    for _ in range(3):
        candidate = _set_at(template, epoch, kozai, e, inc, raan, argp, mean_anomaly)
        kozai *= n_rad_min / _brouwer_mean_motion(candidate)
    return _set_at(template, epoch, kozai, e, inc, raan, argp, mean_anomaly)


def _brouwer_mean_motion(item: ElementSet) -> float:
    satrec = to_satrec(item)
    satrec.sgp4_tsince(0.0)
    return float(satrec.nm)


def _set_at(
    template: ElementSet,
    epoch: datetime,
    n_kozai_rad_min: float,
    e: float,
    inc: float,
    raan: float,
    argp: float,
    mean_anomaly: float,
) -> ElementSet:
    inc = min(max(inc, 1e-6), math.pi - 1e-6)
    return ElementSet(
        catalog_number=template.catalog_number,
        epoch=epoch,
        mean_motion_rev_per_day=n_kozai_rad_min * _RAD_MIN_TO_REV_DAY,
        eccentricity=min(max(e, 1e-7), 0.9),
        inclination_deg=math.degrees(inc),
        ra_of_asc_node_deg=math.degrees(raan % _TWO_PI),
        arg_of_pericenter_deg=math.degrees(argp % _TWO_PI),
        mean_anomaly_deg=math.degrees(mean_anomaly % _TWO_PI),
        bstar_per_earth_radius=template.bstar_per_earth_radius,
        mean_motion_dot_rev_per_day2=0.0,
        mean_motion_ddot_rev_per_day3=0.0,
    )


def apply_event(truth: ElementSet, event: Event) -> ElementSet:
    """The true element set just after ``event`` (Gauss equations; see the module docstring)."""
    m = mean_elements(truth, event.time)
    ex, ey = m.e * math.cos(m.argp), m.e * math.sin(m.argp)
    u = m.argp + m.mean_anomaly  # mean argument of latitude
    longitude = u
    a_km, inc, raan = m.a_km, m.inc, m.raan
    if event.kind == "element_jump":
        longitude += event.jump_km / a_km
    else:
        v_m_s = m.n_rad_min * a_km / 60.0 * 1000.0
        dv_r, dv_t, dv_n = (value / v_m_s for value in event.dv_rtn_m_s)
        a_km += 2.0 * a_km * dv_t
        ex += 2.0 * dv_t * math.cos(u) + dv_r * math.sin(u)
        ey += 2.0 * dv_t * math.sin(u) - dv_r * math.cos(u)
        longitude -= 2.0 * dv_r
        inc += dv_n * math.cos(u)
        d_raan = dv_n * math.sin(u) / max(math.sin(inc), 1e-6)
        raan += d_raan
        longitude -= math.cos(inc) * d_raan  # dω/dt holds -cos(i)·dΩ/dt
    n_rad_min = m.n_rad_min * (m.a_km / a_km) ** 1.5
    argp = math.atan2(ey, ex)
    return element_set_from_mean(
        truth,
        event.time,
        n_rad_min=n_rad_min,
        e=math.hypot(ex, ey),
        inc=inc,
        raan=raan,
        argp=argp,
        mean_anomaly=longitude - argp,
    )


def published_set(
    truth: ElementSet, epoch: datetime, noise: RegimeNoise | None, rng: np.random.Generator
) -> ElementSet:
    """The catalogue's set at ``epoch``: true mean elements plus the regime's TLE noise."""
    m = mean_elements(truth, epoch)
    ex, ey = m.e * math.cos(m.argp), m.e * math.sin(m.argp)
    a_km, inc, raan, longitude = m.a_km, m.inc, m.raan, m.argp + m.mean_anomaly
    if noise is not None:
        factor = noise.outlier_factor if rng.random() < noise.outlier_fraction else 1.0
        eta = rng.normal(size=6) * factor
        a_km += noise.sigma_a_km * eta[0]
        ex += noise.sigma_e * eta[1]
        ey += noise.sigma_e * eta[2]
        inc += noise.sigma_inclination_rad * eta[3]
        d_raan = noise.sigma_node_rad * eta[4] / max(math.sin(inc), 1e-3)
        raan += d_raan
        # The orbit-normal noise moves no set along track (u compensates cos(i)·ΔΩ); the
        # along-track noise is what the e and a noise do not already explain.
        longitude += noise.sigma_along_km * _along_share(noise, a_km, m.n_rad_min) * eta[5]
        longitude -= math.cos(inc) * d_raan
    argp = math.atan2(ey, ex)
    return element_set_from_mean(
        truth,
        epoch,
        n_rad_min=m.n_rad_min * (m.a_km / a_km) ** 1.5,
        e=math.hypot(ex, ey),
        inc=inc,
        raan=raan,
        argp=argp,
        mean_anomaly=longitude - argp,
    )


def _along_share(noise: RegimeNoise, a_km: float, n_rad_min: float) -> float:
    """Mean-anomaly noise (rad per unit eta) that, with the along-track effect of the e noise
    (rms sqrt(2)·a·sigma_e) and of the a noise over a median gap (1.5·n·sigma_a·dt), gives
    the estimated along-track scatter; at least 30 % of it."""
    gap_min = noise.spacing_days_quantiles[len(noise.spacing_days_quantiles) // 2] * MINUTES_PER_DAY
    explained = (
        2.0 * (a_km * noise.sigma_e) ** 2 + (1.5 * n_rad_min * noise.sigma_a_km * gap_min) ** 2
    )
    own = max(noise.sigma_along_km**2 - explained, (0.3 * noise.sigma_along_km) ** 2)
    return math.sqrt(own) / noise.sigma_along_km / a_km


def sample_epochs(
    rng: np.random.Generator, noise: RegimeNoise, start: datetime, count: int
) -> list[datetime]:
    """``count`` epochs with spacings drawn from the regime's real spacing distribution."""
    spacing = np.interp(
        rng.uniform(size=count - 1), SPACING_QUANTILES, noise.spacing_days_quantiles
    )
    offsets = np.concatenate([[0.0], np.cumsum(np.maximum(spacing, 0.05))])
    return [start + timedelta(days=float(d)) for d in offsets]


def simulate_object(
    index: int,
    regime: str,
    scenario: str,
    noise: RegimeNoise,
    seed: np.random.SeedSequence,
    sets: int,
    *,
    noisy: bool = True,
) -> SimulatedHistory:
    """One object's history; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    catalog = str(80000 + index)
    start = _START + timedelta(days=float(rng.uniform(0.0, 1000.0)))
    epochs = sample_epochs(rng, noise, start, sets)
    truth = initial_truth(rng, regime, catalog, start)
    events = sorted(SCENARIOS[scenario](rng, regime, epochs), key=lambda e: e.time)
    published, labels, kinds = publish_history(truth, epochs, events, noise if noisy else None, rng)
    return SimulatedHistory(
        index, regime, scenario, tuple(published), tuple(labels), tuple(kinds), tuple(events)
    )


def publish_history(
    truth: ElementSet,
    epochs: Sequence[datetime],
    events: Sequence[Event],
    noise: RegimeNoise | None,
    rng: np.random.Generator,
) -> tuple[list[ElementSet], list[bool], list[str]]:
    """The published sets at ``epochs`` of an object whose true orbit starts as ``truth`` and
    changes at each of ``events`` (sorted by time; events at or before the first epoch are not
    applied), with each set's label (an event since the previous set) and the event's kind."""
    published = []
    labels = []
    kinds = []
    pending = list(events)
    previous = epochs[0]
    for k, epoch in enumerate(epochs):
        happened = [e for e in pending if previous < e.time <= epoch] if k else []
        for event in happened:
            truth = apply_event(truth, event)
            pending.remove(event)
        published.append(published_set(truth, epoch, noise, rng))
        labels.append(bool(happened))
        kinds.append(happened[0].kind if happened else "")
        previous = epoch
    return published, labels, kinds


def object_plan(seed: int, objects: int) -> list[tuple[str, str, np.random.SeedSequence]]:
    """(regime, scenario, seed) of each object: the shares of ``REGIME_SHARES`` and
    ``SCENARIO_SHARES`` drawn from ``seed``, each object with its own child seed."""
    root = np.random.SeedSequence(seed)
    rng = np.random.default_rng(root.spawn(1)[0])
    regimes = rng.choice(list(REGIME_SHARES), size=objects, p=list(REGIME_SHARES.values()))
    scenarios = rng.choice(list(SCENARIO_SHARES), size=objects, p=list(SCENARIO_SHARES.values()))
    children = root.spawn(objects + 1)[1:]
    return [
        (str(r), str(s), child) for r, s, child in zip(regimes, scenarios, children, strict=True)
    ]


def simulate(
    seed: int,
    objects: int,
    noise: Mapping[str, RegimeNoise],
    sets: int = 150,
    progress: Callable[[int], None] | None = None,
) -> list[SimulatedHistory]:
    """``objects`` histories of ``sets`` element sets each, deterministic in ``seed``."""
    histories = []
    for index, (regime, scenario, child) in enumerate(object_plan(seed, objects)):
        histories.append(simulate_object(index, regime, scenario, noise[regime], child, sets))
        if progress is not None:
            progress(index + 1)
    return histories
