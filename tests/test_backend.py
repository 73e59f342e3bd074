"""The Batch backend against a plain MjData loop on the same model, and per-env randomization."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from envs.locomotion.env import model_cfg
from legged_snn.sim.mujoco_cpu import MujocoCpuBackend


def _reset_all(backend: MujocoCpuBackend, q0: torch.Tensor, n: int) -> None:
    pose = torch.zeros(n, 7)
    pose[:, 2] = 0.35
    pose[:, 3] = 1.0
    vel = torch.zeros(n, 6)
    vel[:, 0] = torch.linspace(-0.3, 0.3, n)
    backend.reset(torch.arange(n), pose, vel, q0.repeat(n, 1), torch.zeros(n, 12))


def test_backend_matches_mjdata_loop(a1_cfg):
    n, k = 3, 25
    cfg = model_cfg(a1_cfg)
    backend = MujocoCpuBackend(cfg, n, decimation=4, nthread=2)
    q0 = torch.tensor([a1_cfg.robot.default_joint_pos[j] for j in cfg.joint_names])
    _reset_all(backend, q0, n)
    gen = torch.Generator().manual_seed(0)
    targets = [q0 + 0.2 * torch.randn(n, 12, generator=gen) for _ in range(k)]

    model = backend.model
    datas = []
    for i in range(n):
        d = mujoco.MjData(model)
        d.qpos[:] = backend._qpos[i].numpy()
        d.qvel[:] = backend._qvel[i].numpy()
        datas.append(d)
    for t in range(k):
        backend.step(targets[t])
        for i, d in enumerate(datas):
            d.ctrl[:] = targets[t][i].double().numpy()
            for _ in range(4):
                mujoco.mj_step(model, d)
    for i, d in enumerate(datas):
        np.testing.assert_allclose(backend._qpos[i].numpy(), d.qpos, atol=1e-9)
        np.testing.assert_allclose(backend._qvel[i].numpy(), d.qvel, atol=1e-7)
    s = backend.state
    assert s.joint_pos[:, 0].numpy() == pytest.approx(np.array([d.qpos[7] for d in datas]), abs=1e-6)
    # the free joint gives world linear velocity; the state holds it in the base frame
    R = np.zeros(9)
    mujoco.mju_quat2Mat(R, datas[0].qpos[3:7])
    R = R.reshape(3, 3)
    np.testing.assert_allclose(s.base_lin_vel[0].numpy(), R.T @ datas[0].qvel[:3], atol=1e-5)


def test_reset_touches_only_selected_envs(a1_cfg):
    cfg = model_cfg(a1_cfg)
    backend = MujocoCpuBackend(cfg, 4, decimation=4, nthread=1)
    q0 = torch.tensor([a1_cfg.robot.default_joint_pos[j] for j in cfg.joint_names])
    _reset_all(backend, q0, 4)
    for _ in range(5):
        backend.step(q0.repeat(4, 1))
    before = backend._qpos.clone()
    pose = torch.tensor([[1.0, 2.0, 0.5, 1.0, 0.0, 0.0, 0.0]])
    backend.reset(torch.tensor([2]), pose, torch.zeros(1, 6), q0[None], torch.zeros(1, 12))
    assert torch.equal(backend._qpos[[0, 1, 3]], before[[0, 1, 3]])
    assert backend.state.base_pos[2].tolist() == pytest.approx([1.0, 2.0, 0.5])


def test_friction_and_mass_change_each_env(a1_cfg):
    cfg = model_cfg(a1_cfg)
    backend = MujocoCpuBackend(cfg, 3, decimation=4, nthread=1)
    ids = torch.arange(3)
    backend.set_friction(ids, torch.tensor([0.05, 0.6, 1.2]))
    backend.set_added_mass(ids, torch.tensor([-1.0, 0.0, 2.0]))
    root = backend.info.root_body_id
    masses = [backend.batch.get_model(i).body_mass[root] for i in range(3)]
    nominal = backend.model.body_mass[root]
    assert masses == pytest.approx([nominal - 1.0, nominal, nominal + 2.0])
    assert [backend.batch.get_model(i).geom_friction[0, 0] for i in range(3)] == pytest.approx([0.05, 0.6, 1.2])
    assert backend.get_added_mass().tolist() == pytest.approx([-1.0, 0.0, 2.0])
    # physics follows: a robot standing still pushes harder on its feet when heavier, slides on ice
    q0 = torch.tensor([a1_cfg.robot.default_joint_pos[j] for j in cfg.joint_names])
    _reset_all(backend, q0, 3)
    vel = torch.zeros(3, 6)
    backend.reset(ids, torch.tensor([[0, 0, 0.3, 1, 0, 0, 0.0]] * 3), vel, q0.repeat(3, 1), torch.zeros(3, 12))
    for _ in range(50):
        backend.step(q0.repeat(3, 1))
    fz = backend.state.contact_force[:, :4, 2].sum(dim=1)
    assert fz[0] < fz[1] < fz[2]
    backend.push(ids, torch.tensor([[1.0, 0.0]] * 3))
    for _ in range(10):
        backend.step(q0.repeat(3, 1))
    slide = backend.state.base_pos[:, 0]
    assert slide[0] > slide[2] + 0.02  # low friction: the push carries the robot farther
