"""A task's gait prior over two periods, open loop: foot lift and joint targets per leg (a PNG to look at).

    python -m envs.play.gait_plot --task a1_flat_gait --out docs/gait.png

The foot lift is measured by MuJoCo's forward kinematics at the generator's joint targets (not the formula), so
the plot also shows that the inverse kinematics puts each foot where the generator asks. For the bipeds'
joint-space profile (``--task g1_flat_gait``) the line is the swing bump times the swing height: the measured
foot meets it at lift-off, mid-swing and touch-down, and rises along its own path in between.
"""

from __future__ import annotations

import argparse
import sys

import mujoco
import numpy as np
import torch

import envs.tasks  # noqa: F401  (registers the tasks)
from envs.locomotion.env import model_cfg
from legged_snn.gait import swing_height
from legged_snn.gait_joint import JointProfileGenerator, make_gait_prior
from legged_snn.registry import UnknownTaskError, load
from legged_snn.sim.model import build_model


def trace(task: str, periods: float = 2.0, dt: float = 0.005) -> dict:
    """Time (s), generator foot lift (T, L) m, MuJoCo foot lift (T, L) m and joint targets (T, J) rad."""
    env_cfg, _ = load(task)
    if env_cfg.gait_prior.mode == "none":
        raise ValueError(f"task {task} has no gait prior; pick a *_gait task or set --gait")
    model, info = build_model(model_cfg(env_cfg))
    r = env_cfg.robot
    q0 = torch.tensor([r.default_joint_pos[j] for j in r.joint_names])
    gen = make_gait_prior(env_cfg.gait_prior, model, info, list(r.joint_names), list(r.foot_bodies), q0,
                          dict(r.swing_joints), num_envs=1, dt=dt)
    joint_space = isinstance(gen, JointProfileGenerator)
    data = mujoco.MjData(model)
    steps = int(round(periods / env_cfg.gait_prior.frequency / dt))
    zero = torch.zeros(1, gen.num_actions)
    feet = [model.body(f).id for f in r.foot_bodies]

    def foot_z(q: torch.Tensor) -> np.ndarray:
        data.qpos[info.joint_qpos_adr] = q.double().numpy()
        mujoco.mj_kinematics(model, data)
        return data.xpos[feet, 2].copy()

    stand = foot_z(q0)
    lift, measured, targets = [], [], []
    for _ in range(steps):
        q = gen.targets(zero)[0]
        targets.append(q.numpy())
        lift.append(swing_height(gen.phase[0], env_cfg.gait_prior.stance_fraction,
                                 env_cfg.gait_prior.swing_height).numpy())
        measured.append(foot_z(q) - stand)
    return {"time": dt * np.arange(1, steps + 1), "lift": np.array(lift), "measured": np.array(measured),
            "targets": np.array(targets), "roles": gen.roles,
            "joints": list(r.joint_names), "task": task, "joint_space": joint_space}


def plot(tr: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for k, role in enumerate(tr["roles"]):
        # diagonal legs of a trot coincide: widths differ so both stay visible
        what = "swing bump x height" if tr["joint_space"] else "generator"
        line, = top.plot(tr["time"], 100 * tr["lift"][:, k], lw=4.5 - 1.1 * k, alpha=0.8, label=f"{role} ({what})")
        top.plot(tr["time"][::8], 100 * tr["measured"][::8, k], "o", ms=3, color=line.get_color(),
                 label=f"{role} (MuJoCo FK at the targets)")
    top.set_ylabel("foot lift (cm)")
    top.set_ylim(-0.5, 1.45 * 100 * float(tr["lift"].max()))
    top.legend(fontsize=7, ncol=4, loc="upper center")
    top.set_title(f"{tr['task']}: gait prior open loop, two periods, zero residuals")
    for j, name in enumerate(tr["joints"]):
        bottom.plot(tr["time"], tr["targets"][:, j], lw=1.2, label=name)
    bottom.set_ylabel("joint target (rad)")
    bottom.set_xlabel("time (s)")
    bottom.set_ylim(float(tr["targets"].min()) - 0.2, float(tr["targets"].max()) + 0.9)
    bottom.legend(fontsize=6, ncol=4, loc="upper center")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m envs.play.gait_plot", description=__doc__.splitlines()[0])
    p.add_argument("--task", default="a1_flat_gait")
    p.add_argument("--out", default="gait.png")
    args = p.parse_args(argv)
    if not args.out.endswith(".png"):
        p.error(f"--out {args.out}: give a path ending in .png")
    try:
        tr = trace(args.task)
    except (UnknownTaskError, ValueError) as exc:
        print(f"gait_plot: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    plot(tr, args.out)
    if tr["joint_space"]:
        print(f"wrote {args.out}; MuJoCo foot lift at mid-swing: {100 * float(tr['measured'].max()):.2f} cm "
              f"(asked: {100 * float(tr['lift'].max()):.2f} cm)")
    else:
        err = float(np.abs(tr["lift"] - tr["measured"]).max())
        print(f"wrote {args.out}; generator vs MuJoCo foot lift: max difference {1000 * err:.2f} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
