"""The GPU backend: MuJoCo Warp (``pip install -e '.[gpu]'``), N worlds of one model in float32.

``--sim_device cuda:0`` runs it on a GPU (the decimation substeps captured as one CUDA graph);
``--sim_device warp:cpu`` runs the same code on Warp's CPU device (slow; what CI tests at small N).
State is shared with torch without copies (``wp.to_torch`` views). Per-env randomization (friction, mass,
motor strength) turns the model field into a per-world array the first time it is set.

Differences from the Batch backend, stated: float32 physics; Warp's solver and collision code (not
bit-identical to MuJoCo's C engine; tests compare a standing robot within a tolerance); the envs a reset
touches keep last step's contact/foot fields until the next step (Batch recomputes them).
"""

from __future__ import annotations

import numpy as np
import torch

from legged_snn.sim.backend import SimState, fill_state
from legged_snn.sim.model import ModelCfg, build_model


def import_warp():
    """(warp, mujoco_warp) or a one-line ImportError saying what to install."""
    try:
        import mujoco_warp as mjw
        import warp as wp
    except ImportError:
        raise ImportError("the MuJoCo Warp backend needs mujoco-warp and warp-lang: "
                          "pip install -e '.[gpu]'") from None
    return wp, mjw


class MujocoWarpBackend:
    """Backend on mujoco_warp; tensors live on ``device`` (cuda:N or cpu)."""

    def __init__(self, cfg: ModelCfg, num_envs: int, decimation: int, device: str = "cuda:0",
                 contacts_per_env: int = 48, constraint_rows_per_env: int = 256) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        wp, mjw = import_warp()
        self.wp, self.mjw = wp, mjw
        wp.config.quiet = True
        wp.init()
        self.wp_device = wp.get_device(device)
        self.device = torch.device("cuda", self.wp_device.ordinal) if self.wp_device.is_cuda else torch.device("cpu")
        self.model, self.info = build_model(cfg)
        self.num_envs, self.num_joints, self.decimation = num_envs, len(cfg.joint_names), decimation
        self.physics_dt = float(self.model.opt.timestep)
        self.total_mass = self.info.total_mass
        self.joint_range = torch.tensor(self.info.joint_range, dtype=torch.float32, device=self.device)
        self.effort_limit = torch.tensor(self.info.effort_limit, dtype=torch.float32, device=self.device)
        with wp.ScopedDevice(self.wp_device):
            self.m = mjw.put_model(self.model)
            self.d = mjw.make_data(self.model, nworld=num_envs, naconmax=num_envs * contacts_per_env,
                                   njmax=constraint_rows_per_env)
        t = wp.to_torch
        self._qpos, self._qvel, self._ctrl = t(self.d.qpos), t(self.d.qvel), t(self.d.ctrl)
        self._sensordata, self._xpos, self._act_force = t(self.d.sensordata), t(self.d.xpos), t(self.d.actuator_force)
        dev = self.device
        self._jq = torch.as_tensor(self.info.joint_qpos_adr, dtype=torch.long, device=dev)
        self._jd = torch.as_tensor(self.info.joint_dof_adr, dtype=torch.long, device=dev)
        self._feet = torch.as_tensor(self.info.foot_body_ids, dtype=torch.long, device=dev)
        adr = [int(self.model.sensor(f"contact_{n}").adr[0]) for n in self.info.contact_body_names]
        self._contact_adr = torch.tensor(adr, dtype=torch.long, device=dev)
        self._force_cols = self._contact_adr[:, None] + torch.arange(1, 4, device=dev)
        self._gravity = torch.tensor([[0.0, 0.0, -1.0]], device=dev).expand(num_envs, 3)
        self._nominal_root_mass = float(self.model.body_mass[self.info.root_body_id])
        self.blown_up = torch.zeros(num_envs, dtype=torch.bool, device=dev)
        self.state = SimState.zeros(num_envs, self.num_joints, len(self._feet), len(adr), device=dev)
        self._graph = None
        self._refresh()

    # ------------------------------------------------------------------------------------ stepping
    def _physics(self, nstep: int) -> None:
        wp, mjw = self.wp, self.mjw
        with wp.ScopedDevice(self.wp_device):
            if self.wp_device.is_cuda and nstep == self.decimation:
                if self._graph is None:  # capture once; replays reuse the same buffers
                    with wp.ScopedCapture() as cap:
                        for _ in range(nstep):
                            mjw.step(self.m, self.d)
                    self._graph = cap.graph
                wp.capture_launch(self._graph)
            else:
                for _ in range(nstep):
                    mjw.step(self.m, self.d)

    def step(self, joint_targets: torch.Tensor, latency: torch.Tensor | None = None) -> None:
        """Hold (N, J) targets for ``decimation`` physics steps (env i: previous targets for latency[i])."""
        if latency is None or not bool((latency > 0).any()):
            self._ctrl.copy_(joint_targets)
            self._physics(self.decimation)
        else:
            previous, held = self._ctrl.clone(), latency.long()[:, None]
            for s in range(self.decimation):
                self._ctrl.copy_(torch.where(held > s, previous, joint_targets))
                self._physics(1)
        bad = ~(torch.isfinite(self._qpos).all(dim=1) & torch.isfinite(self._qvel).all(dim=1))
        self.blown_up.copy_(bad)
        self._refresh()

    def reset(self, env_ids: torch.Tensor, root_pose: torch.Tensor, root_vel: torch.Tensor,
              joint_pos: torch.Tensor, joint_vel: torch.Tensor) -> None:
        """Reset envs ``env_ids`` (K,) to root_pose (K, 7), root_vel (K, 6), joint_pos/vel (K, J)."""
        if len(env_ids) == 0:
            return
        idx = env_ids.to(self.device).long()
        mask = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        mask[idx] = True
        with self.wp.ScopedDevice(self.wp_device):
            self.mjw.reset_data(self.m, self.d, reset=self.wp.from_torch(mask))
        qpos, qvel = self._qpos[idx], self._qvel[idx]
        qpos[:, :7], qvel[:, :6] = root_pose, root_vel
        qpos[:, self._jq], qvel[:, self._jd] = joint_pos, joint_vel
        self._qpos[idx], self._qvel[idx], self._ctrl[idx] = qpos, qvel, joint_pos
        with self.wp.ScopedDevice(self.wp_device):
            self.mjw.kinematics(self.m, self.d)  # foot positions of the new poses (all worlds: one launch)
        self._refresh()

    def push(self, env_ids: torch.Tensor, base_lin_vel_xy: torch.Tensor) -> None:
        self._qvel[env_ids.to(self.device).long(), :2] = base_lin_vel_xy

    # -------------------------------------------------------------------------------- per-env model
    def _per_world(self, name: str) -> torch.Tensor:
        """A torch view of model field ``name`` with one row per world (expanded on first use)."""
        arr = getattr(self.m, name)
        if arr.shape[0] != self.num_envs:
            host = np.repeat(arr.numpy(), self.num_envs, axis=0)
            arr = self.wp.array(host, dtype=arr.dtype, device=self.wp_device)
            setattr(self.m, name, arr)
            self._graph = None  # the captured graph points at the old array
        return self.wp.to_torch(arr)

    def set_friction(self, env_ids: torch.Tensor, friction: torch.Tensor) -> None:
        self._per_world("geom_friction")[env_ids.to(self.device).long(), :, 0] = friction[:, None]

    def set_added_mass(self, env_ids: torch.Tensor, added_mass: torch.Tensor) -> None:
        mass = self._per_world("body_mass")
        mass[env_ids.to(self.device).long(), self.info.root_body_id] = self._nominal_root_mass + added_mass

    def set_motor_strength(self, env_ids: torch.Tensor, scale: torch.Tensor) -> None:
        idx, s = env_ids.to(self.device).long(), scale[:, None]
        gain, bias = self._per_world("actuator_gainprm"), self._per_world("actuator_biasprm")
        kp = torch.as_tensor(self.model.actuator_gainprm[:, 0], dtype=torch.float32, device=self.device)
        kd = torch.as_tensor(-self.model.actuator_biasprm[:, 2], dtype=torch.float32, device=self.device)
        gain[idx, :, 0] = s * kp
        bias[idx, :, 1], bias[idx, :, 2] = -s * kp, -s * kd

    def get_friction(self) -> torch.Tensor:
        f = self.wp.to_torch(self.m.geom_friction)
        return f[:, 0, 0].expand(self.num_envs).clone() if f.shape[0] == 1 else f[:, 0, 0].clone()

    def get_added_mass(self) -> torch.Tensor:
        m = self.wp.to_torch(self.m.body_mass)[:, self.info.root_body_id] - self._nominal_root_mass
        return m.expand(self.num_envs).clone() if m.shape[0] == 1 else m.clone()

    def state_dict(self) -> dict:
        return {"qpos": self._qpos.clone(), "qvel": self._qvel.clone(), "ctrl": self._ctrl.clone(),
                "sim": {k: v.clone() for k, v in vars(self.state).items()}}

    def load_state_dict(self, state: dict) -> None:
        for k in ("qpos", "qvel", "ctrl"):
            getattr(self, f"_{k}").copy_(state[k])
        for k, v in state["sim"].items():
            getattr(self.state, k).copy_(v)

    def _refresh(self) -> None:
        """Copy the live arrays into the float32 state tensors."""
        fill_state(self.state, self._qpos, self._qvel, self._gravity, self._jq, self._jd, self._act_force,
                   self._xpos, self._feet, self._sensordata, self._contact_adr, self._force_cols)


def warp_available_device(sim_device: str) -> str:
    """'warp:cpu' -> 'cpu', 'cuda' -> 'cuda:0', 'cuda:N' -> 'cuda:N'."""
    if sim_device.startswith("warp:"):
        return sim_device.split(":", 1)[1]
    return "cuda:0" if sim_device == "cuda" else sim_device

