"""URDF -> mujoco.MjSpec with everything a locomotion env needs, compiled to an MjModel.

Adds to the robot: a free joint on the root body, a floor, position actuators (kp, kv, force range =
URDF effort limit), IMU sensors on the root (framequat, gyro, velocimeter at site ``imu``) and one
contact sensor per named body (found count + net contact force in the world frame).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import mujoco
import numpy as np

from legged_snn.sim.terrain import Terrain

_REDUCE_NETFORCE = 3  # contact sensor reduce mode: net force and torque in the world frame


class ModelError(ValueError):
    """The robot description cannot provide what the config names."""


@dataclass
class ModelCfg:
    """What the simulator needs to know about one robot and its world."""

    urdf: str
    """Path to the URDF (absolute, or relative to the repository root)."""
    joint_names: Sequence[str]
    """Actuated joints, in action order."""
    foot_bodies: Sequence[str]
    """Bodies that touch the ground when walking (contact sensors, air time, foot positions)."""
    contact_bodies: Sequence[str] = ()
    """Other bodies whose contacts are watched (penalized or terminating)."""
    kp: Sequence[float] | float = 20.0
    """PD stiffness per joint (N m / rad)."""
    kd: Sequence[float] | float = 0.5
    """PD damping per joint (N m s / rad)."""
    sim_dt: float = 0.005
    """Physics step (s)."""
    init_pos: Sequence[float] = (0.0, 0.0, 0.42)
    """Root body spawn position (m)."""
    armature: Sequence[float] | float = 0.0
    """Rotor inertia added to each actuated joint (kg m^2): per joint, or one value for all."""
    solver_iterations: int = 10
    """Constraint solver iterations per physics step."""
    ls_iterations: int = 10
    """Line-search iterations per solver iteration."""
    floor_friction: float = 1.0
    """Sliding friction of the floor (randomized per env by the backend)."""
    meshdir: str | None = None
    """Folder holding the URDF's collision meshes (None: searched next to the URDF, in meshes/ and ../meshes/)."""
    terrain: Terrain | None = None
    """A generated heightfield (see terrain.py); None = flat plane."""
    extra: dict = field(default_factory=dict)
    """Reserved for robot-specific model edits."""


@dataclass
class ModelInfo:
    """Indices into the compiled model that backends and envs use."""

    joint_qpos_adr: np.ndarray  # (J,) qpos address of each actuated joint
    joint_dof_adr: np.ndarray  # (J,) qvel address of each actuated joint
    joint_range: np.ndarray  # (J, 2) rad
    effort_limit: np.ndarray  # (J,) N m
    foot_body_ids: np.ndarray  # (F,)
    contact_body_names: list[str]  # feet first, then contact_bodies
    total_mass: float  # kg
    root_body_id: int


def repo_path(path: str) -> str:
    """Resolve a repository-relative path (resources/...) to an absolute one."""
    if os.path.isabs(path):
        return path
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, path)


def _per_joint(value: Sequence[float] | float, n: int, name: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)) if np.ndim(value) == 0 else np.asarray(value, float)
    if arr.shape != (n,):
        raise ModelError(f"{name} has {arr.shape[0]} values for {n} joints; give one per joint or a scalar")
    return arr


def _mesh_hint(message: str) -> str:
    """MuJoCo's message, plus the two fixes when it is about a mesh file it could not open."""
    if "Error opening file" in message or "mesh" in message.lower():
        message += ("; check the mesh file (STL, OBJ or MSH; robot.meshdir says where they are) or use primitive "
                    "collision shapes (box, cylinder, sphere)")
    return message


MESH_FORMATS = (".stl", ".obj", ".msh")  # what MuJoCo decodes; vendor URDFs often carry .dae (Collada)


def _resolve_meshes(spec: mujoco.MjSpec, urdf: str, meshdir: str | None) -> list[str]:
    """Point every collision mesh at a file that exists: ``package://pkg/meshes/x.stl``, ``../meshes/x.stl`` or a bare
    name, looked up in ``meshdir`` (if given), at the path relative to the URDF, then in the URDF's meshes/ and
    ../meshes/. (MuJoCo's URDF parser drops visual geoms, so only collision meshes are needed.) Returns one line per
    mesh that cannot be used, with its fixes."""
    base, problems = os.path.dirname(urdf), []
    for mesh in spec.meshes:
        name = mesh.file
        if name.startswith("file://"):
            rel = name[len("file://"):]
        else:  # drop package://<pkg>/
            rel = name.split("://", 1)[1].split("/", 1)[-1] if "://" in name else name
        leaf = os.path.basename(rel)
        own = [os.path.join(base, spec.meshdir, p) for p in (rel, leaf)] if spec.meshdir else []  # the URDF's own
        places = ([os.path.join(repo_path(meshdir), p) for p in (rel, leaf)] if meshdir else []) + own + [
            os.path.join(base, rel), os.path.join(base, "..", rel), os.path.join(base, "meshes", leaf),
            os.path.join(base, "..", "meshes", leaf), os.path.join(base, leaf)]
        found = next((p for p in places if os.path.isfile(p)), None)
        if found is None:
            where = f"{repo_path(meshdir)}, " if meshdir else ""
            problems.append(f"URDF {urdf} collision mesh {name!r} not found (looked in {where}{base}, its meshes/ and "
                             f"../meshes/): set robot.meshdir to the folder that holds the meshes, or use primitive "
                             f"collision shapes (box, cylinder, sphere)")
            continue
        ext = os.path.splitext(found)[1].lower()
        if ext not in MESH_FORMATS:
            problems.append(f"URDF {urdf} collision mesh {name!r} is {ext}, which MuJoCo cannot read (it reads "
                             f"{', '.join(MESH_FORMATS)}): convert it (e.g. trimesh.load(path).export('x.stl')) or use "
                             f"primitive collision shapes (box, cylinder, sphere)")
        else:
            mesh.file = os.path.abspath(found)
    spec.strippath = False  # the paths are resolved: a URDF's strippath must not cut them back to file names
    return problems


def load_urdf(path: str, meshdir: str | None = None, mesh_problems: list[str] | None = None) -> mujoco.MjSpec:
    """Parse a URDF into an MjSpec with its collision meshes found (``meshdir``: where they are, None to search),
    with a one-line error for a missing or broken file or mesh (appended to ``mesh_problems`` instead, if given)."""
    full = repo_path(path)
    if not os.path.isfile(full):
        raise ModelError(f"URDF not found: {full}")
    try:
        spec = mujoco.MjSpec.from_file(full)
    except Exception as exc:  # mujoco raises ValueError with a multi-line parser message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"URDF {full} failed to parse: {_mesh_hint(first)}") from None
    spec.compiler.fusestatic = False
    problems = _resolve_meshes(spec, full, meshdir)
    if mesh_problems is None and problems:
        raise ModelError(problems[0])
    if mesh_problems is not None:
        mesh_problems.extend(problems)
    return spec


def _fold_dummy_root(spec: mujoco.MjSpec, urdf: str) -> tuple[str, str] | None:
    """A vendor URDF's massless, geomless root link fixed to the real body (legged_gym's A1: ``base`` -> ``trunk``):
    that body becomes the root and gets the free joint (said in one line); returns (dummy, body) names, or None.
    Any other massless root is an error."""
    roots = list(spec.worldbody.bodies)
    if len(roots) != 1 or roots[0].mass > 0 or roots[0].geoms:
        return None
    dummy, children = roots[0], list(roots[0].bodies)
    if len(children) != 1 or children[0].joints:
        raise ModelError(f"URDF {urdf} root link {dummy.name!r} has no mass and no geoms and is not fixed to one "
                         f"body (children {[b.name for b in children]}); make the real body the root")
    name, child, child_name = dummy.name, children[0], children[0].name
    spec.copy_during_attach = True
    frame = spec.worldbody.add_frame()
    frame.pos, frame.quat = dummy.pos, dummy.quat
    frame.attach_body(child, "", "")  # a copy under the world, names kept
    spec.delete(dummy)
    print(f"note: URDF {urdf}: root link {name!r} has no mass; the free joint goes on {child_name!r}, fixed to it")
    return name, child_name


def build_spec(cfg: ModelCfg) -> mujoco.MjSpec:
    """Return the full simulation spec for one robot (not yet compiled)."""
    spec = load_urdf(cfg.urdf, cfg.meshdir)
    folded = _fold_dummy_root(spec, cfg.urdf)
    bodies = {b.name: b for b in spec.bodies}
    joints = {j.name: j for j in spec.joints}
    missing = [j for j in cfg.joint_names if j not in joints]
    if missing:
        raise ModelError(f"URDF {cfg.urdf} lacks joint(s) {missing} (fixed joints cannot be actuated); its movable "
                         f"joints are {sorted(joints)}")
    for kind, names in (("foot body", cfg.foot_bodies), ("contact body", cfg.contact_bodies)):
        lost = [b for b in names if b not in bodies]
        if folded and folded[0] in lost:
            raise ModelError(f"URDF {cfg.urdf} {kind}(s) {lost}: {folded[0]!r} is a massless dummy link, folded into "
                             f"{folded[1]!r}; watch {folded[1]!r} instead")
        if lost:
            have = sorted(b for b in bodies if b != "world")
            raise ModelError(f"URDF {cfg.urdf} lacks {kind}(s) {lost}; it has {have}")
    with_geoms = sorted(b.name for b in spec.bodies if b.name != "world" and len(b.geoms) > 0)
    for kind, names in (("foot body", cfg.foot_bodies), ("contact body", cfg.contact_bodies)):
        bare = [b for b in names if not bodies[b].geoms]
        if bare:  # e.g. a vendor URDF's massless root fixed to the real trunk: its contacts are never seen
            raise ModelError(f"URDF {cfg.urdf} {kind}(s) {bare} have no collision geoms, so their contacts are never "
                             f"seen; name bodies that have them: {with_geoms}")
    roots = [b for b in spec.worldbody.bodies]
    if len(roots) != 1:
        raise ModelError(f"URDF {cfg.urdf} must have one root link, found {[b.name for b in roots]}")
    root = roots[0]
    root.pos = list(cfg.init_pos)
    root.add_freejoint(name="root")
    root.add_site(name="imu", pos=[0, 0, 0], size=[0.01, 0, 0])

    spec.option.timestep = cfg.sim_dt
    spec.option.iterations = cfg.solver_iterations
    spec.option.ls_iterations = cfg.ls_iterations
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
    spec.option.disableflags |= mujoco.mjtDisableBit.mjDSBL_EULERDAMP

    for g in spec.geoms:  # robot geoms collide with the world only, never with each other
        g.contype, g.conaffinity, g.condim = 1, 0, 3
        if g.type == mujoco.mjtGeom.mjGEOM_CYLINDER:  # as legged_gym loads them (replace_cylinder_with_capsule):
            g.type = mujoco.mjtGeom.mjGEOM_CAPSULE  # same radius and half-length, plus round caps
    _add_ground(spec, cfg)

    kp = _per_joint(cfg.kp, len(cfg.joint_names), "kp")
    kd = _per_joint(cfg.kd, len(cfg.joint_names), "kd")
    armature = _per_joint(cfg.armature, len(cfg.joint_names), "armature")
    for i, name in enumerate(cfg.joint_names):
        joint = joints[name]
        lo, hi = joint.actfrcrange
        if not joint.actfrclimited or hi <= 0:
            raise ModelError(f"URDF {cfg.urdf} joint {name} has no effort limit; add <limit effort=...>")
        if joint.limited == mujoco.mjtLimited.mjLIMITED_FALSE or joint.range[0] >= joint.range[1]:
            raise ModelError(f"URDF {cfg.urdf} joint {name} has no position limits; add <limit lower=... upper=...>")
        joint.armature = armature[i]
        act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=kp[i], kv=kd[i])
        act.forcelimited = True
        act.forcerange = [lo, hi]

    spec.add_sensor(name="imu_quat", type=mujoco.mjtSensor.mjSENS_FRAMEQUAT, objtype=mujoco.mjtObj.mjOBJ_SITE,
                    objname="imu")
    spec.add_sensor(name="imu_gyro", type=mujoco.mjtSensor.mjSENS_GYRO, objtype=mujoco.mjtObj.mjOBJ_SITE,
                    objname="imu")
    spec.add_sensor(name="imu_linvel", type=mujoco.mjtSensor.mjSENS_VELOCIMETER, objtype=mujoco.mjtObj.mjOBJ_SITE,
                    objname="imu")
    fields = mujoco.mjtConDataField
    found_force = (1 << int(fields.mjCONDATA_FOUND)) | (1 << int(fields.mjCONDATA_FORCE))
    for name in list(cfg.foot_bodies) + list(cfg.contact_bodies):
        spec.add_sensor(name=f"contact_{name}", type=mujoco.mjtSensor.mjSENS_CONTACT,
                        objtype=mujoco.mjtObj.mjOBJ_BODY, objname=name,
                        intprm=[found_force, _REDUCE_NETFORCE, 1])
    return spec


def _add_ground(spec: mujoco.MjSpec, cfg: ModelCfg) -> None:
    """A flat plane, or the terrain heightfield when cfg.terrain is set."""
    if cfg.terrain is None:
        floor = spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05])
    else:
        floor = _add_hfield(spec, cfg.terrain)
    floor.contype, floor.conaffinity, floor.condim = 0, 1, 3
    floor.friction = [cfg.floor_friction, 0.005, 0.0001]
    _add_looks(spec, floor)


def _add_looks(spec: mujoco.MjSpec, floor: mujoco.MjsGeom) -> None:
    """Visual only (no effect on physics): a checker floor, a sky gradient and a sun, for videos and the viewer."""
    spec.compiler.discardvisual = False  # it would drop these assets; our URDFs carry no visual geoms anyway
    T, B = mujoco.mjtTexture, mujoco.mjtBuiltin
    spec.add_texture(name="sky", type=T.mjTEXTURE_SKYBOX, builtin=B.mjBUILTIN_GRADIENT, rgb1=[0.55, 0.7, 0.9],
                     rgb2=[0.1, 0.15, 0.25], width=256, height=256)
    spec.add_texture(name="checker", type=T.mjTEXTURE_2D, builtin=B.mjBUILTIN_CHECKER, rgb1=[0.25, 0.32, 0.4],
                     rgb2=[0.15, 0.2, 0.27], width=256, height=256, mark=mujoco.mjtMark.mjMARK_EDGE,
                     markrgb=[0.6, 0.6, 0.6])
    mat = spec.add_material(name="ground", texrepeat=[1, 1], texuniform=True, reflectance=0.05)
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "checker"
    floor.material = "ground"
    spec.worldbody.add_light(name="sun", pos=[0, 0, 10], dir=[0.3, 0.3, -1],
                             type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, diffuse=[0.8, 0.8, 0.8],
                             specular=[0.2, 0.2, 0.2], castshadow=True)
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]


def _add_hfield(spec: mujoco.MjSpec, terrain: Terrain) -> mujoco.MjsGeom:
    """The terrain as one hfield geom whose cell centres sit at the world positions terrain.py gives them."""
    h = terrain.heights
    lo, hi = float(h.min()), float(h.max())
    span = max(hi - lo, 1e-3)
    sx, sy = terrain.size
    # MuJoCo's hfield: nrow along y, ncol along x, elevation = data * size[2] above the geom
    spec.add_hfield(name="terrain", size=[sx / 2, sy / 2, span, 1.0], nrow=h.shape[1], ncol=h.shape[0],
                    userdata=((h.T - lo) / span).astype(np.float32).ravel().tolist())
    b = terrain.cfg.border_size
    return spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_HFIELD, hfieldname="terrain",
                                   pos=[sx / 2 - b, sy / 2 - b, lo])


def build_model(cfg: ModelCfg) -> tuple[mujoco.MjModel, ModelInfo]:
    """Compile the simulation model and collect the indices the backend needs."""
    spec = build_spec(cfg)
    try:
        model = spec.compile()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0]
        raise ModelError(f"model from {cfg.urdf} failed to compile: {_mesh_hint(first)}") from None
    jids = [model.joint(n).id for n in cfg.joint_names]
    info = ModelInfo(
        joint_qpos_adr=model.jnt_qposadr[jids].copy(),
        joint_dof_adr=model.jnt_dofadr[jids].copy(),
        joint_range=model.jnt_range[jids].copy(),
        effort_limit=model.actuator_forcerange[:, 1].copy(),
        foot_body_ids=np.array([model.body(n).id for n in cfg.foot_bodies]),
        contact_body_names=list(cfg.foot_bodies) + list(cfg.contact_bodies),
        total_mass=float(model.body_subtreemass[0]),
        root_body_id=int(model.joint("root").bodyid[0]),
    )
    return model, info
