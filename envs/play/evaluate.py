"""The env's own evaluation on the sim2sim schedule (``play.py --evaluate``): same commands, flat ground."""

from __future__ import annotations

import numpy as np
import torch

from legged_snn.deploy.sim2sim import evaluate


def flat_eval_variant(env_cfg) -> None:
    """One robot on a plane, spawned at q0 and rest, no noise or randomization, commands held from outside."""
    env_cfg.env.num_envs = 1
    env_cfg.env.episode_length_s = 1e6
    env_cfg.terrain = None  # the height scan then reads the plane, as sim2sim's does
    env_cfg.init_state.joint_pos_scale = (1.0, 1.0)
    env_cfg.init_state.root_vel = 0.0
    env_cfg.init_state.root_xy = 0.0
    env_cfg.commands.heading_command = False
    env_cfg.commands.resampling_time = 1e9


class EnvAdapter:
    """Env 0 of a LocomotionEnv behind sim2sim's interface."""

    def __init__(self, env, policy) -> None:
        self.env, self.policy = env, policy
        self.meta = {"control_dt": env.dt}
        self._fallen = False

    def step(self, command: np.ndarray) -> None:
        env = self.env
        env.commands[0] = torch.as_tensor(command, dtype=torch.float32, device=env.commands.device)
        obs = env.get_observations().clone()  # the new command is seen at once, as in sim2sim
        sl = env.obs_layout.slices()["commands"]
        obs["policy"][0, sl] = env.commands[0] * env.obs_layout.scale[sl].to(env.commands.device)
        with torch.no_grad():
            actions = self.policy(obs)
        _, _, dones, extras = env.step(actions)
        self.policy.reset(dones)
        self._fallen = bool(dones[0]) and not bool(extras["time_outs"][0])

    def fallen(self) -> bool:
        return self._fallen

    def reset(self) -> None:
        """The env already reset the robot that fell."""

    def base_velocity(self) -> tuple[np.ndarray, float]:
        s = self.env.sim
        return s.base_lin_vel[0].cpu().numpy().astype(np.float64), float(s.base_ang_vel[0, 2])


def evaluate_env(env, policy) -> dict:
    return evaluate(EnvAdapter(env, policy))
