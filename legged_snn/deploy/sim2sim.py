"""Sim-to-sim check: run an exported ONNX policy in a plain mujoco.MjData loop built from the URDF and
policy.json alone (no env code), on flat ground, and report velocity tracking and falls.

    python -m legged_snn.deploy.sim2sim --policy logs/a1_rough/<run>/exported/policy.onnx --json

This is the robot integrator's contract: the observation is assembled term by term from policy.json's layout
(scales, clip), actions become PD targets (q0 + action_scale * a, or a gait prior's joint angles + its residuals)
held for ``decimation`` physics steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import mujoco
import numpy as np
import torch

from legged_snn.export import ExportError, check_onnx_matches, load_metadata
from legged_snn.gait_joint import rebuild
from legged_snn.sim.model import ModelCfg, ModelError, build_model

FORMAT = "legged_snn.policy/1"
# (seconds, vx, vy, yaw rate): the schedule both this check and ``play.py --evaluate`` drive
SCHEDULE = ((4.0, 0.5, 0.0, 0.0), (4.0, 1.0, 0.0, 0.0), (4.0, 0.0, 0.0, 0.8), (4.0, -0.5, 0.0, 0.0),
            (4.0, 0.0, 0.5, 0.0))
SETTLE_S = 1.0  # seconds after each command change left out of the error


def _rot_inv(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate world vector v into the frame of unit quaternion q (w, x, y, z)."""
    res = np.zeros(3)
    mujoco.mju_rotVecQuat(res, v, np.array([q[0], -q[1], -q[2], -q[3]]))
    return res


class Sim2Sim:
    """One robot on a plane driven by the ONNX policy."""

    def __init__(self, policy_path: str, meta: dict) -> None:
        import onnxruntime as ort

        self.meta = meta
        self.fall_bodies = list(meta.get("terminate_after_contacts_on", []))
        # urdf and meshdir: absolute or repository-relative, resolved by the model builder (repo_path)
        cfg = ModelCfg(urdf=meta["urdf"], meshdir=meta.get("meshdir"), joint_names=meta["joint_names"],
                       foot_bodies=meta["foot_bodies"],
                       contact_bodies=self.fall_bodies,
                       kp=meta["kp"], kd=meta["kd"], sim_dt=meta["sim_dt"], init_pos=meta["init_pos"],
                       armature=meta.get("armature", 0.0), solver_iterations=meta.get("solver_iterations", 10),
                       ls_iterations=meta.get("ls_iterations", 10))
        self.model, info = build_model(cfg)
        # net contact force columns of the bodies whose touching the ground ends an episode (as in training)
        adr = [int(self.model.sensor(f"contact_{b}").adr[0]) for b in self.fall_bodies]
        self.fall_cols = [a + k for a in adr for k in (1, 2, 3)]
        self.data = mujoco.MjData(self.model)
        self.jq, self.jd = info.joint_qpos_adr, info.joint_dof_adr
        self.q0 = np.asarray(meta["default_joint_pos"])
        self.session = ort.InferenceSession(policy_path, providers=["CPUExecutionProvider"])
        check_onnx_matches(self.session, meta, policy_path)
        supported = {"base_lin_vel", "base_ang_vel", "projected_gravity", "commands", "dof_pos", "dof_vel", "actions",
                      "height_scan", "gait_phase", "leg_phase"}
        missing = [t["name"] for t in meta["observation"]["terms"] if t["name"] not in supported]
        if missing:
            raise ExportError(f"policy.json names observation term(s) {missing}, which sim2sim cannot build "
                              "(stacked history is not supported yet)")
        self.recurrent = bool(meta.get("recurrent"))
        self.state_shape = meta.get("snn", {}).get("state_shape")
        self.gait_prior = None  # the foot-trajectory generator the actions are residuals of, from policy.json alone
        if meta.get("gait_prior"):
            try:
                self.gait_prior = rebuild(meta["gait_prior"], torch.from_numpy(self.q0), 1, meta["control_dt"])
            except ValueError as exc:
                raise ExportError(str(exc)) from None
        self.reset()

    def reset(self) -> None:
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:3] = self.meta["init_pos"]
        self.data.qpos[3:7] = (1, 0, 0, 0)
        self.data.qpos[self.jq] = self.q0
        self.data.ctrl[:] = self.q0
        mujoco.mj_forward(self.model, self.data)
        self.actions = np.zeros(self.gait_prior.num_actions if self.gait_prior else len(self.q0))
        self.time = 0.0
        if self.gait_prior is not None:
            self.gait_prior.reset(slice(None))
        if self.recurrent:
            z = np.zeros(self.state_shape, np.float32)
            self.state = [z, z.copy(), z.copy()]

    def observation(self, command: np.ndarray) -> np.ndarray:
        """The policy input, term by term from policy.json (scaled, clipped)."""
        d, quat = self.data, self.data.qpos[3:7]
        raw = {
            "base_lin_vel": _rot_inv(quat, d.qvel[:3]), "base_ang_vel": d.qvel[3:6],
            "projected_gravity": _rot_inv(quat, np.array([0.0, 0.0, -1.0])), "commands": command,
            "dof_pos": d.qpos[self.jq] - self.q0, "dof_vel": d.qvel[self.jd], "actions": self.actions,
        }
        hs, gait = self.meta.get("height_scan"), self.meta.get("gait")
        parts = []
        for term in self.meta["observation"]["terms"]:
            name = term["name"]
            if name == "height_scan":  # flat ground: every point reads the plane at z = 0
                value = np.full(term["size"], np.clip(d.qpos[2] - hs["offset"], -hs["clip"], hs["clip"]))
            elif name == "gait_phase":
                phase = (self.time % gait["period"]) / gait["period"]
                value = np.array([np.sin(2 * np.pi * phase), np.cos(2 * np.pi * phase)])
            elif name == "leg_phase":
                value = self.gait_prior.clock()[0].double().numpy()
            elif name in raw:
                value = np.asarray(raw[name], dtype=np.float64)
            else:
                raise ExportError(f"policy.json names observation term {name!r}, which sim2sim cannot build")
            parts.append(value * np.asarray(term["scale"]))
        clip = self.meta["clip_observations"]
        return np.clip(np.concatenate(parts), -clip, clip).astype(np.float32)[None]

    def step(self, command: np.ndarray) -> None:
        obs = self.observation(command)
        if self.recurrent:
            out = self.session.run(None, {"obs": obs, "c_in": self.state[0], "v_in": self.state[1],
                                          "o_in": self.state[2]})
            action, self.state = out[0], list(out[1:])
        else:
            action = self.session.run(None, {"obs": obs})[0]
        clip = self.meta["clip_actions"]
        self.actions = np.clip(action[0].astype(np.float64), -clip, clip)
        if self.gait_prior is not None:
            self.data.ctrl[:] = self.gait_prior.targets(torch.from_numpy(self.actions).float()[None])[0].numpy()
        else:
            self.data.ctrl[:] = self.q0 + self.meta["action_scale"] * self.actions
        for _ in range(self.meta["decimation"]):
            mujoco.mj_step(self.model, self.data)
        self.time += self.meta["control_dt"]

    def base_velocity(self) -> tuple[np.ndarray, float]:
        """Body-frame linear velocity (3,) m/s and yaw rate rad/s."""
        return _rot_inv(self.data.qpos[3:7], self.data.qvel[:3]), float(self.data.qvel[5])

    def fallen(self) -> bool:
        """The training env's termination: > 1 N of contact force on a termination body (the base)."""
        if not self.fall_cols:
            up = _rot_inv(self.data.qpos[3:7], np.array([0.0, 0.0, -1.0]))[2]
            return bool(up > -0.5)
        forces = self.data.sensordata[self.fall_cols].reshape(-1, 3)
        return bool((np.linalg.norm(forces, axis=1) > 1.0).any())


def evaluate(sim) -> dict:
    """Drive ``sim`` through SCHEDULE: anything with ``meta["control_dt"]``, ``step(command (3,))``, ``fallen()``,
    ``reset()`` and ``base_velocity()``; mean |v_xy error| (m/s) and |yaw-rate error| (rad/s) after settling."""
    dt = sim.meta["control_dt"]
    lin_err, yaw_err, falls = [], [], 0
    for seconds, vx, vy, wz in SCHEDULE:
        cmd = np.array([vx, vy, wz])
        for k in range(int(round(seconds / dt))):
            sim.step(cmd)
            if sim.fallen():
                falls += 1
                sim.reset()
                continue
            if k * dt >= SETTLE_S:
                v, w = sim.base_velocity()
                lin_err.append(float(np.linalg.norm(v[:2] - cmd[:2])))
                yaw_err.append(abs(float(w - cmd[2])))
    return {"lin_vel_error": round(float(np.mean(lin_err)), 4), "yaw_rate_error": round(float(np.mean(yaw_err)), 4),
            "falls": falls, "seconds": sum(s for s, *_ in SCHEDULE)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m legged_snn.deploy.sim2sim", description=__doc__.splitlines()[0])
    p.add_argument("--policy", required=True, help="exported policy.onnx (policy.json beside it)")
    p.add_argument("--metadata", help="policy.json (default: beside the ONNX file)")
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    args = p.parse_args(argv)
    meta_path = args.metadata or os.path.join(os.path.dirname(os.path.abspath(args.policy)), "policy.json")
    try:
        if not os.path.isfile(args.policy):
            raise ExportError(f"{args.policy} not found; export one with python play.py --export_only")
        meta = load_metadata(meta_path, FORMAT)
        sim = Sim2Sim(args.policy, meta)
    except (ExportError, ModelError) as exc:
        print(f"sim2sim: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # onnxruntime's own load errors
        print(f"sim2sim: error: cannot load {args.policy}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    out = {"bench": "sim2sim", "task": meta["task"], "actor": meta["actor"], **evaluate(sim)}
    print(json.dumps(out) if args.json else out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
