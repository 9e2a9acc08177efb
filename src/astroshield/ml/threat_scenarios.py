"""Seeded scenarios of ThreatDetectorNN: a protected spacecraft and a second object, labelled
by construction, with the indicator features computed by our real CCDM code.

Each sample draws a regime (LEO 60 %, GEO 40 %) and a class (equal shares), then:

- the **protected** spacecraft: a true SGP4 orbit (:func:`astroshield.ml.simulate.initial_truth`)
  without events, published at the regime's real cadence with the regime's real TLE noise
  (:func:`astroshield.ml.simulate.publish_history`, noise of :mod:`astroshield.ml.noise_estimate`);
- the **object**, built from the protected orbit's mean elements (angles in radians):

  * ``nominal``: an unrelated neighbour without events. LEO: altitude 60-300 km above or below,
    inclination and node within ±3°; GEO: its own plane (inclination 0.3-3°, any node),
    0.5-3° of longitude away, semi-major axis within ±0.3 km (drift < 3 km/day);
  * ``collision_risk``: a chance close approach at a TCA 0.2-3 days after the assessment
    time, no manoeuvre: the object's plane is the protected one rotated about the protected
    position at TCA (crossing angle 10-170° in LEO, 0.5-5° in GEO), its argument of latitude
    put at that position, then corrected (three Newton steps on the SGP4 positions) to a
    miss of 0.02-1 km; the miss distance and TCA are re-measured by sampling both SGP4
    orbits at 0.5 s, position covariances are drawn in each object's RTN frame (along-track
    sigma log-uniform 0.05-2 km, radial and cross-track 0.1-0.5 of it), the hard-body radius
    5-20 m, and Pc is computed by our 2-D Foster Pc
    (:func:`astroshield.astro.conjunction.pc.pc_2d`); draws are repeated until Pc >= 1e-5;
  * ``maneuver_anomaly``: the nominal geometry plus 1-2 manoeuvres inside the assessment
    window (along-track 0.1-1 m/s, radial 0.2-2 m/s, out-of-plane 0.3-2 m/s in LEO and
    0.5-3 m/s in GEO, log-uniform: sizes the real TLE noise lets a detector see; smaller
    burns are undecidable from the catalogue), along-track burns in the direction that moves
    the object *away* from the protected one (raising a higher orbit, lowering a lower one; in GEO
    drifting away in longitude);
  * ``rendezvous_proximity``: a co-orbital object (same plane within 0.005°, same orbit) 300-1500
    km ahead or behind along track, that burns along track once 0.3-2.5 days into the
    window so that it drifts toward the protected spacecraft at 15-120 km/day (Δa =
    drift / (1.5 n), Δv_T = Δa v / (2 a)), never more than 60 % of the separation by the
    assessment time (the range falls monotonically: the test checks it on the true orbits);
  * ``unknown``: what the data cannot settle: a cross-tag (1-2 along-track element jumps of
    20-500 km in the window, the catalogue's set jumping to another object), a breakup piece
    (a random-direction Δv of 2-30 m/s in the window), or too few sets (2-5 sets of the
    object, all in the window, on a nominal, manoeuvring or rendezvous geometry).

Assessment: ``now`` is the earlier of the two objects' last epochs, the window the 7 days
before it. The indicators are computed exactly as the service computes them:
:func:`astroshield.astro.ccdm.rpo.analyze_neighbour` over the window (SGP4 relative motion,
daily minima, Theil-Sen trend, maneuvers detected and judged toward/away),
:func:`astroshield.astro.ccdm.pattern_of_life.learn_pattern_of_life` on the object's history,
the :class:`ConjunctionInput` (collision-risk samples only); then
:func:`astroshield.ml.threat_detector.threat_features` (the model's input) and
:func:`astroshield.astro.ccdm.intent.assess_intent` mapped by
:func:`astroshield.ml.threat_detector.baseline_class` (the rule baseline). Measured cost:
about 0.1 s per sample on one core, dominated by the SGP4 sampling of the window.

Written as Parquet (``samples.parquet``: features, label, sub-kind, regime, baseline class)
with a data card (``data_card.json``, ``DATA_CARD.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from astroshield.astro.ccdm.intent import ConjunctionInput, assess_intent
from astroshield.astro.conjunction.pc import pc_2d
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.astro.dynamics.propagation import propagate
from astroshield.ml.noise_estimate import RegimeNoise
from astroshield.ml.onnx_model import file_sha256
from astroshield.ml.simulate import (
    BREAKUP_DV_M_S,
    JUMP_KM,
    REGIME_SHARES,
    Event,
    element_set_from_mean,
    initial_truth,
    mean_elements,
    publish_history,
    sample_epochs,
)
from astroshield.ml.threat_detector import (
    CLASS_NAMES,
    FEATURE_NAMES,
    assessment_inputs,
    baseline_class,
    threat_features,
)

GENERATOR_VERSION = "threat-1.2"
SETS = 30
WINDOW_DAYS = 7.0
PC_MIN = 1e-5
SAMPLES_FILE = "samples.parquet"
CARD_JSON = "data_card.json"
CARD_MD = "DATA_CARD.md"
_START = datetime(2021, 1, 1, tzinfo=UTC)
_DAY = 86_400.0
ANOMALY_DV_M_S: dict[str, dict[str, tuple[float, float]]] = {
    "LEO": {"along_track": (0.1, 1.0), "radial": (0.2, 2.0), "out_of_plane": (0.3, 2.0)},
    "GEO": {"along_track": (0.1, 1.0), "radial": (0.2, 2.0), "out_of_plane": (0.5, 3.0)},
}


@dataclass(frozen=True, slots=True)
class ThreatScenario:
    """One labelled sample: both histories, the assessment inputs and their outputs."""

    label: str
    kind: str  # sub-kind, e.g. "cross_tag" for unknown
    regime: str
    now: datetime
    window_start: datetime
    protected: tuple[ElementSet, ...]
    neighbour: tuple[ElementSet, ...]
    protected_truth: ElementSet
    neighbour_truth: ElementSet  # before its events
    events: tuple[Event, ...]
    conjunction: ConjunctionInput | None
    features: npt.NDArray[np.float32]
    baseline: str


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _neighbour_set(
    template: ElementSet, epoch: datetime, n: float, e: float, inc: float, raan: float,
    argp: float, mean_anomaly: float,
) -> ElementSet:  # fmt: skip
    return element_set_from_mean(
        template, epoch, n_rad_min=n, e=e, inc=inc, raan=raan, argp=argp, mean_anomaly=mean_anomaly
    )


def _nominal_truth(
    rng: np.random.Generator, regime: str, protected: ElementSet, template: ElementSet, at: datetime
) -> ElementSet:
    m = mean_elements(protected, at)
    if regime == "LEO":
        a = m.a_km + float(rng.choice([-1.0, 1.0])) * rng.uniform(60.0, 300.0)
        inc = m.inc + math.radians(rng.uniform(-3.0, 3.0))
        raan = m.raan + math.radians(rng.uniform(-3.0, 3.0))
        return _neighbour_set(
            template, at, m.n_rad_min * (m.a_km / a) ** 1.5, m.e, inc, raan, m.argp,
            rng.uniform(0.0, 2 * math.pi),
        )  # fmt: skip
    a = m.a_km + rng.uniform(-0.3, 0.3)
    inc = math.radians(rng.uniform(0.3, 3.0))
    raan = rng.uniform(0.0, 2 * math.pi)
    shift = math.radians(float(rng.choice([-1.0, 1.0])) * rng.uniform(0.5, 3.0))
    longitude = m.raan + m.argp + m.mean_anomaly + shift
    argp = m.argp
    return _neighbour_set(
        template, at, m.n_rad_min * (m.a_km / a) ** 1.5, m.e, inc, raan, argp,
        longitude - raan - argp,
    )  # fmt: skip


def _window_times(
    rng: np.random.Generator, start: datetime, low_days: float, high_days: float, count: int
) -> list[datetime]:
    offsets = sorted(rng.uniform(low_days, high_days, size=count).tolist())
    return [start + timedelta(days=float(d)) for d in offsets]


def _away_sign(protected: ElementSet, neighbour: ElementSet, at: datetime, regime: str) -> float:
    """Sign of the along-track Δv that moves the object away from the protected one."""
    p, q = mean_elements(protected, at), mean_elements(neighbour, at)
    if regime == "LEO":
        return 1.0 if q.a_km > p.a_km else -1.0
    ahead = math.remainder(
        (q.raan + q.argp + q.mean_anomaly) - (p.raan + p.argp + p.mean_anomaly), 2 * math.pi
    )
    return -1.0 if ahead > 0 else 1.0  # lowering the orbit drifts it east (ahead)


def _anomaly_events(
    rng: np.random.Generator, regime: str, away: float, window_start: datetime
) -> list[Event]:
    events = []
    for time in _window_times(rng, window_start, 0.5, WINDOW_DAYS - 2.5, int(rng.integers(1, 3))):
        kind = str(rng.choice(["along_track", "radial", "out_of_plane"]))
        size = _log_uniform(rng, *ANOMALY_DV_M_S[regime][kind])
        sign = away if kind == "along_track" else float(rng.choice([-1.0, 1.0]))
        dv = [0.0, 0.0, 0.0]
        dv[{"radial": 0, "along_track": 1, "out_of_plane": 2}[kind]] = sign * size
        events.append(Event(time, kind, (dv[0], dv[1], dv[2])))
    return events


def _rendezvous(
    rng: np.random.Generator, protected: ElementSet, template: ElementSet, start: datetime,
    window_start: datetime, now: datetime,
) -> tuple[ElementSet, list[Event]]:  # fmt: skip
    m = mean_elements(protected, start)
    separation = rng.uniform(300.0, 1500.0)
    ahead = float(rng.choice([-1.0, 1.0]))
    truth = _neighbour_set(
        template, start, m.n_rad_min, m.e, m.inc + math.radians(rng.normal(0.0, 0.005)),
        m.raan + math.radians(rng.normal(0.0, 0.005)), m.argp,
        m.mean_anomaly + ahead * separation / m.a_km,
    )  # fmt: skip
    (burn,) = _window_times(rng, window_start, 0.3, 2.5, 1)
    remaining = (now - burn).total_seconds() / _DAY
    drift = rng.uniform(15.0, max(15.0, min(120.0, 0.6 * separation / remaining)))
    n_rad_day = m.n_rad_min * 1440.0
    delta_a = drift / (1.5 * n_rad_day)
    v_m_s = m.n_rad_min * m.a_km / 60.0 * 1000.0
    dv_t = ahead * delta_a * v_m_s / (2.0 * m.a_km)  # ahead: raise (slower), behind: lower
    return truth, [Event(burn, "along_track", (0.0, dv_t, 0.0))]


def _rotate(vector: npt.NDArray[np.float64], axis: npt.NDArray[np.float64], angle: float) -> Any:
    return (
        vector * math.cos(angle)
        + np.cross(axis, vector) * math.sin(angle)
        + axis * float(np.dot(axis, vector)) * (1 - math.cos(angle))
    )


def _crossing_truth(
    rng: np.random.Generator, regime: str, protected: ElementSet, template: ElementSet,
    tca: datetime, miss_km: float,
) -> ElementSet:  # fmt: skip
    """An orbit through the protected position at ``tca`` in a plane rotated about it, its
    position at TCA corrected to ``miss_km`` from the protected one (radial/along track)."""
    m = mean_elements(protected, tca)
    r1 = np.asarray(m.r_km, dtype=float)
    v1 = np.asarray(m.v_km_s, dtype=float)
    r_hat = r1 / np.linalg.norm(r1)
    crossing = rng.uniform(10.0, 170.0) if regime == "LEO" else rng.uniform(0.5, 5.0)
    normal = _rotate(np.cross(r1, v1) / np.linalg.norm(np.cross(r1, v1)), r_hat,
                     math.radians(crossing) * float(rng.choice([-1.0, 1.0])))  # fmt: skip
    inc = math.acos(max(-1.0, min(1.0, float(normal[2]))))
    raan = math.atan2(float(normal[0]), float(-normal[1]))
    node = np.array([math.cos(raan), math.sin(raan), 0.0])
    u = math.atan2(float(np.dot(np.cross(node, r_hat), normal)), float(np.dot(node, r_hat)))
    along = np.cross(normal, r_hat)
    phi = rng.uniform(0.0, 2 * math.pi)
    target = miss_km * (math.cos(phi) * r_hat + math.sin(phi) * along)
    n, mean_anomaly = m.n_rad_min, u - m.argp
    a = m.a_km
    truth = _neighbour_set(template, tca, n, m.e, inc, raan, m.argp, mean_anomaly)
    for _ in range(3):
        error = np.asarray(mean_elements(truth, tca).r_km) - r1 - target
        mean_anomaly -= float(np.dot(error, along)) / a
        a_new = a - float(np.dot(error, r_hat))
        n *= (a / a_new) ** 1.5
        a = a_new
        truth = _neighbour_set(template, tca, n, m.e, inc, raan, m.argp, mean_anomaly)
    return truth


def _rtn_covariance(
    rng: np.random.Generator, r: npt.NDArray[np.float64], v: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    along = _log_uniform(rng, 0.05, 2.0)
    sigmas = np.array([rng.uniform(0.1, 0.5) * along, along, rng.uniform(0.1, 0.5) * along])
    rotation = rtn_rotation(r, v)
    return np.asarray(rotation.T @ np.diag(sigmas**2) @ rotation)


def measured_encounter(
    protected: ElementSet, neighbour: ElementSet, around: datetime, half_window_s: float = 300.0
) -> tuple[datetime, float, Any, Any, Any, Any]:
    """TCA and miss distance (km) of two SGP4 orbits: the closest of samples every 0.5 s
    within ``half_window_s`` of ``around``, refined by two steps of the linear relative
    motion (t += -(Δr·Δv)/|Δv|²), with both TEME states at that TCA."""
    times = [
        around + timedelta(seconds=float(s))
        for s in np.arange(-half_window_s, half_window_s + 0.25, 0.5)
    ]
    result = propagate([protected, neighbour], times)
    ranges = np.linalg.norm(result.r_km[1] - result.r_km[0], axis=1)
    tca = times[int(np.argmin(ranges))]
    for _ in range(2):
        state = propagate([protected, neighbour], [tca])
        dr = state.r_km[1][0] - state.r_km[0][0]
        dv = state.v_km_s[1][0] - state.v_km_s[0][0]
        tca += timedelta(seconds=float(-np.dot(dr, dv) / max(float(np.dot(dv, dv)), 1e-12)))
    state = propagate([protected, neighbour], [tca])
    r1, v1 = state.r_km[0][0], state.v_km_s[0][0]
    r2, v2 = state.r_km[1][0], state.v_km_s[1][0]
    return tca, float(np.linalg.norm(r2 - r1)), r1, v1, r2, v2


def _collision(
    rng: np.random.Generator, regime: str, protected: ElementSet, template: ElementSet,
    now: datetime,
) -> tuple[ElementSet, ConjunctionInput]:  # fmt: skip
    for _ in range(20):
        tca = now + timedelta(days=float(rng.uniform(0.2, 3.0)))
        truth = _crossing_truth(rng, regime, protected, template, tca, rng.uniform(0.02, 1.0))
        when, miss, r1, v1, r2, v2 = measured_encounter(protected, truth, tca)
        hbr = rng.uniform(0.005, 0.02)
        pc = pc_2d(r1, v1, _rtn_covariance(rng, r1, v1), r2, v2, _rtn_covariance(rng, r2, v2), hbr)
        if math.isfinite(pc) and pc >= PC_MIN:
            return truth, ConjunctionInput(miss_distance_km=miss, tca=when, pc=pc, source="CDM")
    raise RuntimeError("no collision-risk draw reached Pc >= 1e-5 in 20 tries")


def generate_scenario(
    label: str, regime: str, noise: RegimeNoise, seed: np.random.SeedSequence
) -> ThreatScenario:
    """One sample of class ``label``; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    start = _START + timedelta(days=float(rng.uniform(0.0, 1000.0)))
    protected_truth = initial_truth(rng, regime, "90000", start)
    template = replace(protected_truth, catalog_number="90001")
    protected_epochs = sample_epochs(rng, noise, start, SETS)
    neighbour_epochs = sample_epochs(rng, noise, start + timedelta(hours=rng.uniform(0, 12)), SETS)
    now = min(protected_epochs[-1], neighbour_epochs[-1])
    window_start = now - timedelta(days=WINDOW_DAYS)
    kind = label
    events: list[Event] = []
    conjunction = None
    if label == "unknown":
        kind = str(rng.choice(["cross_tag", "breakup", "few_sets"]))
    if label == "collision_risk":
        truth, conjunction = _collision(rng, regime, protected_truth, template, now)
    elif label == "rendezvous_proximity" or (kind == "few_sets" and rng.random() < 1 / 3):
        truth, events = _rendezvous(rng, protected_truth, template, start, window_start, now)
    else:
        truth = _nominal_truth(rng, regime, protected_truth, template, start)
        if label == "maneuver_anomaly" or (kind == "few_sets" and rng.random() < 0.5):
            away = _away_sign(protected_truth, truth, window_start, regime)
            events = _anomaly_events(rng, regime, away, window_start)
        elif kind == "cross_tag":
            for time in _window_times(
                rng, window_start, 0.5, WINDOW_DAYS - 2.0, 1 + (rng.random() < 0.5)
            ):
                size = _log_uniform(rng, *JUMP_KM) * float(rng.choice([-1.0, 1.0]))
                events.append(Event(time, "element_jump", jump_km=size))
        elif kind == "breakup":
            direction = rng.normal(size=3)
            dv = direction / np.linalg.norm(direction) * _log_uniform(rng, *BREAKUP_DV_M_S)
            (time,) = _window_times(rng, window_start, 0.5, WINDOW_DAYS - 2.5, 1)
            events.append(Event(time, "breakup", (float(dv[0]), float(dv[1]), float(dv[2]))))
    if kind == "few_sets":
        count = int(rng.integers(2, 6))
        neighbour_epochs = sorted(
            window_start + timedelta(days=float(d))
            for d in rng.uniform(0.0, WINDOW_DAYS, size=count)
        )
    protected, _, _ = publish_history(protected_truth, protected_epochs, [], noise, rng)
    neighbour, _, _ = publish_history(truth, neighbour_epochs, events, noise, rng)
    return _assessed(
        label, kind, regime, now, window_start, protected, neighbour, protected_truth, truth,
        events, conjunction,
    )  # fmt: skip


def _assessed(
    label: str, kind: str, regime: str, now: datetime, window_start: datetime,
    protected: Sequence[ElementSet], neighbour: Sequence[ElementSet],
    protected_truth: ElementSet, truth: ElementSet, events: Sequence[Event],
    conjunction: ConjunctionInput | None,
) -> ThreatScenario:  # fmt: skip
    """The indicators of the object exactly as the service computes them, the feature vector
    and the rule baseline's class."""
    inputs = assessment_inputs(protected, neighbour, now, window_start)
    features = threat_features(
        now=now,
        proximity=inputs["proximity"],
        pattern=inputs["pattern"],
        conjunction=conjunction,
        since=window_start,
        protected=inputs["protected"],
        history=inputs["history"],
    )
    assessment = assess_intent(
        now=now,
        proximity=inputs["proximity"],
        pattern=inputs["pattern"],
        conjunction=conjunction,
        since=window_start,
    )
    return ThreatScenario(
        label, kind, regime, now, window_start, tuple(protected), tuple(neighbour),
        protected_truth, truth, tuple(events), conjunction, features, baseline_class(assessment),
    )  # fmt: skip


def sample_plan(seed: int, samples: int) -> list[tuple[str, str, np.random.SeedSequence]]:
    """(class, regime, child seed) of each sample: classes in equal shares (cycled, then
    shuffled), regimes drawn with :data:`REGIME_SHARES`."""
    root = np.random.SeedSequence([seed, 18])
    rng = np.random.default_rng(root.spawn(1)[0])
    labels = [CLASS_NAMES[k % len(CLASS_NAMES)] for k in range(samples)]
    order = rng.permutation(samples)
    regimes = rng.choice(list(REGIME_SHARES), size=samples, p=list(REGIME_SHARES.values()))
    children = root.spawn(samples + 1)[1:]
    return [(labels[int(order[k])], str(regimes[k]), children[k]) for k in range(samples)]


def generate(
    seed: int,
    samples: int,
    noise: Mapping[str, RegimeNoise],
    progress: Callable[[int], None] | None = None,
) -> list[ThreatScenario]:
    """``samples`` labelled scenarios, deterministic in ``seed``."""
    result = []
    for index, (label, regime, child) in enumerate(sample_plan(seed, samples)):
        result.append(generate_scenario(label, regime, noise[regime], child))
        if progress is not None:
            progress(index + 1)
    return result


# ------------------------------------------------------------------------------ storage


def write_samples(
    directory: Path,
    scenarios: Sequence[ThreatScenario],
    *,
    seed: int,
    noise: Mapping[str, RegimeNoise],
) -> dict[str, Any]:
    """``samples.parquet`` (one row per sample: features, label, kind, regime, baseline) and
    the data card; returns the card."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    directory.mkdir(parents=True, exist_ok=True)
    columns: dict[str, list[Any]] = {
        "label": [s.label for s in scenarios],
        "kind": [s.kind for s in scenarios],
        "regime": [s.regime for s in scenarios],
        "baseline": [s.baseline for s in scenarios],
        "now": [s.now for s in scenarios],
    }
    matrix = np.stack([s.features for s in scenarios]) if scenarios else np.zeros((0, 0))
    for k, name in enumerate(FEATURE_NAMES):
        columns[name] = matrix[:, k].tolist() if len(scenarios) else []
    pq.write_table(pa.table(columns), directory / SAMPLES_FILE)
    card = {
        "generator": "astroshield.ml.threat_scenarios",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "samples": len(scenarios),
        "sets_per_object": SETS,
        "window_days": WINDOW_DAYS,
        "class_balance": _counts(s.label for s in scenarios),
        "kinds": _counts(f"{s.label}/{s.kind}" for s in scenarios),
        "regimes": _counts(s.regime for s in scenarios),
        "baseline_agreement": sum(s.baseline == s.label for s in scenarios)
        / max(len(scenarios), 1),
        "feature_names": list(FEATURE_NAMES),
        "class_names": list(CLASS_NAMES),
        "anomaly_dv_m_s": ANOMALY_DV_M_S,
        "breakup_dv_m_s": list(BREAKUP_DV_M_S),
        "element_jump_km": list(JUMP_KM),
        "pc_min_collision_risk": PC_MIN,
        "noise_model": {regime: model.as_dict() for regime, model in noise.items()},
        "files": {SAMPLES_FILE: file_sha256(directory / SAMPLES_FILE)},
    }
    (directory / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (directory / CARD_MD).write_text(_card_markdown(card), encoding="utf-8")
    return card


def _counts(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def _card_markdown(card: Mapping[str, Any]) -> str:
    lines = [
        "# ThreatDetectorNN scenarios (data card)",
        "",
        f"- Generator: `{card['generator']}` version {card['generator_version']}, seed "
        f"{card['seed']}; {card['samples']} samples, {card['sets_per_object']} element sets "
        f"per object, assessment window {card['window_days']} days",
        f"- Class balance: `{json.dumps(card['class_balance'])}`",
        f"- Sub-kinds: `{json.dumps(card['kinds'])}`",
        f"- Regimes: `{json.dumps(card['regimes'])}`",
        f"- Rule baseline agrees with the label on {card['baseline_agreement']:.3f} of samples",
        "- Construction: see the docstring of `astroshield.ml.threat_scenarios`; labels are "
        "the constructed class, features `astroshield.ml.threat_detector.threat_features` of "
        "the indicators computed by the CCDM code; the TLE noise and cadence were estimated "
        "from the real histories (`noise_model` in data_card.json).",
        f"- Files: `{json.dumps(card['files'])}`",
    ]
    return "\n".join(lines) + "\n"


def load_samples(
    directory: Path,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], list[str], list[str]]:
    """(features, class indices, baseline classes, regimes) of ``samples.parquet``."""
    import pyarrow.parquet as pq

    table = pq.read_table(directory / SAMPLES_FILE).to_pydict()
    names = list(FEATURE_NAMES)
    missing = [name for name in [*names, "label", "baseline"] if name not in table]
    if missing:
        raise ValueError(f"{directory / SAMPLES_FILE}: missing columns {', '.join(missing)}")
    features = np.array([table[name] for name in names], dtype=np.float32).T.reshape(-1, len(names))
    labels = np.array([CLASS_NAMES.index(str(v)) for v in table["label"]], dtype=np.int64)
    return features, labels, [str(v) for v in table["baseline"]], [str(v) for v in table["regime"]]
