"""ActorCritic without torch: the episode physics and the shipped ONNX policy."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from astroshield.astro.conjunction.avoidance import along_track_shift_cw
from astroshield.astro.conjunction.pc import kepler_propagate, pc_2d
from astroshield.astro.dynamics.frames import rtn_rotation
from astroshield.ml.actor_critic import ActorCritic, Constraints, shipped_model_path
from astroshield.ml.avoidance_episode import (
    DECISIONS,
    STEPS_PER_ORBIT,
    TCA_STEP,
    AvoidanceEpisode,
    baseline_burns,
    fly,
    orbit_period_s,
    sample_encounter,
)
from astroshield.ml.onnx_model import ModelFileError, metadata_path


def test_zero_action_episode_keeps_the_unmanoeuvred_pc_and_the_slot() -> None:
    for seed in (0, 1, 2):
        encounter = sample_encounter(seed)
        # Independent: the 2-D Pc of the states at the nominal (linear) TCA.
        expected = pc_2d(
            encounter.r1,
            encounter.v1,
            encounter.cov1,
            encounter.r2,
            encounter.v2,
            encounter.cov2,
            encounter.hbr,
            miss_convention="projected",
        )
        assert expected >= 1e-4
        outcome = fly(AvoidanceEpisode(encounter), np.zeros((DECISIONS, 3)))
        assert outcome.pc_at_tca == pytest.approx(expected, rel=1e-3)
        assert outcome.total_dv_m_s == 0.0
        assert outcome.slot_error_km < 1e-6
        assert not outcome.success  # Pc above the threshold


def _fly_pair(seed: int, axis: int, dv_m_s: float, cancel: bool) -> tuple[float, float]:
    """(slot error km, period s) after a burn at -T and, when ``cancel``, the opposite burn
    one orbit later (at TCA)."""
    encounter = sample_encounter(seed)
    limits = Constraints()
    actions = np.zeros((DECISIONS, 3))
    actions[0, axis] = dv_m_s / limits.max_dv_m_s
    if cancel:
        actions[STEPS_PER_ORBIT, axis] = -dv_m_s / limits.max_dv_m_s
    outcome = fly(AvoidanceEpisode(encounter, limits), actions)
    return outcome.slot_error_km, orbit_period_s(encounter.r1, encounter.v1)


def test_radial_burn_and_the_opposite_one_orbit_later_return_to_the_slot() -> None:
    # Clohessy-Wiltshire: a radial impulse gives a closed relative ellipse whose largest
    # offset is the along-track 4 dv / n (half an orbit later); one orbit later the primary
    # is back at the slot with the same velocity offset, which the opposite burn cancels.
    alone, period = _fly_pair(3, 0, 0.1, cancel=False)
    assert alone == pytest.approx(4 * 0.1e-3 / (2 * math.pi / period), rel=0.03)
    paired, _ = _fly_pair(3, 0, 0.1, cancel=True)
    assert paired < 0.02 * alone


def test_along_track_burn_and_the_opposite_one_orbit_later_leave_the_cw_phase_shift() -> None:
    # Along track the pair stops the drift one orbit later, leaving the CW shift (Vallado
    # eq. 6-66 after one period): constant, so the slot error is that shift.
    error, period = _fly_pair(4, 1, 0.05, cancel=True)
    shift = abs(along_track_shift_cw(0.05, period, 2 * math.pi / period))
    assert error == pytest.approx(shift, rel=0.03)


def test_baseline_clears_and_its_phasing_return_is_back_in_slot() -> None:
    encounter = sample_encounter(5)
    baseline = baseline_burns(encounter)
    assert baseline.outcome is not None
    assert baseline.outcome.pc_at_tca < 1e-4
    assert baseline.outcome.slot_error_km < 0.01
    assert baseline.counted_dv_m_s == pytest.approx(4 * abs(baseline.avoid_dv_m_s))
    assert baseline.outcome.total_dv_m_s == pytest.approx(4 * abs(baseline.avoid_dv_m_s))


def test_shipped_policy_refuses_a_tampered_file(tmp_path: Path) -> None:
    source = shipped_model_path()
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    shutil.copy(metadata_path(source), metadata_path(copy))
    ActorCritic.load(copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        ActorCritic.load(copy)
    with pytest.raises(ModelFileError, match="registry"):
        ActorCritic.load(source, expected_sha256="0" * 64)


def _independent_pc(seed: int, burns: tuple[object, ...]) -> float:
    """Fly the burns before TCA by hand and find the closest approach with scipy."""
    encounter = sample_encounter(seed)
    period = orbit_period_s(encounter.r1, encounter.v1)
    r, v = kepler_propagate(encounter.r1, encounter.v1, np.array(-period))
    t_state = -period
    for burn in burns:
        time_s, dv = burn.time_s, np.asarray(burn.dv_rtn_m_s)  # type: ignore[attr-defined]
        if time_s >= 0:
            break
        r, v = kepler_propagate(r, v, np.array(time_s - t_state))
        v = v + rtn_rotation(r, v).T @ (dv / 1000.0)
        t_state = time_s

    def distance(t: float) -> float:
        p1, _ = kepler_propagate(r, v, np.array(t - t_state))
        p2, _ = kepler_propagate(encounter.r2, encounter.v2, np.array(t))
        return float(np.linalg.norm(p1 - p2))

    t_ca = minimize_scalar(distance, bounds=(-60.0, 60.0), method="bounded").x
    s1, w1 = kepler_propagate(r, v, np.array(t_ca - t_state))
    s2, w2 = kepler_propagate(encounter.r2, encounter.v2, np.array(t_ca))
    return pc_2d(
        s1,
        w1,
        encounter.cov1,
        s2,
        w2,
        encounter.cov2,
        encounter.hbr,
        miss_convention="projected",
    )


def test_shipped_policy_rollouts_recompute_pc_with_physics() -> None:
    agent = ActorCritic.load()
    for seed in (0, 1, 2):  # held-out seeds (training draws seeds >= 1,000,000)
        rollout = agent.rollout(sample_encounter(seed))
        assert len(rollout.times_s) == DECISIONS
        assert {b.time_s for b in rollout.burns} <= set(rollout.times_s)  # on the grid
        assert rollout.pc_at_tca == pytest.approx(_independent_pc(seed, rollout.burns), rel=2e-3)
        assert rollout.total_dv_m_s == pytest.approx(sum(b.magnitude_m_s for b in rollout.burns))
        assert rollout.success == (rollout.pc_at_tca < 1e-4 and rollout.slot_error_km < 0.5)
        assert rollout.times_s[TCA_STEP] == pytest.approx(0.0, abs=1e-6)


def test_cli_evaluates_a_few_episodes_and_writes_the_figures(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from astroshield.cli import app as cli

    args = ["ml", "evaluate", "actor-critic", "--episodes", "3", "--figures", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "ml-actor-critic-metrics.json").read_text())
    assert metrics["episodes"] == 3
    assert metrics["baseline"]["success_rate"] == 1.0  # the phasing return is exact enough
    for name in ("learning", "dv-ratio", "episode"):
        assert (tmp_path / f"ml-actor-critic-{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_refuses_a_tampered_model_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from astroshield.cli import app as cli

    copy = tmp_path / "actor_critic-0.1.0.onnx"
    copy.write_bytes(shipped_model_path().read_bytes() + b"\0")
    shutil.copy(metadata_path(shipped_model_path()), metadata_path(copy))
    args = ["ml", "evaluate", "actor-critic", "--model", str(copy), "--figures", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "sha256" in result.stderr
