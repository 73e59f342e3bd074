"""python -m legged_snn.robot_check: the shipped A1 passes with its standing height; vendor-style URDFs get each
problem with its fix; JSON for scripts; exit codes."""

from __future__ import annotations

import json

import pytest

from legged_snn import robot_check
from tests.test_vendor_urdf import _urdf


def test_the_a1_passes_and_reports_its_standing_height(capsys):
    assert robot_check.main(["resources/urdf/a1/a1.urdf", "--task", "a1_flat", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["problems"] == [] and report["root_link"] == "base"
    assert report["total_mass_kg"] == pytest.approx(12.454, abs=2e-3)
    assert 0.2 < report["standing_height_m"] < 0.35  # legged_gym's soft gains (kp 20) sag below the q0 geometry
    assert report["collision_geoms_per_watched_body"]["FR_foot"] == 1
    assert {j["name"] for j in report["joints"]} >= {"FR_hip_joint", "RL_calf_joint"}


def test_its_standing_height_is_the_one_the_env_measures(capsys):
    """The number docs/new_robot.md asks for is the env's own: the A1 in a1_flat, spawned at init_pos with q0, no
    pushes, noise or randomization, zero actions (targets q0) for 2 s. (The rigid q0 geometry gives 0.294-0.302 m,
    ROBOT_FACTS.md; kp 20 lets the base sag ~4 cm below that, in both.)"""
    import torch

    import envs.tasks  # noqa: F401
    from envs.locomotion.env import LocomotionEnv
    from legged_snn.registry import load

    assert robot_check.main(["resources/urdf/a1/a1.urdf", "--task", "a1_flat", "--json"]) == 0
    checked = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["standing_height_m"]
    cfg, _ = load("a1_flat")
    cfg.env.num_envs = 1
    cfg.init_state.joint_pos_scale, cfg.init_state.root_vel, cfg.init_state.root_xy = (1.0, 1.0), 0.0, 0.0
    cfg.domain_rand.push_robots = cfg.domain_rand.randomize_friction = False
    cfg.noise.add_noise = False
    env = LocomotionEnv(cfg)
    for _ in range(int(round(robot_check.SETTLE_S / env.dt))):
        env.step(torch.zeros(1, env.num_actions))
    measured = float(env.sim.base_pos[0, 2])
    assert checked == pytest.approx(measured, rel=0.05), (checked, measured)


def test_a_vendor_urdf_gets_every_problem_with_its_fix(tmp_path, capsys):
    urdf = _urdf(tmp_path, dummy_root=True, leg_geometry='<mesh filename="../meshes/calf.dae"/>')
    assert robot_check.main([urdf]) == 1
    out = capsys.readouterr().out
    assert "note: root link base has no mass and no geoms: the loader makes its child ['trunk'] the root" in out
    assert "note: link leg collides with a mesh" in out
    assert "problem: " in out and "'../meshes/calf.dae' not found" in out and "set robot.meshdir" in out
    assert "problem(s)" in out.splitlines()[-1]


def test_bad_flags_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        robot_check.main(["resources/urdf/a1/a1.urdf", "--task", "a1_flying"])
    assert e.value.code == 2 and "unknown task 'a1_flying'" in capsys.readouterr().err
    report = robot_check.check("resources/urdf/none.urdf")
    assert report["problems"] and "URDF not found" in report["problems"][0]
