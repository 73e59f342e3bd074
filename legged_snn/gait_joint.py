"""Gait prior in joint space, for legs that are not a hip/thigh/knee chain (Cassie, the G1), and the one place
that picks and rebuilds a task's gait prior (this profile or gait.py's foot trajectories).

Each leg's phase advances as in gait.py (the gait frequency plus the policy's per-leg offset, never backwards);
``alternate`` starts the left leg at 0 and the right half a period later. In swing a leg's joints leave the
default pose along a fixed direction ``d`` (rad per unit, ``robot.swing_joints``: e.g. the G1's hip pitch -1,
knee 2, ankle pitch -1 folds the knee, lifts the thigh and keeps the sole level) by ``k b(phase)``: ``b`` is
gait.py's cubic swing bump (0 in stance, 1 at mid-swing) and the gain ``k`` is found once, from the compiled
model's forward kinematics, so that the foot rises ``swing_height`` at mid-swing. Joint targets (N, J) rad:

    q = q0 + sum_l b(phase_l) A_l + residual_scale * residuals,   A_l = k_l d restricted to leg l's joints

``describe`` writes A (J values per leg) into policy.json, so sim2sim rebuilds the profile without the model.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import mujoco
import numpy as np
import torch

from legged_snn.gait import FORMULA as FOOT_FORMULA
from legged_snn.gait import (
    GAITS,
    PARAMS,
    GaitGenerator,
    PhaseClock,
    describe,
    from_description,
    leg_chains,
    swing_height,
    unknown_gait,
)
from legged_snn.sim.model import ModelInfo

JOINT_FORMULA = "legged_snn.gait_joint/1"  # q0 + cubic swing bump x per-leg joint amplitudes (this module)
JOINT_GAITS: dict[str, dict[str, float]] = {"alternate": {"L": 0.0, "R": 0.5}}  # leg phase offsets by side
GaitPriorCfgLike = object  # envs' GaitPriorCfg, or the SimpleNamespace policy.json rebuilds (fields: PARAMS)


def _leg_joints(model: mujoco.MjModel, joint_names: list[str], foot: str) -> list[int]:
    """Action indices of the actuated joints between the root and ``foot`` (its leg)."""
    action = {name: i for i, name in enumerate(joint_names)}
    out, body = [], model.body(foot).id
    while body > 0:
        for j in range(model.body_jntadr[body], model.body_jntadr[body] + model.body_jntnum[body]):
            if model.joint(j).name in action:
                out.append(action[model.joint(j).name])
        body = model.body_parentid[body]
    return out


def swing_amplitudes(model: mujoco.MjModel, info: ModelInfo, joint_names: list[str], foot_bodies: list[str],
                     default_q: torch.Tensor, swing_joints: dict[str, float], height: float) -> torch.Tensor:
    """(L, J) rad: each leg's joint excursion at mid-swing, along ``swing_joints`` (the first key that is a
    substring of a joint's name gives its weight) and scaled by forward kinematics so that the foot rises
    ``height`` m above its default-pose height; a ValueError naming what does not fit."""
    if not swing_joints:
        raise ValueError("the joint-space gait prior needs robot.swing_joints (joint name part -> weight), and this "
                         "robot has none; give --cfg robot.swing_joints={...} or use --gait none")
    unused = [k for k in swing_joints if not any(k in n for n in joint_names)]
    if unused:
        raise ValueError(f"robot.swing_joints names {unused}, which match none of the joints {joint_names}; fix or "
                         "drop those keys")
    weight = np.array([next((float(w) for k, w in swing_joints.items() if k in n), 0.0) for n in joint_names])
    data, q0 = mujoco.MjData(model), default_q.detach().cpu().double().numpy()
    rows = []
    for foot in foot_bodies:
        d = np.zeros(len(joint_names))
        idx = _leg_joints(model, joint_names, foot)
        d[idx] = weight[idx]
        fid = model.body(foot).id

        def lift(k: float, d=d, fid=fid) -> float:
            data.qpos[info.joint_qpos_adr] = q0 + k * d
            mujoco.mj_kinematics(model, data)
            return float(data.xpos[fid, 2])

        base = lift(0.0)
        if not np.any(d) or lift(1e-3) <= base:
            raise ValueError(f"robot.swing_joints {swing_joints} does not lift {foot} from the default pose (its leg's "
                             f"joints: {[joint_names[i] for i in idx]}); flip the signs or name that leg's joints")
        lo, hi = 0.0, 1e-3
        while lift(hi) - base < height:
            lo, hi = hi, 2 * hi
            if hi > math.pi:
                raise ValueError(f"robot.swing_joints cannot lift {foot} by gait_prior.swing_height {height} m; "
                                 "lower the swing height")
        for _ in range(40):  # bisection on the monotone rise
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if lift(mid) - base < height else (lo, mid)
        row = 0.5 * (lo + hi) * d
        out = [joint_names[i] for i in idx  # the ranges the env's joint-limit terms use (ModelInfo)
               if not info.joint_range[i, 0] <= q0[i] + row[i] <= info.joint_range[i, 1]]
        if out:
            raise ValueError(f"lifting {foot} by gait_prior.swing_height {height} m along robot.swing_joints takes "
                             f"{out} past their limits; lower the swing height or change the direction")
        rows.append(row)
    return torch.tensor(np.array(rows), dtype=torch.float32)


def _check_roles(mode: str, roles: list[str]) -> None:
    """A one-line ValueError unless ``mode`` is a joint-space gait with one leg per side in ``roles``."""
    if mode not in JOINT_GAITS:
        raise unknown_gait(mode, list(GAITS) + list(JOINT_GAITS))
    if sorted(roles) != sorted(JOINT_GAITS[mode]):
        raise ValueError(f"gait_prior.mode {mode!r} needs one left and one right leg; robot.foot_bodies give the "
                         f"sides {roles}; on a quadruped use --gait trot, pace, bound or walk, or --gait none")


class JointProfileGenerator(PhaseClock):
    """The default pose plus each leg's swing bump times its joint amplitudes (gait.py's PhaseClock contract)."""

    def __init__(self, cfg: GaitPriorCfgLike, roles: list[str], amplitudes: torch.Tensor, default_q: torch.Tensor,
                 num_envs: int, dt: float) -> None:
        _check_roles(cfg.mode, roles)
        if tuple(amplitudes.shape) != (len(roles), default_q.shape[0]):
            raise ValueError(f"the joint-space gait prior needs amplitudes of shape ({len(roles)} legs, "
                             f"{default_q.shape[0]} joints), got {tuple(amplitudes.shape)}; export the policy again")
        super().__init__(cfg, roles, [JOINT_GAITS[cfg.mode][r] for r in roles], default_q, num_envs, dt)
        self.amplitudes = amplitudes  # (L, J) rad at mid-swing

    def joint_angles(self) -> torch.Tensor:
        """(N, J) the profile's joint angles (rad)."""
        bump = swing_height(self.phase, self.cfg.stance_fraction, 1.0)  # (N, L) in [0, 1]
        return self.default_q + bump @ self.amplitudes

    def describe(self) -> dict:
        """A JSON-ready description: the parameters, the per-leg amplitudes and the formula's name."""
        return {"formula": JOINT_FORMULA, **{k: getattr(self.cfg, k) for k in PARAMS}, "roles": self.roles,
                "phase_offsets": self.offsets.tolist(), "amplitudes": self.amplitudes.tolist()}


GaitPrior = GaitGenerator | JointProfileGenerator  # both PhaseClocks


def make_gait_prior(cfg: GaitPriorCfgLike, model: mujoco.MjModel, info: ModelInfo, joint_names: list[str],
                    foot_bodies: list[str], default_q: torch.Tensor, swing_joints: dict[str, float], num_envs: int,
                    dt: float) -> GaitPrior:
    """The generator ``gait_prior.mode`` asks for: foot trajectories through leg IK for the quadruped gaits
    (gait.py), the joint-space profile for ``alternate``; a one-line ValueError for an unknown mode. ``info``: the
    model's ModelInfo (legged_snn/sim/model.py: joint qpos addresses, root body)."""
    if cfg.mode in GAITS:
        return GaitGenerator(cfg, leg_chains(model, joint_names, foot_bodies), default_q, num_envs, dt)
    if cfg.mode not in JOINT_GAITS:
        raise unknown_gait(cfg.mode, list(GAITS) + list(JOINT_GAITS))
    data = mujoco.MjData(model)
    data.qpos[info.joint_qpos_adr] = default_q.detach().cpu().double().numpy()
    mujoco.mj_kinematics(model, data)
    root_y = data.xpos[info.root_body_id, 1]  # the base faces +x at qpos0: left is +y of it
    roles = ["L" if data.xpos[model.body(f).id, 1] > root_y else "R" for f in foot_bodies]
    _check_roles(cfg.mode, roles)  # before the amplitudes: a quadruped is refused for its legs, not its joints
    amp = swing_amplitudes(model, info, joint_names, foot_bodies, default_q, swing_joints, cfg.swing_height)
    return JointProfileGenerator(cfg, roles, amp, default_q, num_envs, dt)


def describe_prior(gen: GaitPrior) -> dict:
    """policy.json's ``gait_prior``: what ``rebuild`` needs to reproduce ``gen`` without the env or the model."""
    return gen.describe() if isinstance(gen, JointProfileGenerator) else describe(gen)


def rebuild(desc: dict, default_q: torch.Tensor, num_envs: int, dt: float) -> GaitPrior:
    """The generator ``describe_prior`` wrote, from the JSON alone; a ValueError for an unknown formula."""
    if desc.get("formula") == JOINT_FORMULA:
        return JointProfileGenerator(SimpleNamespace(**{k: desc[k] for k in PARAMS}), list(desc["roles"]),
                                     torch.tensor(desc["amplitudes"], dtype=torch.float32), default_q.float(),
                                     num_envs, dt)
    if desc.get("formula") != FOOT_FORMULA:
        raise ValueError(f"gait prior formula {desc.get('formula')!r} is not {FOOT_FORMULA!r} or {JOINT_FORMULA!r}; "
                         "export it again")
    return from_description(desc, default_q, num_envs, dt)
