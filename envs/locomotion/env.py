"""LocomotionEnv: the rsl-rl 5.5 VecEnv for velocity-tracking locomotion on any Backend."""

from __future__ import annotations

import math

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from envs.locomotion import randomization, snapshot, terminations
from envs.locomotion.commands import Commands
from envs.locomotion.config import LocomotionEnvCfg
from envs.locomotion.observations import policy_layout, privileged_layout
from envs.locomotion.rewards import REWARD_TERMS, RewardInputs
from envs.locomotion.terrain_manager import TerrainManager
from legged_snn.gait_joint import GaitPrior, make_gait_prior
from legged_snn.rl.errors import PolicyNaNError
from legged_snn.sim.factory import make_backend
from legged_snn.sim.model import ModelCfg
from legged_snn.sim.terrain import generate


def _match(table: dict[str, float], joint: str, what: str) -> float:
    """First key of ``table`` that is a substring of ``joint`` (legged_gym's gain rule)."""
    for key, value in table.items():
        if key in joint:
            return value
    raise ValueError(f"robot.{what} has no entry matching joint {joint!r}; keys are {list(table)}")


def per_joint(r, what: str) -> list[float]:
    """robot.<what> (kp, kd, armature) for each actuated joint in action order: a table matched by substring,
    or one value for all."""
    value = getattr(r, what)
    if isinstance(value, dict):
        return [_match(value, j, what) for j in r.joint_names]
    return [float(value)] * len(r.joint_names)


def model_cfg(cfg: LocomotionEnvCfg) -> ModelCfg:
    """The simulator's view of a locomotion task."""
    r = cfg.robot
    missing = [j for j in r.joint_names if j not in r.default_joint_pos]
    if missing:
        raise ValueError(f"robot.default_joint_pos lacks {missing}")
    bodies = list(dict.fromkeys(r.penalize_contacts_on + r.terminate_after_contacts_on))
    return ModelCfg(
        urdf=r.urdf, meshdir=r.meshdir, joint_names=r.joint_names, foot_bodies=r.foot_bodies, contact_bodies=bodies,
        kp=per_joint(r, "kp"), kd=per_joint(r, "kd"), sim_dt=cfg.sim.dt, init_pos=r.init_pos,
        armature=per_joint(r, "armature"),
        solver_iterations=cfg.sim.solver_iterations, ls_iterations=cfg.sim.ls_iterations,
        terrain=generate(cfg.terrain) if cfg.terrain is not None else None,
    )


class LocomotionEnv(VecEnv):
    """N robots tracking velocity commands; observations {"policy", "critic"}."""

    def __init__(self, cfg: LocomotionEnvCfg, sim_device: str = "cpu") -> None:
        self.cfg = cfg
        if cfg.env.num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {cfg.env.num_envs}")
        mcfg = model_cfg(cfg)
        self.backend = make_backend(mcfg, cfg.env.num_envs, cfg.sim.decimation, sim_device, cfg.sim.nthread)
        # every env tensor lives where the simulation state does (torch's default device follows it on a GPU)
        self.gen = torch.Generator(device=self.backend.device).manual_seed(cfg.seed)
        self.sim = self.backend.state
        self.device = self.backend.device
        self.terrain = TerrainManager(mcfg.terrain, cfg.height_scan, cfg.env.num_envs, self.gen)
        self.num_envs = n = cfg.env.num_envs
        self.num_joints = j = len(cfg.robot.joint_names)
        self.dt = cfg.sim.dt * cfg.sim.decimation
        self.default_joint_pos = torch.tensor([cfg.robot.default_joint_pos[name] for name in cfg.robot.joint_names])
        self.gait_prior: GaitPrior | None = None  # joint targets from a gait generator + residuals
        if cfg.gait_prior.mode != "none":
            self.gait_prior = make_gait_prior(cfg.gait_prior, self.backend.model, self.backend.info,
                                              list(cfg.robot.joint_names), list(cfg.robot.foot_bodies),
                                              self.default_joint_pos, dict(cfg.robot.swing_joints), n, self.dt)
        self.num_actions = a = self.gait_prior.num_actions if self.gait_prior else j
        self.max_episode_length_s = cfg.env.episode_length_s
        self.max_episode_length = int(math.ceil(cfg.env.episode_length_s / self.dt))
        nf = len(cfg.robot.foot_bodies)
        names = list(dict.fromkeys(cfg.robot.penalize_contacts_on + cfg.robot.terminate_after_contacts_on))
        self.penalized_ids = torch.tensor([nf + names.index(b) for b in cfg.robot.penalize_contacts_on],
                                          dtype=torch.long)
        self.termination_ids = torch.tensor([nf + names.index(b) for b in cfg.robot.terminate_after_contacts_on],
                                            dtype=torch.long)

        rng = self.backend.joint_range
        mid, half = rng.mean(dim=1), (rng[:, 1] - rng[:, 0]) / 2 * cfg.rewards.soft_dof_pos_limit
        self.soft_joint_range = torch.stack([mid - half, mid + half], dim=1)

        self.actions = torch.zeros(n, a)
        self.last_actions = torch.zeros(n, a)
        self.last_joint_vel = torch.zeros(n, j)
        self.feet_air_time = torch.zeros(n, nf)
        self.last_foot_contact = torch.zeros(n, nf, dtype=torch.bool)
        self.foot_contact = torch.zeros(n, nf, dtype=torch.bool)
        self.episode_length_buf = torch.zeros(n, dtype=torch.long)
        self.reset_buf = torch.ones(n, dtype=torch.bool)
        self.time_out_buf = torch.zeros(n, dtype=torch.bool)
        self.common_step_counter = 0
        self.commands_mgr = Commands(cfg.commands, n, self.gen)
        self.commands = self.commands_mgr.values
        self.blowups_total = 0
        self._blown = torch.zeros(n, dtype=torch.bool)  # envs whose sim blew up in the last step
        self.step_hooks: list = []  # callables(env) run at the end of every step (video recording, ...)

        self.reward_scales = {k: v * self.dt for k, v in cfg.rewards.scales.items() if v != 0.0}
        unknown = [k for k in self.reward_scales if k not in REWARD_TERMS]
        if unknown:
            raise ValueError(f"rewards.scales names unknown term(s) {unknown}; known: {sorted(REWARD_TERMS)}")
        self.episode_sums = {k: torch.zeros(n) for k in self.reward_scales}
        joints = cfg.robot.joint_names
        lost = [j for j in cfg.rewards.hip_pos_joints if j not in joints]
        if lost:
            raise ValueError(f"rewards.hip_pos_joints names {lost}, which are not in robot.joint_names {joints}")
        self.hip_joint_ids = torch.tensor([joints.index(j) for j in cfg.rewards.hip_pos_joints], dtype=torch.long)
        offsets = list(cfg.gait.offsets)
        if (cfg.gait.enabled or "contact" in self.reward_scales) and len(offsets) != nf:
            raise ValueError(f"gait.offsets has {len(offsets)} values for {nf} robot.foot_bodies; give one per foot")
        self.gait_offsets = torch.tensor(offsets if len(offsets) == nf else [0.0] * nf)
        self.last_foot_pos = torch.zeros(n, nf, 3)

        self.obs_layout = policy_layout(cfg, j, a)
        self.priv_layout = privileged_layout(cfg)
        self.latency = randomization.randomize_startup(self.backend, cfg.domain_rand, self.gen)
        self.friction = self.backend.get_friction()
        self.added_mass = self.backend.get_added_mass()
        self.extras: dict = {"log": {}}
        hist = self.obs_layout.slices()
        self._frame_slice = slice(hist["dof_pos"].start, hist["actions"].stop)  # dof_pos, dof_vel, actions
        frame = self._frame_slice.stop - self._frame_slice.start
        self.history = torch.zeros(n, cfg.env.history_frames, frame)  # (N, H, F), most recent first
        self._history_fresh = torch.ones(n, dtype=torch.bool)  # filled from the current frame on first use
        self._reset_idx(torch.arange(n), curriculum=False)
        self.last_foot_pos.copy_(self.sim.foot_pos)
        self._obs = self._compute_observations()

    def place_on_tile(self, index: int | torch.Tensor, level: int, column: int | torch.Tensor) -> None:
        """Respawn env ``index`` (or a (K,) tensor of env ids) on terrain tile (``level``, ``column``; one column or
        (K,) of them) now, in one reset: play's camera robot, bench/falls.py's row, before the first step (the
        observations are recomputed, which also shifts every env's history frames once)."""
        ids = torch.as_tensor(index, dtype=torch.long).reshape(-1)
        self.terrain.place(ids, level, column)
        self._reset_idx(ids, curriculum=False)
        self.last_foot_pos[ids] = self.sim.foot_pos[ids]
        self._obs = self._compute_observations()

    # ----------------------------------------------------------------------------------------- VecEnv
    def get_observations(self) -> TensorDict:
        """{"policy": (N, 48), "critic": (N, 48 + privileged)}."""
        return self._obs

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        """Apply (N, A) actions for one policy step; returns (obs, rewards (N,), dones (N,), extras)."""
        clip = self.cfg.normalization.clip_actions
        if not bool(torch.isfinite(actions).all()):
            bad = int((~torch.isfinite(actions)).any(dim=1).sum())
            raise PolicyNaNError(f"the policy returned NaN/inf actions for {bad} of {self.num_envs} envs")
        self.actions = torch.clamp(actions.to(self.device), -clip, clip)
        if self.gait_prior is not None:
            targets = self.gait_prior.targets(self.actions)
        else:
            targets = self.default_joint_pos + self.cfg.robot.action_scale * self.actions
        self.backend.step(targets, self.latency)
        self.episode_length_buf += 1
        self.common_step_counter += 1

        # foot contact and air time (filtered over two steps, as legged_gym)
        contact = self.sim.contact_force[:, : self.feet_air_time.shape[1], 2] > 1.0
        contact_filt = contact | self.last_foot_contact
        self.last_foot_contact = contact
        self.foot_contact = contact
        first_contact = (self.feet_air_time > 0.0) & contact_filt

        self._post_physics_callbacks()
        blown = self.backend.blown_up | terminations.invalid_state(self.sim.base_pos, self.sim.joint_pos)
        blown |= terminations.runaway_joints(self.sim.joint_vel, self.cfg.sim.runaway_joint_vel)
        self.blowups_total += int(blown.sum())
        self._blown = blown
        self.time_out_buf = terminations.time_out(self.episode_length_buf, self.max_episode_length)
        self.reset_buf = terminations.contact_termination(self.sim.contact_force, self.termination_ids)
        self.reset_buf |= terminations.tilted(self.sim.projected_gravity, self.cfg.robot.max_roll,
                                              self.cfg.robot.max_pitch)
        self.reset_buf |= blown | self.time_out_buf

        rew = self._compute_rewards(first_contact)
        self.feet_air_time += self.dt
        self.feet_air_time *= ~contact_filt

        self.extras = {"log": {}}
        env_ids = self.reset_buf.nonzero(as_tuple=False).flatten()
        self._reset_idx(env_ids)
        if self.terrain.terrain is not None:
            self.extras["log"]["Curriculum/terrain_level"] = self.terrain.mean_level()
        self.extras["time_outs"] = self.time_out_buf.clone()
        self.last_actions.copy_(self.actions)
        self.last_joint_vel.copy_(self.sim.joint_vel)
        self.last_foot_pos.copy_(self.sim.foot_pos)
        self._obs = self._compute_observations()
        for hook in self.step_hooks:
            hook(self)
        return self._obs, rew, self.reset_buf.clone(), self.extras

    def gait_phase(self) -> torch.Tensor:
        """(N,) gait phase in [0, 1): episode time modulo cfg.gait.period, over the period."""
        period = self.cfg.gait.period
        return (self.episode_length_buf * self.dt) % period / period

    def state_dict(self) -> dict:
        """The env's full state (checkpoints carry it so that --resume continues the run exactly)."""
        return snapshot.env_state(self)

    def load_state_dict(self, state: dict) -> None:
        snapshot.load_env_state(self, state)

    # ------------------------------------------------------------------------------------ internals
    def _post_physics_callbacks(self) -> None:
        steps = int(self.cfg.commands.resampling_time / self.dt)
        ids = (self.episode_length_buf % steps == 0).nonzero(as_tuple=False).flatten()
        self.commands_mgr.resample(ids)
        self.commands_mgr.update_heading(self.sim.base_quat)
        dr = self.cfg.domain_rand
        if dr.push_robots and self.common_step_counter % max(1, int(dr.push_interval_s / self.dt)) == 0:
            randomization.push(self.backend, dr, torch.arange(self.num_envs), self.gen)

    def _reward_inputs(self, first_contact: torch.Tensor) -> RewardInputs:
        foot, base = self.sim.foot_pos, self.sim.base_pos
        return RewardInputs(
            sim=self.sim, commands=self.commands, actions=self.actions, last_actions=self.last_actions,
            last_joint_vel=self.last_joint_vel, default_joint_pos=self.default_joint_pos,
            soft_joint_range=self.soft_joint_range, effort_limit=self.backend.effort_limit,
            feet_air_time=self.feet_air_time, first_contact=first_contact, foot_contact=self.foot_contact,
            penalized_ids=self.penalized_ids, reset_buf=self.reset_buf, time_out_buf=self.time_out_buf, dt=self.dt,
            base_height=base[:, 2] - self.terrain.ground_height(base[:, :2]),
            foot_vel=(foot - self.last_foot_pos) / self.dt,
            foot_height=foot[..., 2] - self.terrain.ground_height(foot[..., :2]),
            leg_phase=self.leg_phase(), hip_joint_ids=self.hip_joint_ids,
        )

    def leg_phase(self) -> torch.Tensor:
        """(N, F) each foot's gait phase in [0, 1) for the gait rewards: the gait prior's own leg phases when there
        is one (the policy's frequency actions move them), else the clock plus cfg.gait.offsets."""
        if self.gait_prior is not None:
            return self.gait_prior.phase
        return (self.gait_phase()[:, None] + self.gait_offsets) % 1.0

    def _compute_rewards(self, first_contact: torch.Tensor) -> torch.Tensor:
        """sum_i scale_i * dt * f_i; clipped at zero if only_positive_rewards; termination added after; 0 where the
        simulation blew up this step."""
        inputs = self._reward_inputs(first_contact)
        rew = torch.zeros(self.num_envs)
        for name, scale in self.reward_scales.items():
            if name == "termination":
                continue
            term = (REWARD_TERMS[name](inputs, self.cfg.rewards) * scale).masked_fill_(self._blown, 0.0)
            rew += term
            self.episode_sums[name] += term
        if self.cfg.rewards.only_positive_rewards:
            rew.clamp_(min=0.0)
        if "termination" in self.reward_scales:
            term = REWARD_TERMS["termination"](inputs, self.cfg.rewards) * self.reward_scales["termination"]
            term.masked_fill_(self._blown, 0.0)  # a diverged simulation is no fall: its step scores nothing
            rew += term
            self.episode_sums["termination"] += term
        return rew

    def _reset_idx(self, env_ids: torch.Tensor, curriculum: bool = True) -> None:
        """Reset finished envs: log their episode sums, move them on the terrain curriculum, new state and
        commands."""
        if len(env_ids) == 0:
            return
        k, ic, g = len(env_ids), self.cfg.init_state, self.gen
        log = self.extras.setdefault("log", {})
        for name, sums in self.episode_sums.items():
            log[f"Episode_Reward/{name}"] = torch.mean(sums[env_ids]) / self.max_episode_length_s
            sums[env_ids] = 0.0
        if self.cfg.commands.curriculum and "tracking_lin_vel" in self.reward_scales:
            frac = float(log["Episode_Reward/tracking_lin_vel"]) / self.cfg.rewards.scales["tracking_lin_vel"]
            self.commands_mgr.update_curriculum(frac)
            log["Curriculum/max_command_x"] = float(self.commands_mgr.lin_vel_x[1])
        if curriculum:  # a blown-up sim's position says nothing about the robot's skill: its level stays
            walked = env_ids[~self._blown[env_ids]]
            self.terrain.update_curriculum(walked, self.sim.base_pos[walked, :2], self.commands[walked, :2],
                                           self.max_episode_length_s)
        log["Episode_Termination/time_out"] = self.time_out_buf[env_ids].float().mean()
        log["Episode_Termination/blowups_total"] = float(self.blowups_total)
        if hasattr(self.backend, "warnings"):
            log["Episode_Termination/mujoco_warnings_total"] = float(self.backend.warnings.total)

        lo, hi = ic.joint_pos_scale
        q = self.default_joint_pos * (lo + (hi - lo) * torch.rand(k, self.num_joints, generator=g))
        q = torch.max(torch.min(q, self.backend.joint_range[:, 1]), self.backend.joint_range[:, 0])
        pose = torch.zeros(k, 7)
        pose[:, :3] = torch.tensor(self.cfg.robot.init_pos) + self.terrain.origins[env_ids]
        pose[:, :2] += (2 * torch.rand(k, 2, generator=g) - 1) * ic.root_xy
        pose[:, 3] = 1.0
        vel = (2 * torch.rand(k, 6, generator=g) - 1) * ic.root_vel
        self.backend.reset(env_ids, pose, vel, q, torch.zeros(k, self.num_joints))
        if self.gait_prior is not None:
            self.gait_prior.reset(env_ids)

        self.commands_mgr.resample(env_ids)
        self.actions[env_ids] = 0.0
        self.last_actions[env_ids] = 0.0
        self.last_joint_vel[env_ids] = 0.0
        self.feet_air_time[env_ids] = 0.0
        self._history_fresh[env_ids] = True
        self.last_foot_contact[env_ids] = False
        self.episode_length_buf[env_ids] = 0

    def _compute_observations(self) -> TensorDict:
        clean = self.obs_layout.compute(self)
        clip = self.cfg.normalization.clip_observations
        policy = clean
        if self.cfg.noise.add_noise:
            noise = (2 * torch.rand(clean.shape, generator=self.gen) - 1) * self.obs_layout.noise_vec
            policy = clean + noise
        critic = torch.cat([clean, self.priv_layout.compute(self)], dim=-1)
        groups = {"policy": policy.clamp(-clip, clip), "critic": critic.clamp(-clip, clip)}
        if self.history.shape[1]:
            groups["history"] = self._update_history(groups["policy"][:, self._frame_slice])
        return TensorDict(groups, batch_size=[self.num_envs])

    def _update_history(self, frame: torch.Tensor) -> torch.Tensor:
        """(N, H * F) past frames t-1 ... t-H; a new episode starts with its first frame repeated."""
        fresh = self._history_fresh
        self.history[fresh] = frame[fresh].unsqueeze(1)
        out = self.history.flatten(1).clone()
        self.history = torch.cat([frame.unsqueeze(1), self.history[:, :-1]], dim=1)
        self._history_fresh[:] = False
        return out
