"""policy.json: everything a robot integrator needs to run an exported policy without this code base."""

from __future__ import annotations

from dataclasses import asdict

from envs.locomotion.env import LocomotionEnv, per_joint
from legged_snn.gait_joint import describe_prior
from legged_snn.rl.config import TrainCfg, actor_groups, mlp_activation

FORMAT = "legged_snn.policy/1"


def policy_metadata(task: str, env: LocomotionEnv, train_cfg: TrainCfg) -> dict:
    """A JSON-ready dict: joints, gains, limits, timing, observation layout (in the exported input order)."""
    cfg, r = env.cfg, env.cfg.robot
    groups = actor_groups(train_cfg, list(env.get_observations().keys()))
    terms = []
    for t in env.obs_layout.terms:
        scale = t.scale.tolist() if hasattr(t.scale, "tolist") else float(t.scale)
        terms.append({"name": t.name, "size": t.size, "scale": scale, "group": "policy"})
    if "history" in groups:
        frame = env._frame_slice.stop - env._frame_slice.start
        terms.append({"name": "history", "size": frame * cfg.env.history_frames, "scale": 1.0, "group": "history",
                      "frames": cfg.env.history_frames, "frame_terms": ["dof_pos", "dof_vel", "actions"]})
    p = train_cfg.policy
    meta = {
        "format": FORMAT,
        "task": task,
        "actor": p.actor,
        "urdf": r.urdf,
        "meshdir": r.meshdir,
        "joint_names": list(r.joint_names),
        "default_joint_pos": [float(r.default_joint_pos[j]) for j in r.joint_names],
        "kp": per_joint(r, "kp"),
        "kd": per_joint(r, "kd"),
        "effort_limit": env.backend.effort_limit.tolist(),
        "joint_range": env.backend.joint_range.tolist(),
        "action_scale": r.action_scale,
        "clip_actions": cfg.normalization.clip_actions,
        "clip_observations": cfg.normalization.clip_observations,
        "sim_dt": cfg.sim.dt,
        "decimation": cfg.sim.decimation,
        "control_dt": env.dt,
        "foot_bodies": list(r.foot_bodies),
        "terminate_after_contacts_on": list(r.terminate_after_contacts_on),
        "armature": per_joint(r, "armature"),
        "solver_iterations": cfg.sim.solver_iterations,
        "ls_iterations": cfg.sim.ls_iterations,
        "init_pos": list(r.init_pos),
        "observation": {"dim": sum(t["size"] for t in terms), "groups": groups, "terms": terms},
        "height_scan": asdict(cfg.height_scan) if cfg.height_scan.enabled else None,
        "gait": asdict(cfg.gait) if getattr(cfg, "gait", None) is not None and cfg.gait.enabled else None,
        "gait_prior": describe_prior(env.gait_prior) if env.gait_prior is not None else None,  # actions: J + L
        "commands": {"lin_vel_x": list(cfg.commands.lin_vel_x), "lin_vel_y": list(cfg.commands.lin_vel_y),
                     "ang_vel_yaw": list(cfg.commands.ang_vel_yaw)},
        "recurrent": p.actor == "snn" and p.snn.get("history") == "membrane",
    }
    if p.actor == "snn":
        meta["snn"] = {"history": p.snn["history"], "timesteps": p.snn["timesteps"], "pop_in": p.snn["pop_in"],
                       "pop_out": p.snn["pop_out"], "encoder_mode": p.snn["encoder_mode"],
                       "neuron": dict(p.snn["neuron"]), "hidden_dims": list(p.actor_hidden_dims),
                       "decoder": p.snn.get("decoder", "membrane"), "decoder_leak": p.snn.get("decoder_leak", 0.0),
                       "decoder_read": p.snn.get("decoder_read", "last")}
    else:
        meta["mlp"] = {"hidden_dims": list(p.actor_hidden_dims), "activation": mlp_activation(p)}
        if p.mlp_input != "raw":
            meta["mlp"]["input"] = p.mlp_input
    return meta
