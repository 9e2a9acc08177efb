"""The shipped StrategyGenerator (ONNX, no torch): every proposal it returns on fresh
held-out encounters is feasible by an independent physics check; a tampered file is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from astroshield.astro.conjunction.avoidance import delta_v_jacobians
from astroshield.ml.encounter_scenarios import draw_scenario
from astroshield.ml.onnx_model import ModelFileError
from astroshield.ml.strategy_generator import (
    FEATURE_NAMES,
    StrategyGenerator,
    burn_for_shift,
    plane_frame,
    shift_for_burn,
    shipped_model_path,
    strategy_features,
)
from tests.ml.test_strategy_scenarios import independent_pc

HELD_OUT_SEED = 4242  # neither the training seed (18) nor the evaluation seed (1018)


def test_every_returned_proposal_is_feasible_by_independent_physics() -> None:
    generator = StrategyGenerator.load()
    returned = 0
    offered = 0
    for index in range(4):
        s = draw_scenario(HELD_OUT_SEED, index, solve=False)
        proposed = generator.propose(s.conjunction, s.constraints)
        proposals = proposed.feasible
        candidates = generator.candidates(s.conjunction, s.constraints)
        assert len(proposals) == sum(p.feasible for p in candidates)
        offered += len(candidates)
        assert [p.delta_v_m_s for p in proposals] == sorted(p.delta_v_m_s for p in proposals)
        for p in proposals:
            pc = independent_pc(s.conjunction, p.burn_time_before_tca_s, p.dv_rtn_m_s)
            assert pc < s.constraints.red_pc
            assert pc == pytest.approx(p.pc_after, rel=2e-3)
            assert p.delta_v_m_s <= s.constraints.max_delta_v_m_s
            assert s.constraints.min_lead_s <= p.burn_time_before_tca_s
            assert p.burn_time_before_tca_s <= s.constraints.max_lead_s
        assert proposed.dropped == len(candidates) - len(proposals)
        returned += len(proposals)
    assert returned > 0
    assert returned < offered  # some candidates were dropped


def test_shift_and_burn_are_inverse_maps() -> None:
    s = draw_scenario(HELD_OUT_SEED, 0, solve=False)
    frame = plane_frame(s.conjunction)
    lead = 0.5 * (s.constraints.min_lead_s + s.constraints.max_lead_s)
    dv = burn_for_shift(s.conjunction, frame, lead, [0.3, -1.2])
    np.testing.assert_allclose(shift_for_burn(s.conjunction, frame, lead, dv), [0.3, -1.2], 1e-6)
    # Minimum norm: adding a burn the plane cannot see (null space of the map) changes
    # nothing in the plane and only costs more.
    jac = delta_v_jacobians(s.conjunction.r1, s.conjunction.v1, [lead])[0]
    null = np.linalg.svd(frame.axes @ jac)[2][-1]
    assert abs(float(null @ dv)) < 1e-9 * np.linalg.norm(dv)
    np.testing.assert_allclose(
        shift_for_burn(s.conjunction, frame, lead, dv + 0.01 * null), [0.3, -1.2], atol=1e-6
    )
    features = strategy_features(s.conjunction, s.constraints, frame)
    assert features.shape == (len(FEATURE_NAMES),) and np.all(np.isfinite(features))
    assert features[0] >= 0.0 and features[1] >= 0.0  # canonical signs of the miss


def test_tampered_or_unregistered_model_is_refused(tmp_path: Path) -> None:
    source = shipped_model_path()
    onnx = tmp_path / source.name
    shutil.copy(source, onnx)
    shutil.copy(source.with_suffix(".json"), onnx.with_suffix(".json"))
    assert StrategyGenerator.load(onnx).metadata["name"] == "strategy_generator"
    with pytest.raises(ModelFileError, match="registry"):
        StrategyGenerator.load(onnx, expected_sha256="0" * 64)
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        StrategyGenerator.load(onnx)


def test_shipped_metadata_describes_the_shipped_file() -> None:
    path = shipped_model_path()
    metadata = json.loads(path.with_suffix(".json").read_text())
    assert path.stat().st_size < 1_000_000
    assert metadata["feature_names"] == list(FEATURE_NAMES)
    assert metadata["metrics"]["onnx_vs_torch_max_abs"] < 1e-5
    assert metadata["candidate_scales"] == sorted(metadata["candidate_scales"])
    for key in ("name", "version", "sha256", "dataset_sha256", "training_config", "parameters"):
        assert key in metadata
