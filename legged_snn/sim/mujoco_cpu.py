"""The embedded default backend: mujoco.batch.Batch stepping N copies of one model on all CPU cores.

Base pose and velocity come straight from the free joint's qpos/qvel, which are the current state after
``Batch.step``. Contacts, foot positions and actuator forces are derived fields that Batch reports from
the last physics substep (5 ms behind at dt = 0.005 s), as Isaac Gym's net contact forces are. Asking
Batch for current derived fields (stage=mjSTAGE_VEL) costs ~20% of the physics rate at N=4096, measured.
"""

from __future__ import annotations

import warnings

import mujoco
import numpy as np
import torch
from mujoco.batch import Batch, SimulationError

from legged_snn.sim import mj_warnings
from legged_snn.sim.backend import SimState, fill_state
from legged_snn.sim.model import ModelCfg, build_model

_ALL = (slice(None),)
# state and per-env model columns a snapshot holds (the randomized ones only: kp, kd, friction, mass)
_SNAPSHOT = {"qpos": _ALL, "qvel": _ALL, "ctrl": _ALL, "geom_friction": (Ellipsis, 0), "body_mass": _ALL,
             "gainprm": (Ellipsis, 0), "biasprm": (Ellipsis, slice(1, 3))}


def _view(arr: np.ndarray) -> torch.Tensor:
    """A torch view of a Batch output array (read-only for numpy; we only read it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(arr)


class MujocoCpuBackend:
    """Backend on ``mujoco.batch.Batch``; all tensors on the CPU."""

    def __init__(self, cfg: ModelCfg, num_envs: int, decimation: int, nthread: int = 0) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.model, self.info = build_model(cfg)
        self.warnings = mj_warnings.install()  # counted (the env logs it), printed once
        self.num_envs = num_envs
        self.num_joints = len(cfg.joint_names)
        self.device = torch.device("cpu")
        self.physics_dt = float(self.model.opt.timestep)
        self.decimation = decimation
        self.total_mass = self.info.total_mass
        self.joint_range = torch.tensor(self.info.joint_range, dtype=torch.float32)
        self.effort_limit = torch.tensor(self.info.effort_limit, dtype=torch.float32)
        self.batch = Batch(self.model, num_envs, nthread=nthread)
        b = self.batch
        self._qpos = torch.from_numpy(b.bind("qpos"))  # (N, nq) float64, live state rows
        self._qvel = torch.from_numpy(b.bind("qvel"))
        self._ctrl = torch.from_numpy(b.bind("ctrl"))
        self._time = torch.from_numpy(b.bind("time"))  # (N,) s; MuJoCo's own reset of a bad state zeroes it
        self._expected_time = torch.zeros(num_envs, dtype=torch.float64)
        self._sensordata = _view(b.bind("sensordata"))
        self._xpos = _view(b.bind("xpos"))
        self._act_force = _view(b.bind("actuator_force"))
        self._jq = torch.as_tensor(self.info.joint_qpos_adr, dtype=torch.long)
        self._jd = torch.as_tensor(self.info.joint_dof_adr, dtype=torch.long)
        self._feet = torch.as_tensor(self.info.foot_body_ids, dtype=torch.long)
        adr = [int(self.model.sensor(f"contact_{n}").adr[0]) for n in self.info.contact_body_names]
        # sensordata columns of each watched body's net force (x, y, z follow the found count): (B, 3)
        self._contact_adr = torch.tensor(adr, dtype=torch.long)
        self._force_cols = self._contact_adr[:, None] + torch.arange(1, 4)
        self._gravity = torch.tensor([[0.0, 0.0, -1.0]]).expand(num_envs, 3)
        self._geom_friction = torch.from_numpy(b.expand("geom_friction"))  # (N, ngeom, 3)
        self._body_mass = torch.from_numpy(b.expand("body_mass"))  # (N, nbody)
        self._gainprm = torch.from_numpy(b.expand("actuator_gainprm"))  # (N, nu, 10)
        self._biasprm = torch.from_numpy(b.expand("actuator_biasprm"))
        self._nominal_gain = torch.from_numpy(self.model.actuator_gainprm.copy())
        self._nominal_bias = torch.from_numpy(self.model.actuator_biasprm.copy())
        self._nominal_root_mass = float(self.model.body_mass[self.info.root_body_id])
        self.blown_up = torch.zeros(num_envs, dtype=torch.bool)  # envs whose last step raised in MuJoCo
        self.state = SimState.zeros(num_envs, self.num_joints, len(self._feet), len(adr))
        b.reset()
        self._refresh()

    def step(self, joint_targets: torch.Tensor, latency: torch.Tensor | None = None) -> None:
        """Hold (N, J) position targets (rad) for ``decimation`` physics steps; env i applies them only
        after ``latency[i]`` physics steps (its previous targets meanwhile)."""
        self.blown_up.zero_()
        if latency is None or not bool((latency > 0).any()):
            self._ctrl.copy_(joint_targets)
            self._physics(self.decimation)
        else:
            previous = self._ctrl.clone()
            held = latency.long()[:, None]
            start = 0
            for k in self._segments(latency):
                if k > start:  # steps [start, k): envs with latency > start still hold the previous targets
                    self._ctrl.copy_(torch.where(held > start, previous, joint_targets.double()))
                    self._physics(k - start)
                    start = k
        self._refresh()

    def _segments(self, latency: torch.Tensor) -> list[int]:
        """Segment ends: the distinct latencies, then decimation (latency is drawn once per env, so cached until the
        tensor changes: its storage or its in-place version counter)."""
        key = (latency.data_ptr(), latency._version)
        if getattr(self, "_latency_key", None) != key:
            self._latency_key = key
            self._latency_ends = sorted(set(latency.clamp(0, self.decimation).tolist())) + [self.decimation]
        return self._latency_ends

    def _physics(self, nstep: int) -> None:
        try:
            self.batch.step(nstep=nstep)
        except SimulationError as err:  # those sims kept their previous state; the env resets them
            self.blown_up[torch.as_tensor(err.ids, dtype=torch.long)] = True
        # mj_step answers a NaN/inf/huge qpos, qvel or qacc with a warning and mj_resetData (time back to 0):
        # a sim whose clock fell behind was reset by MuJoCo mid-step and is flagged like one that raised
        self._expected_time += nstep * self.physics_dt
        self.blown_up |= self._time < self._expected_time - 0.5 * self.physics_dt
        self._expected_time.copy_(self._time)

    def reset(self, env_ids: torch.Tensor, root_pose: torch.Tensor, root_vel: torch.Tensor,
              joint_pos: torch.Tensor, joint_vel: torch.Tensor) -> None:
        """Reset envs ``env_ids`` (K,) to root_pose (K, 7), root_vel (K, 6), joint_pos/vel (K, J)."""
        if len(env_ids) == 0:
            return
        ids = env_ids.cpu().numpy()
        self.batch.reset(ids, stage=int(mujoco.mjtStage.mjSTAGE_NONE))
        idx = env_ids.cpu().long()
        self._expected_time[idx] = 0.0
        qpos = self._qpos[idx]
        qvel = self._qvel[idx]
        qpos[:, :7] = root_pose.double()
        qvel[:, :6] = root_vel.double()
        qpos[:, self._jq] = joint_pos.double()
        qvel[:, self._jd] = joint_vel.double()
        self._qpos[idx] = qpos
        self._qvel[idx] = qvel
        self._ctrl[idx] = joint_pos.double()
        self.batch.forward(ids)
        self._refresh()

    def push(self, env_ids: torch.Tensor, base_lin_vel_xy: torch.Tensor) -> None:
        """Set the world-frame root xy velocity (K, 2) m/s of envs ``env_ids``."""
        idx = env_ids.cpu().long()
        self._qvel[idx, :2] = base_lin_vel_xy.double()

    def set_friction(self, env_ids: torch.Tensor, friction: torch.Tensor) -> None:
        """Sliding friction (K,) for every geom of those envs (MuJoCo takes the max of a pair)."""
        self._geom_friction[env_ids.cpu().long(), :, 0] = friction.double()[:, None]

    def set_added_mass(self, env_ids: torch.Tensor, added_mass: torch.Tensor) -> None:
        """Root body mass = nominal + added (K,) kg in those envs; derived constants follow."""
        idx = env_ids.cpu().long()
        self._body_mass[idx, self.info.root_body_id] = self._nominal_root_mass + added_mass.double()
        self.batch.set_const(idx.numpy())

    def set_motor_strength(self, env_ids: torch.Tensor, scale: torch.Tensor) -> None:
        """Position actuators: gain = s * Kp, bias = (0, -s * Kp, -s * Kd), so torque = s * PD torque."""
        idx = env_ids.cpu().long()
        s = scale.double()[:, None]
        self._gainprm[idx, :, 0] = s * self._nominal_gain[None, :, 0]
        self._biasprm[idx, :, 1:3] = s[:, :, None] * self._nominal_bias[None, :, 1:3]

    def get_friction(self) -> torch.Tensor:
        """(N,) sliding friction of the floor of each env."""
        return self._geom_friction[:, 0, 0].float()

    def get_added_mass(self) -> torch.Tensor:
        """(N,) kg added to the root body of each env."""
        return (self._body_mass[:, self.info.root_body_id] - self._nominal_root_mass).float()

    def state_dict(self) -> dict:
        """Everything the next steps depend on: MjData state rows, per-env model params, the float32 state."""
        out = {k: getattr(self, f"_{k}")[_SNAPSHOT[k]].clone() for k in _SNAPSHOT}
        out["qacc_warmstart"] = torch.from_numpy(self.batch.bind("qacc_warmstart").copy())
        out["time"] = torch.from_numpy(self.batch.bind("time").copy())
        out["sim"] = {k: v.clone() for k, v in vars(self.state).items()}
        return out

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()`` bit for bit (derived constants of the restored masses recomputed)."""
        for k, cols in _SNAPSHOT.items():
            getattr(self, f"_{k}")[cols] = state[k]
        self.batch.set_const(np.arange(self.num_envs))
        self.batch.bind("qacc_warmstart")[:] = state["qacc_warmstart"].numpy()
        self.batch.bind("time")[:] = state["time"].numpy()
        self._expected_time.copy_(state["time"])
        for k, v in state["sim"].items():
            getattr(self.state, k).copy_(v)

    def _refresh(self) -> None:
        """Copy the live Batch arrays into the float32 state tensors (no per-env loop)."""
        fill_state(self.state, self._qpos, self._qvel, self._gravity, self._jq, self._jd, self._act_force,
                   self._xpos, self._feet, self._sensordata, self._contact_adr, self._force_cols)
