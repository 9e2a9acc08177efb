"""ActorCritic with torch: PPO learns a toy task; the exported ONNX actor matches torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from astroshield.ml.actor_critic import INPUT_NAME, OUTPUT_NAME
from astroshield.ml.avoidance_episode import OBSERVATION_SIZE
from astroshield.ml.onnx_model import inference_session
from astroshield.ml.training.actor_critic import (
    AvoidanceEnv,
    TrainingConfig,
    export_onnx,
    make_ppo,
    torch_actions,
)


class _Target(gym.Env[npt.NDArray[np.float32], npt.NDArray[np.float32]]):
    """One decision: the reward is minus the distance of the action to -observation."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._x = np.zeros(2, dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self._x = self.np_random.uniform(-0.8, 0.8, 2).astype(np.float32)
        return self._x, {}

    def step(
        self, action: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        reward = -float(np.abs(np.clip(action, -1, 1) + self._x).sum())
        return self._x, reward, True, False, {}


def _mean_reward(choose: Any, episodes: int = 200) -> float:
    env = _Target()
    total = 0.0
    for k in range(episodes):
        obs, _ = env.reset(seed=10_000 + k)
        total += env.step(choose(obs))[1]
    return total / episodes


def test_ppo_learns_a_toy_task_better_than_a_random_policy() -> None:
    config = TrainingConfig(
        seed=3,
        timesteps=2048,
        n_envs=2,
        n_steps=256,
        batch_size=128,
        learning_rate=3e-3,
        log_std_init=-1.0,
        imitation_episodes=0,
    )
    env = DummyVecEnv([_Target for _ in range(config.n_envs)])
    env.seed(config.seed)
    model = make_ppo(env, config)
    model.learn(total_timesteps=config.timesteps)
    rng = np.random.default_rng(0)
    random_reward = _mean_reward(lambda _: rng.uniform(-1, 1, 2))
    learned = _mean_reward(lambda obs: model.predict(obs, deterministic=True)[0])
    assert random_reward < -1.0  # E|u + x| summed over two axes is about 1.1
    assert learned > 0.5 * random_reward
    assert learned > -0.4


def test_onnx_actor_matches_the_torch_policy(tmp_path: Path) -> None:
    env = DummyVecEnv([AvoidanceEnv])
    model = make_ppo(env, TrainingConfig(seed=1, n_envs=1, n_steps=64, batch_size=64))
    path = tmp_path / "actor.onnx"
    path.write_bytes(export_onnx(model))
    rng = np.random.default_rng(2)
    observations = rng.normal(0.0, 3.0, (256, OBSERVATION_SIZE)).astype(np.float32)
    (onnx_actions,) = inference_session(path).run([OUTPUT_NAME], {INPUT_NAME: observations})
    expected = torch_actions(model, observations)
    assert np.max(np.abs(onnx_actions - expected)) < 1e-5
    # and that is what SB3 itself plays deterministically (clipped mean action)
    played, _ = model.predict(observations, deterministic=True)
    assert np.max(np.abs(played - expected)) < 1e-5
    assert torch.get_num_threads() == 1
    assert np.all(np.abs(expected) <= 1.0)


def test_environment_rejects_a_step_before_reset() -> None:
    with pytest.raises(AssertionError):
        AvoidanceEnv().step(np.zeros(3, dtype=np.float32))
