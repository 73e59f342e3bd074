"""Each reward term on hand-made state, against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from envs.locomotion import rewards as R
from envs.locomotion.config import RewardsCfg
from legged_snn.sim.backend import SimState


def _inputs(**over) -> R.RewardInputs:
    n, j, f = 2, 3, 2
    sim = SimState.zeros(n, j, f, f + 2)
    base = dict(
        sim=sim, commands=torch.zeros(n, 3), actions=torch.zeros(n, j), last_actions=torch.zeros(n, j),
        last_joint_vel=torch.zeros(n, j), default_joint_pos=torch.zeros(j),
        soft_joint_range=torch.tensor([[-1.0, 1.0]] * j), effort_limit=torch.full((j,), 10.0),
        feet_air_time=torch.zeros(n, f), first_contact=torch.zeros(n, f, dtype=torch.bool),
        foot_contact=torch.zeros(n, f, dtype=torch.bool), penalized_ids=torch.tensor([2, 3]),
        reset_buf=torch.zeros(n, dtype=torch.bool), time_out_buf=torch.zeros(n, dtype=torch.bool), dt=0.02,
    )
    base.update(over)
    return R.RewardInputs(**base)


CFG = RewardsCfg()


def test_tracking_terms():
    s = _inputs(commands=torch.tensor([[1.0, 0.0, 0.5], [0.0, 0.0, 0.0]]))
    s.sim.base_lin_vel[0] = torch.tensor([0.5, 0.5, 0.0])
    s.sim.base_ang_vel[0, 2] = 0.0
    lin = R.tracking_lin_vel(s, CFG)
    assert lin[0].item() == pytest.approx(math.exp(-0.5 / 0.25))
    assert lin[1].item() == pytest.approx(1.0)
    assert R.tracking_ang_vel(s, CFG)[0].item() == pytest.approx(math.exp(-0.25 / 0.25))


def test_base_motion_penalties():
    s = _inputs()
    s.sim.base_lin_vel[0, 2] = 2.0
    s.sim.base_ang_vel[1] = torch.tensor([1.0, 2.0, 9.0])
    s.sim.projected_gravity[0] = torch.tensor([0.6, 0.0, -0.8])
    s.sim.base_pos[1, 2] = 0.5
    assert R.lin_vel_z(s, CFG).tolist() == pytest.approx([4.0, 0.0])
    assert R.ang_vel_xy(s, CFG).tolist() == pytest.approx([0.0, 5.0])
    assert R.orientation(s, CFG).tolist() == pytest.approx([0.36, 0.0])
    assert R.base_height(s, CFG).tolist() == pytest.approx([1.0, 0.25])  # target 1.0 m


def test_joint_penalties():
    s = _inputs(actions=torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
                last_joint_vel=torch.tensor([[0.0, 0.0, 0.0], [0.2, 0.0, 0.0]]))
    s.sim.joint_torque[0] = torch.tensor([3.0, 4.0, 12.0])
    s.sim.joint_vel[1] = torch.tensor([0.0, 1.0, 0.0])
    s.sim.joint_pos[0] = torch.tensor([1.5, -1.25, 0.0])
    assert R.torques(s, CFG).tolist() == pytest.approx([169.0, 0.0])
    assert R.dof_vel(s, CFG).tolist() == pytest.approx([0.0, 1.0])
    assert R.dof_acc(s, CFG)[1].item() == pytest.approx((0.2 / 0.02) ** 2 + (1.0 / 0.02) ** 2)
    assert R.action_rate(s, CFG).tolist() == pytest.approx([1.0, 0.0])
    assert R.dof_pos_limits(s, CFG).tolist() == pytest.approx([0.75, 0.0])
    assert R.torque_limits(s, CFG).tolist() == pytest.approx([2.0, 0.0])  # |12| - 10
    s.sim.joint_vel[0] = torch.tensor([30.5, -35.0, 0.0])
    assert R.dof_vel_limits(s, CFG)[0].item() == pytest.approx(0.5 + 1.0)  # each clipped to 1


def test_contact_terms():
    s = _inputs(penalized_ids=torch.tensor([2, 3]))
    s.sim.contact_force[0, 2] = torch.tensor([0.0, 0.0, 5.0])
    s.sim.contact_force[0, 3] = torch.tensor([0.0, 0.05, 0.0])  # below the 0.1 N threshold
    s.sim.contact_force[1, :2] = torch.tensor([[10.0, 0.0, 1.0], [0.0, 0.0, 150.0]])
    assert R.collision(s, CFG).tolist() == pytest.approx([1.0, 0.0])
    assert R.feet_stumble(s, CFG).tolist() == pytest.approx([0.0, 1.0])
    assert R.feet_contact_forces(s, CFG)[1].item() == pytest.approx(50.0, abs=1e-3)


def test_feet_air_time_rewards_long_steps_only_when_commanded():
    s = _inputs(commands=torch.tensor([[1.0, 0.0, 0.0], [0.05, 0.0, 0.0]]),
                feet_air_time=torch.tensor([[0.68, 0.2], [0.68, 0.0]]),
                first_contact=torch.tensor([[True, True], [True, False]]))
    out = R.feet_air_time(s, CFG)
    assert out[0].item() == pytest.approx((0.70 - 0.5) + (0.22 - 0.5))
    assert out[1].item() == 0.0  # |command| < 0.1: no air-time reward


def test_termination_excludes_time_outs_and_stand_still():
    s = _inputs(reset_buf=torch.tensor([True, True]), time_out_buf=torch.tensor([False, True]))
    assert R.termination(s, CFG).tolist() == [1.0, 0.0]
    s.sim.joint_pos[:] = torch.tensor([0.1, -0.2, 0.3])
    s.commands[0, 0] = 1.0
    assert R.stand_still(s, CFG).tolist() == pytest.approx([0.0, 0.6])


def test_every_term_is_registered():
    assert set(RewardsCfg().scales) <= set(R.REWARD_TERMS)
