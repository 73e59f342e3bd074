"""Gait prior: a periodic foot-trajectory generator per leg, mapped to joint targets by 3-dof leg kinematics.

Each leg has a phase in [0, 1) that advances at the gait frequency (plus the policy's per-leg offset). The foot
stands on its nominal point (where the default joint angles put it) for the first ``stance_fraction`` of a
period and swings up to ``swing_height`` and back down in the rest (a cubic rise and fall: zero vertical speed
at lift-off, apex and touch-down). Legs start at their gait's phase offset (trot: diagonal pairs half a period
apart). Joint targets come from analytic inverse kinematics of a hip-abduction (x axis), thigh (y) and knee (y)
leg with any link offsets (A1, Go2, ANYmal-C); the policy adds scaled residuals to them.

Positions are in metres in each leg's hip-joint frame (the frame of the hip body, whose x is the base's forward
axis); angles in radians; phases in periods. ``describe`` / ``from_description`` carry a generator through
policy.json, so sim2sim (and a robot) rebuilds it without the env.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from types import SimpleNamespace

import mujoco
import numpy as np
import torch

# leg phase offset (fraction of a period) by leg role: F/R = front/rear, L/R = left/right
GAITS: dict[str, dict[str, float]] = {
    "trot": {"FL": 0.0, "FR": 0.5, "RL": 0.5, "RR": 0.0},
    "pace": {"FL": 0.0, "FR": 0.5, "RL": 0.0, "RR": 0.5},
    "bound": {"FL": 0.0, "FR": 0.0, "RL": 0.5, "RR": 0.5},
    "walk": {"FL": 0.25, "FR": 0.75, "RL": 0.0, "RR": 0.5},
}


@dataclass
class LegChains:
    """The legs' geometry, read from the compiled model (L legs, each hip/thigh/knee)."""

    roles: list[str]  # (L,) "FL", "FR", "RL", "RR"
    joints: torch.Tensor  # (L, 3) long: action index of each leg's hip, thigh and knee joint
    thigh: torch.Tensor  # (L, 3) m: thigh joint in the hip frame
    shank: torch.Tensor  # (L, 3) m: knee joint in the thigh frame (at zero thigh angle)
    foot: torch.Tensor  # (L, 3) m: foot in the knee frame (at zero knee angle)
    lower: torch.Tensor  # (L, 3) rad joint limits
    upper: torch.Tensor  # (L, 3) rad


def _rot_x(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate (..., 3) vectors ``v`` by angles ``q`` (...) about x."""
    c, s = torch.cos(q), torch.sin(q)
    return torch.stack([v[..., 0], c * v[..., 1] - s * v[..., 2], s * v[..., 1] + c * v[..., 2]], dim=-1)


def _rot_y(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate (..., 3) vectors ``v`` by angles ``q`` (...) about y."""
    c, s = torch.cos(q), torch.sin(q)
    return torch.stack([c * v[..., 0] + s * v[..., 2], v[..., 1], -s * v[..., 0] + c * v[..., 2]], dim=-1)


def foot_position(q: torch.Tensor, legs: LegChains) -> torch.Tensor:
    """Forward kinematics: (..., L, 3) hip/thigh/knee angles -> (..., L, 3) feet in their hip frames."""
    knee_to_foot = legs.shank + _rot_y(q[..., 2], legs.foot.expand_as(q))
    return _rot_x(q[..., 0], legs.thigh + _rot_y(q[..., 1], knee_to_foot))


def _arg(v: torch.Tensor) -> torch.Tensor:
    """Angle of the (x, z) part of (..., 3) vectors such that a rotation by q about y adds q to it."""
    return torch.atan2(v[..., 0], v[..., 2])


def _xz_norm(v: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(v[..., 0] ** 2 + v[..., 2] ** 2)


def leg_ik(p: torch.Tensor, legs: LegChains, knee_sign: torch.Tensor) -> torch.Tensor:
    """Inverse kinematics: (..., L, 3) feet in their hip frames -> (..., L, 3) joint angles, clamped to the limits.

    ``knee_sign`` (L,) picks the knee branch (the sign of the knee's bend, as in the default pose). Unreachable
    targets give the nearest stretched or folded leg."""
    lateral = legs.thigh[..., 1] + legs.shank[..., 1] + legs.foot[..., 1]  # y in the abducted frame: fixed
    rho = torch.sqrt(p[..., 1] ** 2 + p[..., 2] ** 2).clamp_min(1e-9)
    down = -torch.sqrt((rho ** 2 - lateral ** 2).clamp_min(1e-12))  # z of the foot in the abducted frame
    q_hip = torch.atan2(p[..., 2], p[..., 1]) - torch.atan2(down, lateral)
    x_t, z_t = legs.thigh[..., 0], legs.thigh[..., 2]
    v = torch.stack([p[..., 0] - x_t, torch.zeros_like(down), down - z_t], dim=-1)  # thigh joint -> foot
    a, b = _xz_norm(legs.shank), _xz_norm(legs.foot)
    cos_rel = ((v[..., 0] ** 2 + v[..., 2] ** 2 - a ** 2 - b ** 2) / (2 * a * b)).clamp(-1.0, 1.0)
    q_knee = knee_sign * torch.acos(cos_rel) - _arg(legs.foot) + _arg(legs.shank)
    reach = legs.shank + _rot_y(q_knee, legs.foot.expand_as(v))
    q_thigh = _arg(v) - _arg(reach)
    q = torch.stack([q_hip, q_thigh, q_knee], dim=-1)
    q = torch.remainder(q + math.pi, 2 * math.pi) - math.pi
    return torch.minimum(torch.maximum(q, legs.lower), legs.upper)


def knee_branch(q0: torch.Tensor, legs: LegChains) -> torch.Tensor:
    """(L,) +1/-1: the knee branch of the pose ``q0`` (L, 3), for ``leg_ik``."""
    rel = q0[..., 2] + _arg(legs.foot) - _arg(legs.shank)
    rel = torch.remainder(rel + math.pi, 2 * math.pi) - math.pi
    return torch.where(rel >= 0, 1.0, -1.0)


def swing_height(phase: torch.Tensor, stance_fraction: float, height: float) -> torch.Tensor:
    """Foot lift (m) at ``phase`` (periods, any shape): 0 in stance, a cubic rise to ``height`` and fall in swing."""
    u = ((torch.remainder(phase, 1.0) - stance_fraction) / (1.0 - stance_fraction)).clamp(0.0, 1.0)
    s = torch.where(u < 0.5, 2 * u, 2 - 2 * u)
    return height * s * s * (3 - 2 * s)


def leg_chains(model: mujoco.MjModel, joint_names: list[str], foot_bodies: list[str]) -> LegChains:
    """Each foot's leg (foot -> knee -> thigh -> hip bodies) from the compiled model; a ValueError naming the leg
    when it is not a hip (x axis), thigh (y), knee (y) chain of actuated hinges in unrotated frames."""
    action = {name: i for i, name in enumerate(joint_names)}
    roles, rows, pos, lims = [], [], [], []
    for foot in foot_bodies:
        body = model.body(foot).id
        chain = []  # knee, thigh, hip bodies
        while len(chain) < 3 and body > 0:
            if model.body_jntnum[body] == 1:
                chain.append(body)
            body = model.body_parentid[body]
        names = [model.joint(int(model.body_jntadr[b])).name for b in chain]
        axes = [tuple(float(x) for x in np.round(model.jnt_axis[model.body_jntadr[b]], 6)) for b in chain]
        bodies = [model.body(foot).id, *chain]
        if (len(chain) < 3 or axes != [(0, 1, 0), (0, 1, 0), (1, 0, 0)] or any(n not in action for n in names)
                or any(not np.allclose(model.body_quat[b], (1, 0, 0, 0)) for b in bodies)):
            raise ValueError(f"the gait prior maps legs of an x-axis hip, y-axis thigh and y-axis knee in unrotated "
                             f"frames; the leg of {foot} has joints {names} with axes {axes}; use --gait none, or "
                             "--gait alternate (a joint-space profile) on a biped")
        knee, thigh, hip = chain
        offset = np.zeros(3)  # foot in the knee frame, through any fixed bodies in between
        b = model.body(foot).id
        while b != knee:
            offset += model.body_pos[b]
            b = model.body_parentid[b]
        x, y = model.body_pos[hip][:2]
        roles.append(("F" if x > 0 else "R") + ("L" if y > 0 else "R"))
        rows.append([action[n] for n in reversed(names)])
        pos.append([model.body_pos[thigh], model.body_pos[knee], offset])
        lims.append([model.jnt_range[model.body_jntadr[b]] if model.jnt_limited[model.body_jntadr[b]]
                     else (-math.pi, math.pi) for b in reversed(chain)])
    pos_t = torch.tensor(np.array(pos), dtype=torch.float32)
    lim_t = torch.tensor(np.array(lims), dtype=torch.float32)
    return LegChains(roles=roles, joints=torch.tensor(rows), thigh=pos_t[:, 0], shank=pos_t[:, 1], foot=pos_t[:, 2],
                     lower=lim_t[..., 0], upper=lim_t[..., 1])


class PhaseClock:
    """Per-env leg phases (N envs, L legs) and the residual-action contract every gait prior shares (J actuated
    joints): the actions are J joint residuals then L frequency offsets, ``targets(actions)`` advances every leg's
    phase by (frequency + frequency_scale * offset) * dt (never backwards) and returns the prior's joint angles
    (``joint_angles``, the subclass's) plus residual_scale * residuals."""

    def __init__(self, cfg, roles: list[str], offsets: list[float], default_q: torch.Tensor, num_envs: int,
                 dt: float) -> None:
        self.cfg, self.roles, self.dt = cfg, list(roles), dt
        self.default_q = default_q
        self.num_joints = default_q.shape[0]
        self.offsets = torch.tensor(offsets, dtype=torch.float32)  # (L,) periods
        self.phase = self.offsets.expand(num_envs, -1).clone()  # (N, L) periods

    @property
    def num_actions(self) -> int:
        return self.num_joints + len(self.roles)

    def reset(self, env_ids: torch.Tensor) -> None:
        """Put the legs of ``env_ids`` back at their gait's phase offsets."""
        self.phase[env_ids] = self.offsets

    def joint_angles(self) -> torch.Tensor:
        """(N, J) the prior's joint angles (rad) at the current phases."""
        raise NotImplementedError

    def targets(self, actions: torch.Tensor) -> torch.Tensor:
        """(N, J + L) actions -> (N, J) joint targets (rad), after advancing the phases one policy step."""
        residual, freq = actions[:, : self.num_joints], actions[:, self.num_joints:]
        rate = (self.cfg.frequency + self.cfg.frequency_scale * freq).clamp_min(0.0)  # Hz
        self.phase = torch.remainder(self.phase + rate * self.dt, 1.0)
        return self.joint_angles() + self.cfg.residual_scale * residual

    def clock(self) -> torch.Tensor:
        """(N, 2 L) sin and cos of 2 pi * each leg's phase."""
        angle = 2 * math.pi * self.phase
        return torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)


def unknown_gait(mode: str, known: list[str]) -> ValueError:
    """The one-line error for a gait_prior.mode that no generator has."""
    return ValueError(f"gait_prior.mode {mode!r} is not a gait; use none or one of {sorted(known)}")


class GaitGenerator(PhaseClock):
    """Foot trajectories per leg (swing lift over the nominal foot point) through each leg's inverse kinematics."""

    def __init__(self, cfg, legs: LegChains, default_q: torch.Tensor, num_envs: int, dt: float) -> None:
        if cfg.mode not in GAITS:
            raise unknown_gait(cfg.mode, list(GAITS))
        missing = sorted(set(GAITS[cfg.mode]) - set(legs.roles))
        if missing or len(legs.roles) != len(set(legs.roles)):
            raise ValueError(f"gait_prior.mode {cfg.mode!r} needs one leg per role {sorted(GAITS[cfg.mode])}; "
                             f"robot.foot_bodies give {legs.roles}")
        super().__init__(cfg, legs.roles, [GAITS[cfg.mode][r] for r in legs.roles], default_q, num_envs, dt)
        self.legs = legs
        q0 = default_q[legs.joints]  # (L, 3)
        self.knee = knee_branch(q0, legs)
        self.nominal = foot_position(q0, legs)  # (L, 3) m
        self._columns = legs.joints.flatten()  # (3 L,) where each leg's angles go in the action order

    def feet(self) -> torch.Tensor:
        """(N, L, 3) the generator's foot targets in the hip frames (m)."""
        lift = swing_height(self.phase, self.cfg.stance_fraction, self.cfg.swing_height)
        return self.nominal + torch.stack([torch.zeros_like(lift), torch.zeros_like(lift), lift], dim=-1)

    def joint_angles(self) -> torch.Tensor:
        """(N, J) the generator's joint angles (rad): the legs' inverse kinematics, the default elsewhere."""
        q = leg_ik(self.feet(), self.legs, self.knee)
        out = self.default_q.expand(q.shape[0], -1).clone()
        out[:, self._columns] = q.reshape(q.shape[0], -1)
        return out


FORMULA = "legged_snn.gait/1"  # cubic swing lift over stance_fraction..1, 3-dof leg IK (this module)
PARAMS = ("mode", "frequency", "frequency_scale", "swing_height", "stance_fraction", "residual_scale")


def describe(gen: GaitGenerator) -> dict:
    """A JSON-ready description of ``gen``: its parameters, the leg geometry and the formula's name."""
    legs = gen.legs
    out = {"formula": FORMULA, **{k: getattr(gen.cfg, k) for k in PARAMS}, "roles": list(legs.roles),
           "phase_offsets": gen.offsets.tolist(), "knee_sign": gen.knee.tolist()}
    out.update({f.name: getattr(legs, f.name).tolist() for f in fields(LegChains) if f.name != "roles"})
    return out


def from_description(desc: dict, default_q: torch.Tensor, num_envs: int, dt: float) -> GaitGenerator:
    """The generator ``describe`` wrote, rebuilt from the JSON alone; a ValueError for another formula."""
    if desc.get("formula") != FORMULA:
        raise ValueError(f"gait prior formula {desc.get('formula')!r} is not {FORMULA!r}; export it again")
    legs = LegChains(roles=list(desc["roles"]), joints=torch.tensor(desc["joints"]),
                     **{k: torch.tensor(desc[k], dtype=torch.float32)
                        for k in ("thigh", "shank", "foot", "lower", "upper")})
    gen = GaitGenerator(SimpleNamespace(**{k: desc[k] for k in PARAMS}), legs, default_q.float(), num_envs, dt)
    gen.knee = torch.tensor(desc["knee_sign"], dtype=torch.float32)
    return gen
