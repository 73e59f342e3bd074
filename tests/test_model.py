"""URDF -> MuJoCo model: joints, limits, masses, sensors, actuators, and clear errors."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest

from envs.locomotion.env import model_cfg
from legged_snn.sim.model import ModelError, build_model


def _urdf_joints(path: str) -> dict[str, ET.Element]:
    return {j.get("name"): j for j in ET.parse(path).getroot().iter("joint") if j.get("type") == "revolute"}


def test_a1_model_matches_urdf(a1_cfg, root):
    cfg = model_cfg(a1_cfg)
    model, info = build_model(cfg)
    urdf = _urdf_joints(os.path.join(root, cfg.urdf))
    assert len(urdf) == 12 and model.nu == 12
    assert model.nq == 7 + 12 and model.nv == 6 + 12  # free joint + 12 hinges
    for i, name in enumerate(cfg.joint_names):
        lim = urdf[name].find("limit")
        assert info.joint_range[i] == pytest.approx([float(lim.get("lower")), float(lim.get("upper"))])
        assert info.effort_limit[i] == pytest.approx(float(lim.get("effort")))
        act = model.actuator(name)
        assert act.gainprm[0] == pytest.approx(20.0) and act.biasprm[2] == pytest.approx(-0.5)
    assert info.total_mass == pytest.approx(12.454, abs=1e-3)  # ROBOT_FACTS: A1 total mass
    for foot in cfg.foot_bodies:
        body = model.body(foot)
        assert model.body_mass[body.id] == pytest.approx(0.06)
        geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body.id]
        assert [model.geom_type[g] for g in geoms] == [mujoco.mjtGeom.mjGEOM_SPHERE]
    for s in ("imu_quat", "imu_gyro", "imu_linvel", "contact_FR_foot", "contact_base"):
        assert model.sensor(s).id >= 0


def test_model_stands_on_its_feet(a1_cfg):
    cfg = model_cfg(a1_cfg)
    model, info = build_model(cfg)
    data = mujoco.MjData(model)
    q0 = np.array([a1_cfg.robot.default_joint_pos[j] for j in cfg.joint_names])
    data.qpos[info.joint_qpos_adr] = q0
    data.ctrl[:] = q0
    for _ in range(300):
        mujoco.mj_step(model, data)
    assert 0.2 < data.qpos[2] < 0.32  # A1 stand height ~0.29 m at q0, a little sag with Kp 20
    feet_z = data.xpos[info.foot_body_ids, 2]
    assert np.all(feet_z < 0.03)


def test_missing_foot_is_named(a1_cfg):
    cfg = model_cfg(a1_cfg)
    cfg.foot_bodies = ["FR_foot", "XX_toe"]
    with pytest.raises(ModelError, match="XX_toe"):
        build_model(cfg)


def test_missing_joint_is_named(a1_cfg):
    cfg = model_cfg(a1_cfg)
    cfg.joint_names = list(cfg.joint_names[:-1]) + ["RL_knee_joint"]
    with pytest.raises(ModelError, match="RL_knee_joint"):
        build_model(cfg)


def test_broken_urdf_fails_in_one_line(a1_cfg, tmp_path):
    bad = tmp_path / "bad.urdf"
    bad.write_text("<robot name='x'><link name='a'></robot>")
    cfg = model_cfg(a1_cfg)
    cfg.urdf = str(bad)
    with pytest.raises(ModelError, match="failed to parse") as err:
        build_model(cfg)
    assert "\n" not in str(err.value)


def test_joint_without_effort_limit_is_named(a1_cfg, tmp_path, root):
    text = open(os.path.join(root, "resources/urdf/a1/a1.urdf")).read()
    text = text.replace('effort="20" velocity="52.4"', 'velocity="52.4"', 1)
    path = tmp_path / "a1.urdf"
    path.write_text(text)
    cfg = model_cfg(a1_cfg)
    cfg.urdf = str(path)
    with pytest.raises(ModelError, match="FR_hip_joint has no effort limit"):
        build_model(cfg)
