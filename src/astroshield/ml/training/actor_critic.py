"""Training of the ActorCritic: PPO (Stable-Baselines3) in a Gymnasium wrapper of the
avoidance episode (needs torch, gymnasium and stable-baselines3: the ``[ml]`` extra).

The dynamics, observation, reward and success are those of
:mod:`astroshield.ml.avoidance_episode` (pure numpy); this module only wraps an episode as a
``gymnasium.Env``. Training episodes are drawn from conjunction seeds ``>= TRAINING_SEED_OFFSET``
(by the environment's seeded generator); evaluation uses seeds ``0 .. n-1``, never drawn in
training. PPO: ``MlpPolicy`` (two hidden layers), ``n_envs`` environments in a
``DummyVecEnv``, one torch thread, seeded, so the same seed and budget give the same policy.

The deterministic actor (the policy's mean action, clipped to [-1, 1] as SB3's ``predict``
does) is exported to ONNX; :func:`fit_and_export` checks it against the torch policy.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor
from torch import nn

from astroshield.ml.avoidance_episode import (
    DECISIONS,
    OBSERVATION_SIZE,
    STEPS_PER_ORBIT,
    TCA_STEP,
    AvoidanceEpisode,
    Constraints,
    baseline_actions,
    baseline_plan,
    sample_encounter,
)

TRAINING_SEED_OFFSET = 1_000_000
INPUT_NAME = "observation"
OUTPUT_NAME = "action"


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    seed: int = 0
    timesteps: int = 12_000
    n_envs: int = 4
    n_steps: int = 256  # per environment and update
    batch_size: int = 256
    epochs: int = 10
    learning_rate: float = 3e-5
    gamma: float = 0.99
    gae_lambda: float = 0.95
    ent_coef: float = 0.0
    hidden: int = 128
    log_std_init: float = -4.5
    # Warm start: the actor imitates the baseline (with a Pc margin) and the critic its returns
    # on this many training conjunctions before PPO; 0 = PPO from scratch.
    imitation_episodes: int = 300
    imitation_margin: float = 1.4
    # Each demonstration is also flown with its avoidance burn scaled by a random factor in
    # [0.6, 1.6] (the label stays the demonstrator's burn; the return labels follow the burn
    # actually flown), so the actor learns the return from the drift it sees.
    imitation_perturbed: int = 3
    imitation_steps: int = 12000

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class AvoidanceEnv(gym.Env[npt.NDArray[np.float32], npt.NDArray[np.float32]]):
    """One conjunction per episode; action = RTN Δv in units of ``max_dv_m_s``."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012  (gymnasium's attribute)

    def __init__(
        self,
        constraints: Constraints | None = None,
        episode_seeds: Callable[[np.random.Generator], int] | None = None,
    ) -> None:
        super().__init__()
        self.constraints = constraints or Constraints()
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBSERVATION_SIZE,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        self._episode_seeds = episode_seeds or _training_seed
        self.episode: AvoidanceEpisode | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        episode_seed = self._episode_seeds(self.np_random)
        encounter = sample_encounter(episode_seed, self.constraints.red_pc)
        self.episode = AvoidanceEpisode(encounter, self.constraints)
        return self.episode.observe(), {"episode_seed": episode_seed}

    def step(
        self, action: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        assert self.episode is not None, "reset() first"
        reward = self.episode.step(np.asarray(action, dtype=np.float64))
        info: dict[str, Any] = {}
        if self.episode.done:
            info["is_success"] = self.episode.success
            info["total_dv_m_s"] = self.episode.total_dv_m_s
        return self.episode.observe(), reward, self.episode.done, False, info


def _training_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(TRAINING_SEED_OFFSET, 2**31 - 1))


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(1)


def make_ppo(env: Any, config: TrainingConfig) -> PPO:
    """The PPO learner of ``config`` on a (vectorised) environment."""
    _seed_everything(config.seed)
    return PPO(
        "MlpPolicy",
        env,
        n_steps=config.n_steps,
        batch_size=config.batch_size,
        n_epochs=config.epochs,
        learning_rate=config.learning_rate,
        gamma=config.gamma,
        gae_lambda=config.gae_lambda,
        ent_coef=config.ent_coef,
        policy_kwargs={
            "net_arch": {
                "pi": [config.hidden, config.hidden],
                "vf": [config.hidden, config.hidden],
            },
            "log_std_init": config.log_std_init,
        },
        seed=config.seed,
        device="cpu",
        verbose=0,
    )


class _Curve(BaseCallback):
    """Mean episode reward and success rate of the last episodes after every rollout."""

    def __init__(self, total: int, progress: Callable[[str, int, int], None] | None) -> None:
        super().__init__()
        self.total = total
        self.progress = progress
        self.points: list[tuple[int, float, float]] = []
        self._successes: list[float] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            if "is_success" in info:
                self._successes.append(float(info["is_success"]))
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.ep_info_buffer
        if buffer:
            reward = float(np.mean([item["r"] for item in buffer]))
            success = float(np.mean(self._successes[-100:])) if self._successes else 0.0
            self.points.append((self.num_timesteps, reward, success))
            if self.progress is not None:
                self.progress("ppo", self.num_timesteps, self.total)


@dataclass(frozen=True)
class TrainingResult:
    model: PPO
    curve: list[tuple[int, float, float]]  # (timesteps, mean episode reward, success rate)
    imitation: dict[str, Any]  # what the warm start saw


def vector_env(config: TrainingConfig, constraints: Constraints | None = None) -> VecMonitor:
    env = DummyVecEnv([lambda: AvoidanceEnv(constraints) for _ in range(config.n_envs)])
    env.seed(config.seed)
    return VecMonitor(env)


def train(
    config: TrainingConfig,
    constraints: Constraints | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainingResult:
    env = vector_env(config, constraints)
    model = make_ppo(env, config)
    limits = constraints or Constraints()
    imitation: dict[str, Any] = {}
    if config.imitation_episodes > 0:
        data = imitation_data(config, limits, progress)
        warm_start(model, data, config)
        imitation = {
            "episodes": data.episodes,
            "decisions": len(data.observations),
            "demonstration_success_rate": data.successes / max(data.episodes, 1),
        }
    before = validation_success(model, limits)
    warm_weights = copy.deepcopy(model.policy.state_dict())
    curve = _Curve(config.timesteps, progress)
    model.learn(total_timesteps=config.timesteps, callback=curve)
    after = validation_success(model, limits)
    imitation["validation_success_before_ppo"] = before
    imitation["validation_success_after_ppo"] = after
    if after < before:  # keep the better policy on the validation conjunctions
        model.policy.load_state_dict(warm_weights)
    imitation["kept"] = "after_ppo" if after >= before else "warm_start"
    return TrainingResult(model, curve.points, imitation)


VALIDATION_SEED = 999_999  # generator of the validation conjunctions (training seed range)


def validation_success(model: PPO, constraints: Constraints, episodes: int = 60) -> float:
    """Success rate of the deterministic policy on ``episodes`` conjunctions of the training
    seed range (never the held-out seeds 0 .. n-1)."""
    rng = np.random.default_rng(VALIDATION_SEED)
    successes = 0
    for _ in range(episodes):
        episode = AvoidanceEpisode(sample_encounter(_training_seed(rng)), constraints)
        while not episode.done:
            action, _ = model.predict(episode.observe(), deterministic=True)
            episode.step(np.asarray(action, dtype=np.float64))
        successes += episode.success
    return successes / episodes


@dataclass(frozen=True)
class Demonstrations:
    observations: npt.NDArray[np.float32]
    actions: npt.NDArray[np.float32]
    returns: npt.NDArray[np.float32]  # discounted return-to-go of each observation
    successes: int
    episodes: int


def imitation_data(
    config: TrainingConfig,
    constraints: Constraints,
    progress: Callable[[str, int, int], None] | None = None,
) -> Demonstrations:
    """The baseline (its avoidance Δv times ``imitation_margin``, the phasing return) flown
    on ``imitation_episodes`` training conjunctions: observations, actions, returns."""
    rng = np.random.default_rng(config.seed)
    observations: list[npt.NDArray[np.float32]] = []
    actions: list[npt.NDArray[np.float64]] = []
    returns: list[float] = []
    successes = 0
    for k in range(config.imitation_episodes):
        encounter = sample_encounter(_training_seed(rng), constraints.red_pc)
        plan = baseline_plan(encounter, constraints)
        if plan is not None:
            lead, dv = plan
            for factor in [1.0, *rng.uniform(0.6, 1.6, config.imitation_perturbed)]:
                episode = AvoidanceEpisode(encounter, constraints)
                labels, flown = _demonstration(
                    lead, dv * config.imitation_margin, factor, episode.period_s, constraints
                )
                rewards = []
                for label, action in zip(labels, flown, strict=True):
                    observations.append(episode.observe())
                    actions.append(label)
                    rewards.append(episode.step(action))
                successes += episode.success if factor == 1.0 else 0
                to_go, backwards = 0.0, []
                for reward in reversed(rewards):
                    to_go = reward + config.gamma * to_go
                    backwards.append(to_go)
                returns.extend(reversed(backwards))
        if progress is not None:
            progress("imitation data", k + 1, config.imitation_episodes)
    return Demonstrations(
        np.stack(observations).astype(np.float32),
        np.stack(actions).astype(np.float32),
        np.asarray(returns, dtype=np.float32),
        successes,
        config.imitation_episodes,
    )


def _demonstration(
    lead_s: float, dv_m_s: float, factor: float, period_s: float, constraints: Constraints
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(labels, flown actions): the avoidance burn is flown ``factor`` times the
    demonstrator's; its label stays the demonstrator's; the return follows the flown one."""
    bound = constraints.max_dv_m_s
    flown = np.clip(baseline_actions(lead_s, dv_m_s * factor, period_s, bound), -1.0, 1.0)
    labels = flown.copy()
    avoid = TCA_STEP - round(lead_s / (period_s / STEPS_PER_ORBIT))
    labels[avoid] = np.clip(baseline_actions(lead_s, dv_m_s, period_s, bound)[avoid], -1.0, 1.0)
    return labels, flown


def warm_start(model: PPO, data: Demonstrations, config: TrainingConfig) -> None:
    """Fit the policy's mean action to the demonstrations and its value to their returns
    (mean squared error, Adam, seeded minibatches)."""
    policy = model.policy
    optimiser = torch.optim.Adam(policy.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(config.seed)
    obs = torch.from_numpy(data.observations)
    target_action = torch.from_numpy(data.actions)
    target_value = torch.from_numpy(data.returns)
    for _ in range(config.imitation_steps):
        pick = torch.randint(0, len(obs), (256,), generator=generator)
        features = policy.extract_features(obs[pick], policy.features_extractor)
        latent_pi, latent_vf = policy.mlp_extractor(features)
        action_loss = ((policy.action_net(latent_pi) - target_action[pick]) ** 2).mean()
        value_loss = ((policy.value_net(latent_vf).squeeze(-1) - target_value[pick]) ** 2).mean()
        loss = 100.0 * action_loss + 0.01 * value_loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()


class DeterministicActor(nn.Module):
    """Observation -> the policy's mean action clipped to [-1, 1] (what ``predict`` returns
    with ``deterministic=True``)."""

    def __init__(self, model: PPO) -> None:
        super().__init__()
        policy = model.policy
        self.features = policy.features_extractor
        self.extractor = policy.mlp_extractor
        self.action_net = policy.action_net

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        latent = self.extractor.forward_actor(self.features(observation))
        return torch.clamp(self.action_net(latent), -1.0, 1.0)


def torch_actions(model: PPO, observations: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    actor = DeterministicActor(model).eval()
    with torch.no_grad():
        out: npt.NDArray[np.float32] = actor(torch.from_numpy(observations)).numpy()
    return out


def export_onnx(model: PPO) -> bytes:
    """The ONNX bytes of the deterministic actor (opset 17, dynamic batch)."""
    actor = DeterministicActor(model).eval()
    example = torch.zeros(2, OBSERVATION_SIZE)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            actor,
            (example,),
            buffer,  # type: ignore[arg-type]  # a file-like object works (documented)
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=17,
        )
    return buffer.getvalue()


def collected_observations(model: PPO, episodes: int, seed: int) -> npt.NDArray[np.float32]:
    """Observations met by the deterministic policy on ``episodes`` training conjunctions
    (for the ONNX parity check)."""
    env = AvoidanceEnv()
    rows: list[npt.NDArray[np.float32]] = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        for _ in range(DECISIONS):
            rows.append(obs)
            action, _ = model.predict(obs, deterministic=True)
            obs, _, done, _, _ = env.step(np.asarray(action, dtype=np.float32))
            if done:
                break
    return np.stack(rows).astype(np.float32)


def fit_and_export(
    out_path: Path,
    config: TrainingConfig,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Train, write the ONNX file and its metadata JSON (same stem), return the metadata.

    The ONNX actor is checked against the torch policy on observations of 20 training
    episodes (largest absolute difference in the metadata).
    """
    import json

    from astroshield.ml.actor_critic import (
        MODEL_NAME,
        MODEL_VERSION,
        OBSERVATION_NAMES,
        ActorCritic,
    )
    from astroshield.ml.onnx_model import file_sha256, metadata_path

    constraints = Constraints()
    result = train(config, constraints, progress=progress)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(export_onnx(result.model))
    metadata: dict[str, Any] = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "file": out_path.name,
        "sha256": file_sha256(out_path),
        "environment": {
            "module": "astroshield.ml.avoidance_episode",
            "training_seeds": f">= {TRAINING_SEED_OFFSET} (drawn by the seeded environments)",
            "constraints": asdict(constraints),
        },
        "observation_names": list(OBSERVATION_NAMES),
        "observation_normalisation": (
            "fixed, in the environment: miss vector and slot offset in km, slot velocity "
            "offset / mean motion in units of 100 m, (log10 Pc - log10 red_pc) / 4, log10 Pc "
            "changes / 4, times in orbits, fuel in m/s; no running statistics"
        ),
        "action": "RTN delta-v in units of constraints.max_dv_m_s, clipped to [-1, 1]",
        "training_config": config.as_dict(),
        "parameters": sum(p.numel() for p in DeterministicActor(result.model).parameters()),
        "metrics": {
            "imitation": result.imitation,
            "learning_curve": {
                "timesteps": [p[0] for p in result.curve],
                "mean_episode_reward": [p[1] for p in result.curve],
                "success_rate": [p[2] for p in result.curve],
            },
        },
    }
    metadata_path(out_path).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    observations = collected_observations(result.model, 20, TRAINING_SEED_OFFSET)
    served = ActorCritic.load(out_path)
    difference = np.abs(served.actions(observations) - torch_actions(result.model, observations))
    metadata["metrics"]["onnx_vs_torch_max_abs"] = float(difference.max())
    metadata_path(out_path).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata
