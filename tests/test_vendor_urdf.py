"""Vendor-style URDFs fail at load time with the fix in one line: a massless dummy root, a watched body without
collision geoms, missing collision meshes, and randomization ranges that would make a mass or a friction negative."""

from __future__ import annotations

import struct

import mujoco
import pytest

from envs.locomotion.env import LocomotionEnv
from envs.robots.a1 import a1_env_cfg
from legged_snn.sim.model import ModelCfg, ModelError, build_model

LEG = """
  <joint name="hip" type="revolute"><parent link="trunk"/><child link="leg"/><origin xyz="0 0 -0.1"/>
    <axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="10" velocity="10"/></joint>
  <link name="leg"><inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/>
    </inertial><collision><geometry>{leg_geometry}</geometry></collision></link>
  <joint name="foot_fixed" type="fixed"><parent link="leg"/><child link="foot"/><origin xyz="0 0 -0.2"/></joint>
  <link name="foot">{foot_collision}</link>
"""
TRUNK = """<link name="trunk"><inertial><mass value="5"/>
    <inertia ixx="0.1" iyy="0.1" izz="0.1" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><geometry><box size="0.3 0.2 0.1"/></geometry></collision></link>"""


def _urdf(tmp_path, dummy_root: bool, leg_geometry: str = '<box size="0.02 0.02 0.2"/>',
          foot_collision: bool = True) -> str:
    root = ('<link name="base"/>\n  <joint name="base_fixed" type="fixed"><parent link="base"/>'
            '<child link="trunk"/></joint>')
    sphere = '<collision><geometry><sphere radius="0.02"/></geometry></collision>'
    leg = LEG.format(leg_geometry=leg_geometry, foot_collision=sphere if foot_collision else "")
    body = f'<robot name="vendor">\n  {root if dummy_root else ""}\n  {TRUNK}\n{leg}</robot>'
    path = tmp_path / "vendor.urdf"
    path.write_text(body)
    return str(path)


def _cfg(urdf: str, contact: list[str]) -> ModelCfg:
    return ModelCfg(urdf=urdf, joint_names=["hip"], foot_bodies=["foot"], contact_bodies=contact)


def test_the_plain_robot_builds(tmp_path):
    model, info = build_model(_cfg(_urdf(tmp_path, dummy_root=False), ["trunk"]))
    assert info.total_mass == pytest.approx(6.0, abs=0.05)  # + the foot sphere's mass from its volume


def test_a_watched_body_without_geoms_names_the_ones_with_geoms(tmp_path):
    with pytest.raises(ModelError, match=r"foot body\(s\) \['foot'\] have no collision geoms.*'leg', 'trunk'") as e:
        build_model(_cfg(_urdf(tmp_path, dummy_root=False, foot_collision=False), ["trunk"]))
    assert "\n" not in str(e.value)
    # the vendor A1's termination on its dummy "base": told which body to watch instead
    with pytest.raises(ModelError, match=r"'base' is a massless dummy link, folded into 'trunk'; watch 'trunk'"):
        build_model(_cfg(_urdf(tmp_path, dummy_root=True), ["base"]))


def test_a_massless_dummy_root_is_folded_into_the_trunk(tmp_path, capsys):
    model, info = build_model(_cfg(_urdf(tmp_path, dummy_root=True), ["trunk"]))
    assert "root link 'base' has no mass; the free joint goes on 'trunk'" in capsys.readouterr().out
    assert model.body(info.root_body_id).name == "trunk" and "base" not in [model.body(i).name
                                                                          for i in range(model.nbody)]
    assert info.total_mass == pytest.approx(6.0, abs=0.05)
    # a fall on the trunk is seen by its contact sensor: drop it upside down onto the floor
    data = mujoco.MjData(model)
    data.qpos[:3], data.qpos[3:7] = (0, 0, 0.2), (0, 1, 0, 0)
    for _ in range(200):
        mujoco.mj_step(model, data)
    assert data.sensor("contact_trunk").data[0] > 0


def _cube_stl(path, half: float = 0.02) -> None:
    """A binary STL cube (12 triangles), as a vendor's meshes/ folder would hold."""
    v = [(x, y, z) for x in (-half, half) for y in (-half, half) for z in (-half, half)]
    faces = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1), (2, 3, 7), (2, 7, 6), (0, 2, 6),
             (0, 6, 4), (1, 5, 7), (1, 7, 3)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"\0" * 80 + struct.pack("<I", len(faces)))
        for tri in faces:
            f.write(struct.pack("<3f", 0, 0, 0) + b"".join(struct.pack("<3f", *v[i]) for i in tri) + b"\0\0")


def _mesh_urdf(tmp_path, filename: str) -> str:
    """The vendor layout: robot/urdf/vendor.urdf next to robot/meshes/."""
    _urdf(tmp_path, dummy_root=False, leg_geometry=f'<mesh filename="{filename}"/>')
    (tmp_path / "urdf").mkdir()
    return str((tmp_path / "vendor.urdf").rename(tmp_path / "urdf" / "vendor.urdf"))


@pytest.mark.parametrize("filename", ["../meshes/calf.stl", "package://vendor_description/meshes/calf.stl",
                                      "calf.stl", "file://{root}/meshes/calf.stl"])
def test_collision_meshes_load_when_they_are_there(tmp_path, filename):
    _cube_stl(tmp_path / "meshes" / "calf.stl")
    filename = filename.format(root=tmp_path)
    model, _ = build_model(_cfg(_mesh_urdf(tmp_path, filename), ["trunk"]))
    assert model.nmesh == 1 and model.geom_type[model.body_geomadr[model.body("leg").id]] == mujoco.mjtGeom.mjGEOM_MESH


def test_meshdir_points_at_meshes_elsewhere(tmp_path):
    _cube_stl(tmp_path / "elsewhere" / "calf.stl")
    cfg = _cfg(_mesh_urdf(tmp_path, "package://vendor_description/meshes/calf.stl"), ["trunk"])
    with pytest.raises(ModelError, match="not found"):
        build_model(cfg)
    cfg.meshdir = str(tmp_path / "elsewhere")
    assert build_model(cfg)[0].nmesh == 1


def test_missing_collision_meshes_name_the_file_and_the_two_fixes(tmp_path):
    urdf = _mesh_urdf(tmp_path, "../meshes/calf.stl")
    with pytest.raises(ModelError, match=r"mesh '../meshes/calf.stl' not found.*set robot.meshdir.*primitive") as e:
        build_model(_cfg(urdf, ["trunk"]))
    assert "\n" not in str(e.value)


def test_a_collada_mesh_is_refused_with_the_conversion(tmp_path):
    _cube_stl(tmp_path / "meshes" / "calf.dae")  # the bytes do not matter: MuJoCo has no .dae decoder
    with pytest.raises(ModelError, match=r"'../meshes/calf.dae' is .dae, which MuJoCo cannot read.*convert") as e:
        build_model(_cfg(_mesh_urdf(tmp_path, "../meshes/calf.dae"), ["trunk"]))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("field, value, needle", [
    ("added_mass_range", (-6.0, 1.0), "can make the root body's mass (4.71 kg) <= 0"),
    ("friction_range", (-0.2, 1.0), "draws negative friction"),
])
def test_randomization_that_breaks_physics_is_refused(field, value, needle):
    cfg = a1_env_cfg()
    cfg.env.num_envs = 2
    cfg.domain_rand.randomize_base_mass = True
    setattr(cfg.domain_rand, field, value)
    with pytest.raises(ValueError, match=f"domain_rand.{field}") as e:
        LocomotionEnv(cfg)
    assert needle in str(e.value)
