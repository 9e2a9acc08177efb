"""ActorCritic served with onnxruntime: a multi-step avoidance and return-to-slot plan.

The policy (PPO, :mod:`astroshield.ml.training.actor_critic`) was trained in the episode of
:mod:`astroshield.ml.avoidance_episode`; the ONNX file holds its deterministic actor
(observation -> RTN Δv in units of the training ``max_dv_m_s``). :meth:`ActorCritic.rollout`
flies the policy through that episode's physics: every burn is propagated two-body, and the
Pc at TCA is recomputed from the manoeuvred states (never a network estimate), as is the
final slot error.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from astroshield.astro.conjunction.pc.encounters import Encounter
from astroshield.ml.avoidance_episode import (
    OBSERVATION_SIZE,
    AvoidanceEpisode,
    Burn,
    Constraints,
    Rollout,
)
from astroshield.ml.onnx_model import (
    ModelFileError,
    inference_session,
    read_checked_metadata,
    shipped_path,
)

MODEL_NAME = "actor_critic"
MODEL_VERSION = "0.1.0"
INPUT_NAME = "observation"
OUTPUT_NAME = "action"
OBSERVATION_NAMES = (
    "miss_r_km",
    "miss_t_km",
    "miss_n_km",
    "log10_pc_over_threshold",
    "log10_pc_change_plus_0_5_km_along_track",
    "log10_pc_change_minus_0_5_km_along_track",
    "slot_r_km",
    "slot_t_km",
    "slot_n_km",
    "slot_vr_over_n_100m",
    "slot_vt_over_n_100m",
    "slot_vn_over_n_100m",
    "orbits_before_tca",
    "orbits_to_end",
    "fuel_used_m_s",
    "before_tca",
)
assert len(OBSERVATION_NAMES) == OBSERVATION_SIZE

__all__ = ["ActorCritic", "Burn", "Constraints", "Rollout", "shipped_model_path"]


def shipped_model_path(version: str = MODEL_VERSION) -> Path:
    return shipped_path(MODEL_NAME, version)


class ActorCritic:
    """An ONNX ActorCritic policy and its metadata; plans without torch."""

    def __init__(self, onnx_path: Path, metadata: dict[str, Any]) -> None:
        self.path = onnx_path
        self.metadata = metadata
        self.max_dv_m_s = float(metadata["environment"]["constraints"]["max_dv_m_s"])
        self._session = inference_session(onnx_path)

    @classmethod
    def load(cls, path: Path | None = None, expected_sha256: str | None = None) -> ActorCritic:
        """The model at ``path`` (default: the one shipped in the package), after checking its
        sha256 against its metadata JSON (and a registry's, when given)."""
        onnx_path = path or shipped_model_path()
        metadata = read_checked_metadata(onnx_path, expected_sha256)
        if list(metadata.get("observation_names", [])) != list(OBSERVATION_NAMES):
            raise ModelFileError(
                f"{onnx_path}: observation {metadata.get('observation_names')} is not ours"
            )
        return cls(onnx_path, metadata)

    def actions(self, observations: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Actions in [-1, 1] for a ``(batch, OBSERVATION_SIZE)`` float32 array."""
        (out,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: observations.astype(np.float32)})
        return np.asarray(out, dtype=np.float32)

    def rollout(self, conjunction: Encounter, constraints: Constraints | None = None) -> Rollout:
        """Fly the policy on ``conjunction`` (states and covariances at the nominal TCA).

        ``constraints`` sets the Pc threshold and the slot tolerance that decide success; the
        Δv bound is the one the policy was trained with.
        """
        limits = replace(constraints or Constraints(), max_dv_m_s=self.max_dv_m_s)
        episode = AvoidanceEpisode(conjunction, limits)
        while not episode.done:
            action = self.actions(episode.observe()[None, :])[0]
            episode.step(action.astype(np.float64))
        return episode.outcome()
