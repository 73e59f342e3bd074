"""MuJoCo Warp backend on Warp's CPU device against the Batch backend: same model, same actions."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("mujoco_warp", reason="install the [gpu] or [test] extra")  # CI installs it via [test]

from envs.locomotion.env import LocomotionEnv, model_cfg  # noqa: E402
from envs.robots.a1 import JOINTS, a1_env_cfg  # noqa: E402
from legged_snn.sim.mujoco_cpu import MujocoCpuBackend  # noqa: E402
from legged_snn.sim.mujoco_warp import MujocoWarpBackend  # noqa: E402

TOLERANCE = 1e-4  # rad and m after 100 policy steps (float32 Warp vs float64 C engine, contacts included)


def test_warp_cpu_agrees_with_batch_after_100_steps() -> None:
    cfg = a1_env_cfg()
    mc = model_cfg(cfg)
    warp, batch = MujocoWarpBackend(mc, 2, 4, "cpu"), MujocoCpuBackend(mc, 2, 4, nthread=1)
    q0 = torch.tensor([cfg.robot.default_joint_pos[j] for j in JOINTS]).expand(2, 12)
    pose = torch.tensor([[0, 0, 0.35, 1, 0, 0, 0.0], [0.5, -0.2, 0.33, 1, 0, 0, 0.0]])
    for b in (warp, batch):
        b.reset(torch.arange(2), pose, torch.zeros(2, 6), q0, torch.zeros(2, 12))
    gen = torch.Generator().manual_seed(0)
    for i in range(100):
        targets = q0 + 0.15 * torch.randn(2, 12, generator=gen) * (i >= 30)
        warp.step(targets)
        batch.step(targets)
    w, b = warp.state, batch.state
    assert (w.joint_pos - b.joint_pos).abs().max() < TOLERANCE
    assert (w.base_pos - b.base_pos).abs().max() < TOLERANCE
    assert (w.base_quat - b.base_quat).abs().max() < TOLERANCE
    assert (w.contact_force[:, :4, 2] - b.contact_force[:, :4, 2]).abs().max() < 1e-2  # N
    assert b.contact_force[:, :4, 2].sum() > 50  # the robots stand on their feet


def test_env_runs_on_warp_cpu_with_randomization() -> None:
    cfg = a1_env_cfg()
    cfg.env.num_envs = 3
    cfg.domain_rand.randomize_base_mass = cfg.domain_rand.randomize_motor_strength = True
    env = LocomotionEnv(cfg, sim_device="warp:cpu")
    assert env.backend.get_friction().unique().numel() == 3  # per-world friction
    for _ in range(20):
        obs, rew, _, _ = env.step(torch.zeros(3, 12))
    assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
