"""Rough-terrain env pieces: height scan, curriculum, action latency, motor strength (real MuJoCo)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import envs.tasks  # noqa: F401  (registers the tasks)
from envs.locomotion.config import HeightScanCfg
from envs.locomotion.env import LocomotionEnv, model_cfg
from envs.locomotion.terrain_manager import TerrainManager
from envs.robots.a1 import a1_env_cfg
from legged_snn.registry import load
from legged_snn.sim.math import heading
from legged_snn.sim.mujoco_cpu import MujocoCpuBackend
from legged_snn.sim.terrain import Terrain, TerrainCfg, generate


def step_terrain(edge_x: float = 0.3, rise: float = 0.2) -> Terrain:
    """Flat ground with a step up of ``rise`` m for x >= edge_x."""
    cfg = TerrainCfg(num_rows=1, num_cols=1, border_size=2.0, curriculum=False)
    nx, ny = 120, 120
    heights = np.zeros((nx, ny), np.float32)
    heights[round((edge_x + cfg.border_size) / cfg.horizontal_scale):] = rise
    return Terrain(cfg, heights, np.zeros((1, 1, 3), np.float32), ["smooth_slope"])


@pytest.mark.parametrize("yaw", [0.0, math.pi / 2, math.pi])
def test_height_scan_reads_a_known_step(yaw: float) -> None:
    tm = TerrainManager(step_terrain(), HeightScanCfg(), 1, torch.Generator())
    ground = tm.scan(torch.tensor([[0.0, 0.0, 0.3]]), torch.tensor([yaw]))[0].view(17, 11)
    local = tm.points.view(17, 11, 2)
    c, s = math.cos(yaw), math.sin(yaw)
    world_x = c * local[..., 0] - s * local[..., 1]
    expected = torch.where(world_x >= 0.3 - 1e-6, 0.2, 0.0)
    assert torch.allclose(ground, expected)
    assert 0 < int((ground > 0.1).sum()) < 187  # the step cuts through the scan


def test_env_height_scan_on_stairs_matches_the_formula() -> None:
    env_cfg, _ = load("a1_rough")
    env_cfg.env.num_envs = 2
    env_cfg.noise.add_noise = False
    env_cfg.terrain = TerrainCfg(num_rows=2, num_cols=1, border_size=2.0, proportions={"stairs_up": 1.0},
                                 curriculum=False)
    env = LocomotionEnv(env_cfg)
    scan = env.get_observations()["policy"][:, env.obs_layout.slices()["height_scan"]]
    base = env.sim.base_pos
    ground = env.terrain.scan(base, heading(env.sim.base_quat))
    assert ground.max() > 0.3  # both robots stand on a stairs platform above the ground level
    expected = (base[:, 2:3] - 0.5 - ground).clamp(-1, 1) * 5.0
    assert torch.allclose(scan, expected, atol=1e-5)
    assert scan.shape == (2, 187) and env.get_observations()["policy"].shape[1] == 235


def test_curriculum_moves_envs_up_and_down() -> None:
    cfg = TerrainCfg(num_rows=10, num_cols=2, border_size=1.0, proportions={"stairs_up": 1.0})
    tm = TerrainManager(generate(cfg), HeightScanCfg(), 4, torch.Generator().manual_seed(0))
    tm.levels[:] = torch.tensor([3, 3, 3, 9])
    tm._refresh_origins(torch.arange(4))
    start = tm.origins[:, :2].clone()
    walked = torch.tensor([[5.0, 0.0], [0.5, 0.0], [3.0, 0.0], [0.0, 5.0]])  # > 4 m moves up
    cmd = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.2, 0.0], [1.0, 0.0]])  # 0.5 m < 1 m/s * 20 s / 2 moves down
    tm.update_curriculum(torch.arange(4), start + walked, cmd, 20.0)
    assert tm.levels[:3].tolist() == [4, 2, 3]
    assert 0 <= int(tm.levels[3]) < 10  # solved the top level: a random one
    assert torch.allclose(tm.origins[0], tm.tile_origins[4, tm.types[0]])


def _backend(decimation: int) -> MujocoCpuBackend:
    return MujocoCpuBackend(model_cfg(a1_env_cfg()), 2, decimation, nthread=1)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_latency_delays_the_target_by_exactly_k_physics_steps(k: int) -> None:
    delayed, reference = _backend(4), _backend(1)
    old = delayed._ctrl.clone().float()
    new = old + 0.3
    delayed.step(new, latency=torch.tensor([k, 0]))
    for _ in range(k):
        reference.step(old)
    for _ in range(4 - k):
        reference.step(new)
    assert torch.equal(delayed._qpos[0], reference._qpos[0])
    instant = _backend(4)
    instant.step(new)
    assert torch.equal(delayed._qpos[1], instant._qpos[1])  # latency 0 env unchanged
    assert not torch.equal(delayed._qpos[0], instant._qpos[0])


def test_motor_strength_scales_the_applied_torque() -> None:
    b = _backend(1)
    b.set_motor_strength(torch.tensor([0, 1]), torch.tensor([1.0, 1.1]))
    b._qpos[:, b._jq] += 0.05  # the same small tracking error in both envs, below the effort limit
    b.batch.forward(np.arange(2))
    torque = torch.from_numpy(b.batch.bind("actuator_force").copy())
    assert torque[0].abs().min() > 0.1 and torque[0].abs().max() < b.effort_limit.min()
    assert torch.allclose(torque[1], 1.1 * torque[0], rtol=1e-6)
