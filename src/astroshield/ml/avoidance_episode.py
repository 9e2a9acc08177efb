"""Multi-step collision avoidance and return to slot: the ActorCritic's episode (pure numpy).

One episode is one conjunction (primary and secondary states at the nominal TCA, 6x6
covariances, HBR), built with :func:`astroshield.astro.conjunction.pc.encounters.build_encounter`
from a seeded :class:`EncounterSpec` (LEO primary, fast crossing of 20-150 deg, miss inside
about one combined sigma so that the unmanoeuvred Pc is at or above the threshold).

Decisions are taken every quarter orbit (``period / STEPS_PER_ORBIT``) from one orbit before
TCA (``-T``) to one orbit after (``+T``): 9 decisions, each an impulsive RTN Δv of the primary
(in the primary's RTN frame at that instant, bounded by ``max_dv_m_s`` per axis). Both objects
follow two-body motion (:func:`kepler_propagate`). At the TCA decision, before its burn, the
new closest approach is found and the 2-D Pc recomputed there by
:func:`astroshield.astro.conjunction.avoidance.approach_after_burn` (given the manoeuvred
primary's state at the nominal TCA and no further burn; covariances as they are at TCA).

The slot is the primary's unmanoeuvred orbit. The *slot error* of an episode is the largest
RTN position offset from the slot during one orbit of free flight after the last decision
(sampled 64 times): a satellite that passes through its slot with a residual drift does not
count as back. *Success*: Pc < ``red_pc`` at TCA and slot error < ``slot_tolerance_km``.

Reward (per decision): ``-|Δv| / dv_scale``; at TCA ``-PC_PENALTY`` (and a term growing with
log10 Pc) when Pc >= ``red_pc``; at the end ``-2 log2(1 + slot error / tolerance)`` and
``-SLOT_PENALTY`` when out of tolerance.

Baseline (:func:`baseline_burns`): the single-burn optimum of
:func:`astroshield.astro.conjunction.avoidance.avoidance_trade`, along-track, at the earliest
lead time (one orbit); if that does not clear, the other lead times of the grid, the cheapest.
Its return to slot is counted as an along-track phasing of the same size: ``-2 Δv`` at TCA
(stops the drift and starts the reverse one) and ``+Δv`` one orbit later (stops it), so the
baseline spends ``4 |Δv|``; this is exact for a one-orbit lead in the Clohessy-Wiltshire
approximation. The baseline's burns are flown through the same episode physics, so its own
success is measured, not assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from astroshield.astro.conjunction.avoidance import approach_after_burn, avoidance_trade
from astroshield.astro.conjunction.pc import MU_EARTH_KM3_S2, kepler_propagate, pc_2d
from astroshield.astro.conjunction.pc.encounters import Encounter, EncounterSpec, build_encounter
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.astro.dynamics.orbit import ClassicalElements

F64 = NDArray[np.float64]

STEPS_PER_ORBIT = 4
DECISIONS = 2 * STEPS_PER_ORBIT + 1  # -T ... 0 ... +T
TCA_STEP = STEPS_PER_ORBIT
OBSERVATION_SIZE = 16
PC_PENALTY = 10.0
SLOT_PENALTY = 5.0
PC_FLOOR = 1e-12
# Closest-approach search around the nominal TCA (s): crossings of 20 deg or more are faster
# than 2.5 km/s, so even the largest burns of an episode (tens of km along track) move the
# approach by well under a minute.
APPROACH_WINDOW_S = 60.0
# Along-track shift (km) of the Pc-sensitivity observations.
SENSITIVITY_KM = 0.5


@dataclass(frozen=True)
class Constraints:
    """What an operator allows: Pc threshold, slot box, Δv bound per axis and decision."""

    red_pc: float = 1e-4
    slot_tolerance_km: float = 0.5
    max_dv_m_s: float = 0.4
    dv_scale_m_s: float = 0.1


@dataclass(frozen=True)
class Burn:
    time_s: float  # from the nominal TCA
    dv_rtn_m_s: tuple[float, float, float]

    @property
    def magnitude_m_s(self) -> float:
        return float(np.linalg.norm(self.dv_rtn_m_s))


@dataclass(frozen=True)
class Rollout:
    """What an episode did: burns, total Δv, Pc at TCA recomputed with physics, slot error."""

    burns: tuple[Burn, ...]
    total_dv_m_s: float
    pc_at_tca: float
    miss_km: float
    slot_error_km: float
    success: bool
    times_s: tuple[float, ...] = ()  # decision times, for the plots
    range_km: tuple[float, ...] = ()  # range to the secondary at each decision
    slot_offset_km: tuple[float, ...] = ()  # |RTN offset from slot| at each decision


def orbit_period_s(r: F64, v: F64, mu: float = MU_EARTH_KM3_S2) -> float:
    energy = 0.5 * float(v @ v) - mu / float(np.linalg.norm(r))
    a = -mu / (2.0 * energy)
    return 2.0 * math.pi * math.sqrt(a**3 / mu)


def sample_spec(rng: np.random.Generator, name: str = "episode") -> EncounterSpec:
    """One seeded LEO conjunction recipe (see the module docstring)."""
    a = float(rng.uniform(6900.0, 7300.0))
    e = float(rng.uniform(0.0, 2e-3))
    angles = rng.uniform(0.0, 360.0, 3)
    primary = ClassicalElements(
        a * (1 - e * e),
        a,
        e,
        float(rng.uniform(0.0, 100.0)),
        float(angles[0]),
        float(angles[1]),
        float(angles[2]),
    )
    crossing = float(rng.uniform(20.0, 150.0)) * float(rng.choice([-1.0, 1.0]))
    s1 = (
        float(rng.uniform(0.03, 0.15)),
        float(rng.uniform(0.15, 0.6)),
        float(rng.uniform(0.03, 0.15)),
    )
    s2 = tuple(x * float(rng.uniform(1.0, 2.0)) for x in s1)
    # Miss perpendicular to the relative velocity (turn of v about R: relative velocity in T-N).
    theta = math.radians(crossing)
    rel_tn = np.array([math.cos(theta) - 1.0, math.sin(theta)])
    perp_tn = np.array([-rel_tn[1], rel_tn[0]]) / np.linalg.norm(rel_tn)
    radial, lateral = rng.normal(0.0, 1.0, 2) * np.array([0.5 * s1[0], 0.5 * s1[1]])
    miss = (float(radial), float(lateral * perp_tn[0]), float(lateral * perp_tn[1]))
    return EncounterSpec(
        name,
        "ActorCritic episode (seeded)",
        primary,
        miss_rtn=miss,
        crossing_deg=crossing,
        sigma1_rtn=(*s1, 1e-5, 1e-5, 1e-5),
        sigma2_rtn=(s2[0], s2[1], s2[2], 1e-5, 1e-5, 1e-5),
        hbr_km=float(rng.uniform(0.01, 0.03)),
        window_s=10.0,
    )


def unmanoeuvred_pc(encounter: Encounter) -> float:
    return pc_2d(
        encounter.r1,
        encounter.v1,
        encounter.cov1,
        encounter.r2,
        encounter.v2,
        encounter.cov2,
        encounter.hbr,
        miss_convention="projected",
    )


def sample_encounter(seed: int, red_pc: float = 1e-4) -> Encounter:
    """The conjunction of episode ``seed``: the first sampled one whose unmanoeuvred Pc is
    at or above ``red_pc`` (and below 0.1)."""
    rng = np.random.default_rng(seed)
    while True:
        encounter = build_encounter(sample_spec(rng, f"episode-{seed}"))
        if red_pc <= unmanoeuvred_pc(encounter) < 0.1:
            return encounter


def apply_burn(r: F64, v: F64, dv_rtn_m_s: ArrayLike) -> F64:
    """Velocity after an impulsive Δv given in the RTN frame of ``(r, v)`` (m/s)."""
    return v + rtn_rotation(r, v).T @ (np.asarray(dv_rtn_m_s, dtype=np.float64) / 1000.0)


def slot_offset(r: F64, v: F64, ref_r: F64, ref_v: F64) -> tuple[F64, F64]:
    """Position (km) and rotating-frame velocity (km/s) offset from the slot, in the slot's
    RTN frame."""
    rot = rtn_rotation(ref_r, ref_v)
    dr, dv = r - ref_r, v - ref_v
    omega = np.cross(ref_r, ref_v) / float(ref_r @ ref_r)
    return rot @ dr, rot @ (dv - np.cross(omega, dr))


@dataclass
class AvoidanceEpisode:
    """State machine of one episode: ``observe()``, ``step(action)`` until ``done``."""

    encounter: Encounter
    constraints: Constraints = field(default_factory=Constraints)

    def __post_init__(self) -> None:
        enc = self.encounter
        self.period_s = orbit_period_s(enc.r1, enc.v1)
        self.dt_s = self.period_s / STEPS_PER_ORBIT
        self.times_s = tuple(-self.period_s + k * self.dt_s for k in range(DECISIONS))
        self.mean_motion = 2.0 * math.pi / self.period_s
        self.step_index = 0
        r, v = kepler_propagate(enc.r1, enc.v1, np.array(self.times_s[0]))
        self.r, self.v = np.asarray(r), np.asarray(v)
        self.burns: list[Burn] = []
        self.total_dv_m_s = 0.0
        self.pc_at_tca = math.nan
        self.miss_km = math.nan
        self.slot_error_km = math.nan
        self.done = False
        self.ranges: list[float] = []
        self.offsets: list[float] = []
        self._predicted = self._predict()

    @property
    def time_s(self) -> float:
        return self.times_s[self.step_index]

    def _state_at(self, t: float) -> tuple[F64, F64]:
        r, v = kepler_propagate(self.r, self.v, np.array(t - self.time_s))
        return np.asarray(r), np.asarray(v)

    def _predict(self) -> tuple[float, float, F64, F64]:
        """(Pc, miss km, miss vector primary-secondary in the primary's RTN, log10 Pc
        changes for a +/- ``SENSITIVITY_KM`` along-track shift of the primary) of the
        coasting primary at its closest approach around the nominal TCA."""
        enc = self.encounter
        r_tca, v_tca = self._state_at(0.0)
        approach = approach_after_burn(
            r_tca,
            v_tca,
            enc.cov1,
            enc.r2,
            enc.v2,
            enc.cov2,
            enc.hbr,
            delta_v_m_s=0.0,
            direction="along_track",
            lead_time_s=0.0,
            window_s=APPROACH_WINDOW_S,
        )
        rotation = rtn_rotation(r_tca, v_tca)
        rel = rotation @ (r_tca - enc.r2)
        log_pc = math.log10(max(approach.pc, PC_FLOOR))
        shifted = [
            math.log10(
                max(
                    pc_2d(
                        r_tca + sign * SENSITIVITY_KM * rotation[1],
                        v_tca,
                        enc.cov1,
                        enc.r2,
                        enc.v2,
                        enc.cov2,
                        enc.hbr,
                        miss_convention="projected",
                    ),
                    PC_FLOOR,
                )
            )
            - log_pc
            for sign in (1.0, -1.0)
        ]
        return approach.pc, approach.miss_distance_km, rel, np.array(shifted)

    def observe(self) -> NDArray[np.float32]:
        """Normalised observation (``OBSERVATION_SIZE`` floats)."""
        enc = self.encounter
        t = self.time_s
        before = t <= 0.0 and not self.done
        ref_r, ref_v = kepler_propagate(enc.r1, enc.v1, np.array(t))
        d_pos, d_vel = slot_offset(self.r, self.v, np.asarray(ref_r), np.asarray(ref_v))
        if before:
            pc, _, rel, shifted = self._predicted
            log_pc = (math.log10(max(pc, PC_FLOOR)) - math.log10(self.constraints.red_pc)) / 4.0
        else:
            log_pc, rel, shifted = 0.0, np.zeros(3), np.zeros(2)
        obs = np.concatenate(
            [
                np.clip(rel, -5.0, 5.0),
                [log_pc],
                np.clip(shifted / 4.0, -5.0, 5.0),
                np.clip(d_pos, -20.0, 20.0),
                np.clip(10.0 * d_vel / self.mean_motion, -50.0, 50.0),
                [-t / self.period_s, (self.times_s[-1] - t) / self.period_s],
                [self.total_dv_m_s / 1.0, 1.0 if before else 0.0],
            ]
        )
        return obs.astype(np.float32)

    def step(self, action: F64) -> float:
        """Apply ``action`` (RTN, each in [-1, 1], scaled by ``max_dv_m_s``) at the current
        decision, advance to the next one, and return the reward."""
        if self.done:
            raise RuntimeError("episode is over")
        limits = self.constraints
        enc = self.encounter
        dv = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0) * limits.max_dv_m_s
        reward = 0.0
        t = self.time_s
        self.ranges.append(float(np.linalg.norm(self.r - self._secondary(t))))
        ref_r, _ = kepler_propagate(enc.r1, enc.v1, np.array(t))
        self.offsets.append(float(np.linalg.norm(self.r - np.asarray(ref_r))))
        if self.step_index == TCA_STEP:  # the Pc of the approach, before this decision's burn
            pc, miss, _, _ = self._predict()
            self.pc_at_tca, self.miss_km = pc, miss
            if pc >= limits.red_pc:
                excess = math.log10(max(pc, PC_FLOOR)) - math.log10(limits.red_pc)
                reward -= PC_PENALTY + 2.0 * excess
        magnitude = float(np.linalg.norm(dv))
        if magnitude > 0.0:
            self.v = apply_burn(self.r, self.v, dv)
            self.burns.append(Burn(t, (float(dv[0]), float(dv[1]), float(dv[2]))))
            self.total_dv_m_s += magnitude
        reward -= magnitude / limits.dv_scale_m_s
        if self.step_index == DECISIONS - 1:
            self.done = True
            self.slot_error_km = self._slot_error()
            ratio = self.slot_error_km / limits.slot_tolerance_km
            reward -= 2.0 * math.log2(1.0 + ratio)
            if ratio >= 1.0:
                reward -= SLOT_PENALTY
            return reward
        r, v = self._state_at(self.times_s[self.step_index + 1])
        self.r, self.v = r, v
        self.step_index += 1
        if self.time_s <= 0.0:
            self._predicted = self._predict()
        return reward

    def _secondary(self, t: float) -> F64:
        enc = self.encounter
        return np.asarray(kepler_propagate(enc.r2, enc.v2, np.array(t))[0])

    def _slot_error(self) -> float:
        enc = self.encounter
        t0 = self.time_s
        offsets = np.linspace(0.0, self.period_s, 64)
        p, _ = kepler_propagate(self.r, self.v, offsets)
        ref, _ = kepler_propagate(enc.r1, enc.v1, t0 + offsets)
        return float(np.max(np.linalg.norm(np.asarray(p) - np.asarray(ref), axis=-1)))

    @property
    def success(self) -> bool:
        return bool(
            self.done
            and self.pc_at_tca < self.constraints.red_pc
            and self.slot_error_km < self.constraints.slot_tolerance_km
        )

    def outcome(self) -> Rollout:
        return Rollout(
            tuple(self.burns),
            self.total_dv_m_s,
            self.pc_at_tca,
            self.miss_km,
            self.slot_error_km,
            self.success,
            self.times_s[: len(self.ranges)],
            tuple(self.ranges),
            tuple(self.offsets),
        )


def fly(episode: AvoidanceEpisode, actions: NDArray[np.float64]) -> Rollout:
    """Fly a fixed ``(DECISIONS, 3)`` sequence of actions (in [-1, 1] units)."""
    for action in actions:
        episode.step(action)
    return episode.outcome()


@dataclass(frozen=True)
class Baseline:
    lead_time_s: float
    avoid_dv_m_s: float  # signed, along-track
    counted_dv_m_s: float  # 4 |avoid|: avoidance + phasing return (module docstring)
    outcome: Rollout | None  # flown through the episode physics; None if no clearing


def baseline_plan(
    encounter: Encounter, constraints: Constraints | None = None, max_dv_m_s: float = 2.0
) -> tuple[float, float] | None:
    """(lead time s, signed along-track Δv m/s) of the single-burn optimum: the earliest
    lead time of the grid, the other ones (cheapest) only when that does not clear."""
    limits = constraints or Constraints()
    period = orbit_period_s(encounter.r1, encounter.v1)
    best: tuple[float, float] | None = None
    for k in range(STEPS_PER_ORBIT):  # leads T, 3T/4, T/2, T/4: earliest first
        lead = period * (STEPS_PER_ORBIT - k) / STEPS_PER_ORBIT
        result = avoidance_trade(
            encounter.r1,
            encounter.v1,
            encounter.cov1,
            encounter.r2,
            encounter.v2,
            encounter.cov2,
            encounter.hbr,
            lead_time_s=lead,
            red_pc=limits.red_pc,
            max_delta_v_m_s=max_dv_m_s,
        )
        if result is not None and (best is None or abs(result.delta_v_m_s) < abs(best[1])):
            best = (lead, result.delta_v_m_s)
        if best is not None and k == 0:
            break
    return best


def baseline_actions(lead_s: float, dv_m_s: float, period_s: float, bound_m_s: float) -> F64:
    """The baseline's ``(DECISIONS, 3)`` actions in units of ``bound_m_s``: the avoidance
    burn, ``-2 Δv`` at TCA and ``+Δv`` one orbit after TCA (all along track)."""
    actions = np.zeros((DECISIONS, 3))
    actions[STEPS_PER_ORBIT - round(lead_s / (period_s / STEPS_PER_ORBIT)), 1] = dv_m_s
    actions[TCA_STEP, 1] -= 2.0 * dv_m_s
    actions[DECISIONS - 1, 1] += dv_m_s
    return actions / bound_m_s


def baseline_burns(
    encounter: Encounter, constraints: Constraints | None = None, max_dv_m_s: float = 2.0
) -> Baseline:
    """The single-burn optimum and its counted return (see the module docstring)."""
    limits = constraints or Constraints()
    plan = baseline_plan(encounter, limits, max_dv_m_s)
    if plan is None:
        return Baseline(math.nan, math.nan, math.nan, None)
    lead, dv = plan
    # Flown with a Δv bound that fits it: the trade's Δv may exceed the agent's bound.
    bound = max(1.0, 3.0 * abs(dv))
    flight = AvoidanceEpisode(encounter, replace(limits, max_dv_m_s=bound))
    actions = baseline_actions(lead, dv, flight.period_s, bound)
    return Baseline(lead, dv, 4.0 * abs(dv), fly(flight, actions))


def track(
    encounter: Encounter, burns: tuple[Burn, ...], samples: int = 400
) -> tuple[F64, F64, F64]:
    """(times from TCA s, range to the secondary km, |RTN offset from slot| km) of the primary
    flying ``burns``, from one orbit before TCA to the end of the slot check (two after)."""
    period = orbit_period_s(encounter.r1, encounter.v1)
    times = np.linspace(-period, 2.0 * period, samples)
    r, v = kepler_propagate(encounter.r1, encounter.v1, np.array(-period))
    r, v, t_state = np.asarray(r), np.asarray(v), -period
    positions = np.empty((samples, 3))
    pending = sorted(burns, key=lambda burn: burn.time_s)
    for k, t in enumerate(times):
        while pending and pending[0].time_s <= t:
            burn = pending.pop(0)
            rb, vb = kepler_propagate(r, v, np.array(burn.time_s - t_state))
            r, v, t_state = (
                np.asarray(rb),
                apply_burn(rb, np.asarray(vb), burn.dv_rtn_m_s),
                burn.time_s,
            )
        positions[k] = np.asarray(kepler_propagate(r, v, np.array(t - t_state))[0])
    secondary, _ = kepler_propagate(encounter.r2, encounter.v2, times)
    slot, _ = kepler_propagate(encounter.r1, encounter.v1, times)
    return (
        times,
        np.linalg.norm(positions - np.asarray(secondary), axis=-1),
        np.linalg.norm(positions - np.asarray(slot), axis=-1),
    )
