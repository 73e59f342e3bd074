"""What a person looks at after training: velocity tracking, joints vs targets, gait diagram, spike raster.

``Recorder.record(env, trace)`` stores env 0's signals each policy step; ``save_plots`` writes the PNGs.
"""

from __future__ import annotations

import os

import numpy as np
import torch


class Recorder:
    """Signals of one env over time (lists of numpy rows)."""

    def __init__(self, index: int = 0) -> None:
        self.index = index
        self.rows: dict[str, list[np.ndarray]] = {k: [] for k in ("cmd", "vel", "q", "target", "contact")}
        self.spikes: list[list[np.ndarray]] | None = None  # per step: [population (T, width)]
        self.layer_names: list[str] = []

    def record(self, env, targets: torch.Tensor, trace: list[torch.Tensor] | None = None) -> None:
        i, s = self.index, env.sim
        self.rows["cmd"].append(env.commands[i, :3].cpu().numpy().copy())
        self.rows["vel"].append(np.r_[s.base_lin_vel[i, :2].cpu().numpy(), s.base_ang_vel[i, 2].item()])
        self.rows["q"].append(s.joint_pos[i].cpu().numpy().copy())
        self.rows["target"].append(targets[i].cpu().numpy().copy())
        self.rows["contact"].append(env.foot_contact[i].cpu().numpy().copy())
        if trace is not None:
            self.spikes = self.spikes if self.spikes is not None else []
            self.spikes.append([t[:, 0].cpu().numpy().copy() for t in trace])

    def array(self, key: str) -> np.ndarray:
        return np.stack(self.rows[key])


def save_plots(rec: Recorder, out_dir: str, dt: float, joint_names: list[str], foot_names: list[str],
               layer_names: list[str] | None = None) -> list[str]:
    """Write velocity.png, joints.png, gait.png (and spikes.png for a spiking actor); returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    t = np.arange(len(rec.rows["cmd"])) * dt
    paths = []

    cmd, vel = rec.array("cmd"), rec.array("vel")
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    for k, (ax, name) in enumerate(zip(axes, ("forward v_x (m/s)", "lateral v_y (m/s)", "yaw rate (rad/s)"))):
        ax.plot(t, cmd[:, k], "k--", label="command")
        ax.plot(t, vel[:, k], label="actual")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right")
    axes[-1].set_xlabel("time (s)")
    fig.suptitle("base velocity: command vs actual (body frame)")
    paths.append(_save(fig, out_dir, "velocity.png"))

    q, target = rec.array("q"), rec.array("target")
    n = q.shape[1]
    cols = 3 if n % 3 == 0 else 2
    fig, axes = plt.subplots(int(np.ceil(n / cols)), cols, figsize=(11, 1.6 * np.ceil(n / cols) + 1), sharex=True)
    for j, ax in enumerate(np.ravel(axes)[:n]):
        ax.plot(t, target[:, j], "k--", lw=0.8, label="target")
        ax.plot(t, q[:, j], lw=1.0, label="position")
        ax.set_title(joint_names[j], fontsize=8)
        ax.tick_params(labelsize=7)
    np.ravel(axes)[0].legend(fontsize=7)
    fig.suptitle("joint positions vs PD targets (rad)")
    paths.append(_save(fig, out_dir, "joints.png"))

    contact = rec.array("contact")
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(foot_names) + 1.2))
    for f in range(contact.shape[1]):
        on = contact[:, f] > 0
        ax.fill_between(t, f - 0.4, f + 0.4, where=on, step="mid", color="C0")
    ax.set_yticks(range(len(foot_names)))
    ax.set_yticklabels(foot_names)
    ax.set_xlabel("time (s)")
    ax.set_title("gait diagram (filled = foot on the ground)")
    paths.append(_save(fig, out_dir, "gait.png"))

    if rec.spikes:
        paths.append(_spike_plot(rec, out_dir, dt, layer_names or [], plt))
    return paths


def _spike_plot(rec: Recorder, out_dir: str, dt: float, names: list[str], plt) -> str:
    """Raster of every population (rows = neurons, columns = SNN timesteps) and per-layer rates over time."""
    pops = len(rec.spikes[0])
    steps = len(rec.spikes)
    T = rec.spikes[0][0].shape[0]
    fig, axes = plt.subplots(pops + 1, 1, figsize=(11, 2.0 * pops + 2.5), sharex=False)
    for p in range(pops):
        sp = np.concatenate([step[p] for step in rec.spikes], axis=0)  # (steps * T, width)
        # an image, not markers: thousands of neurons x timesteps; grey = the share of spikes a pixel covers
        axes[p].imshow(sp.T, aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
                       interpolation="antialiased", extent=(0, steps * dt, -0.5, sp.shape[1] - 0.5))
        label = names[p] if p < len(names) else f"population {p}"
        axes[p].set_ylabel(f"{label}\n({sp.shape[1]})", fontsize=8)
    rates = np.array([[step[p].mean() for p in range(pops)] for step in rec.spikes])
    ax = axes[-1]
    for p in range(pops):
        ax.plot(np.arange(steps) * dt, rates[:, p], label=names[p] if p < len(names) else str(p))
    ax.set_ylabel("firing rate\n(spikes / neuron / step)", fontsize=8)
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=7, ncol=pops)
    fig.suptitle(f"spiking actor: raster (T = {T} per control step) and per-layer firing rates")
    return _save(fig, out_dir, "spikes.png")


def _save(fig, out_dir: str, name: str) -> str:
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
