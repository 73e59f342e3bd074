"""The env's full state as a dict of tensors (saved in checkpoints), so a resumed run continues exactly."""

from __future__ import annotations

import torch
from tensordict import TensorDict

# env attributes the next steps depend on (tensors, restored in place so aliases such as env.commands survive)
TENSORS = ("actions", "last_actions", "last_joint_vel", "feet_air_time", "last_foot_contact", "foot_contact",
           "episode_length_buf", "reset_buf", "time_out_buf", "history", "_history_fresh", "last_foot_pos",
           "friction", "added_mass", "latency")


def env_state(env) -> dict:
    """A weights_only-loadable dict: tensors, ints, floats, lists."""
    out: dict = {k: getattr(env, k).clone() for k in TENSORS if isinstance(getattr(env, k, None), torch.Tensor)}
    out["backend"] = env.backend.state_dict()
    out["commands"] = env.commands_mgr.values.clone()
    out["heading"] = env.commands_mgr.heading.clone()
    out["lin_vel_x"] = list(env.commands_mgr.lin_vel_x)
    out["episode_sums"] = {k: v.clone() for k, v in env.episode_sums.items()}
    out["obs"] = {k: v.clone() for k, v in env.get_observations().items()}
    out["terrain"] = {k: getattr(env.terrain, k).clone() for k in ("levels", "types", "origins")}
    out["counters"] = [env.common_step_counter, env.blowups_total]
    out["gen"] = env.gen.get_state()
    if env.gait_prior is not None:
        out["gait_phase"] = env.gait_prior.phase.clone()
    return out


def load_env_state(env, state: dict) -> None:
    """Put ``env`` back into ``env_state(env)``'s moment; raises ValueError on a size mismatch."""
    if state["commands"].shape != env.commands_mgr.values.shape:
        raise ValueError(f"the checkpoint's env state holds {state['commands'].shape[0]} envs, this run has "
                         f"{env.num_envs}; resume with the same --num_envs")
    for k in TENSORS:
        if k in state:
            cur = getattr(env, k)
            if isinstance(cur, torch.Tensor) and cur.shape == state[k].shape:
                cur.copy_(state[k])
            else:
                setattr(env, k, state[k].clone())
    env.backend.load_state_dict(state["backend"])
    env.commands_mgr.values.copy_(state["commands"])
    env.commands_mgr.heading.copy_(state["heading"])
    env.commands_mgr.lin_vel_x = list(state["lin_vel_x"])
    for k, v in state["episode_sums"].items():
        env.episode_sums[k].copy_(v)
    env._obs = TensorDict({k: v.clone() for k, v in state["obs"].items()}, batch_size=[env.num_envs])
    for k, v in state["terrain"].items():
        getattr(env.terrain, k).copy_(v)
    env.common_step_counter, env.blowups_total = int(state["counters"][0]), int(state["counters"][1])
    env.gen.set_state(state["gen"])
    if env.gait_prior is not None and "gait_phase" in state:
        env.gait_prior.phase.copy_(state["gait_phase"])
