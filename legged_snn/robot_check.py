"""Check a robot description before training on it: what the env will see, and every problem with its fix.

    python -m legged_snn.robot_check resources/urdf/a1/a1.urdf --task a1_flat [--json]

Loads the URDF the way the env does and reports the links (mass, inertia), the root link (where the free joint
goes), the joints (limits, effort), the total mass and, with ``--task``, the task's feet and watched bodies with
their collision geoms and the base height standing at the task's q0 after 2 s of PD settling on flat ground (the
number docs/new_robot.md asks for). Exit 0 when no problem is found, 1 otherwise, 2 for bad flags.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import mujoco
import numpy as np

from legged_snn.sim.model import ModelError, build_model, load_urdf, repo_path

SETTLE_S = 2.0  # seconds of PD settling before the standing height is read


def _links(spec: mujoco.MjSpec) -> list[dict]:
    out = []
    for b in spec.bodies:
        if b.name == "world":
            continue
        kinds = [mujoco.mjtGeom(g.type).name.removeprefix("mjGEOM_").lower() for g in b.geoms]
        out.append({"name": b.name, "mass_kg": round(float(b.mass), 4),
                    "inertia_diag": [round(float(x), 6) for x in b.inertia], "collision_geoms": kinds})
    return out


def _joints(spec: mujoco.MjSpec) -> list[dict]:
    out = []
    for j in spec.joints:
        limited = j.limited != mujoco.mjtLimited.mjLIMITED_FALSE and j.range[0] < j.range[1]
        out.append({"name": j.name, "type": mujoco.mjtJoint(j.type).name.removeprefix("mjJNT_").lower(),
                    "range": [float(j.range[0]), float(j.range[1])] if limited else None,
                    "effort": float(j.actfrcrange[1]) if j.actfrclimited else None})
    return out


def _urdf_problems(links: list[dict], joints: list[dict], roots: list[str]) -> list[str]:
    problems = []
    if len(roots) != 1:
        problems.append(f"{len(roots)} root links {roots}: give the URDF one root (the base or pelvis)")
    for j in joints:
        if j["type"] == "hinge" and j["effort"] is None:
            problems.append(f"joint {j['name']} has no effort limit: add <limit effort=...>")
        if j["type"] == "hinge" and j["range"] is None:
            problems.append(f"joint {j['name']} has no position limits: add <limit lower=... upper=...>")
    return problems


def _standing_height(model: mujoco.MjModel, info, q0: np.ndarray, init_pos) -> float:
    """Base height (m) above the floor after SETTLE_S of PD control to ``q0`` from ``init_pos``."""
    data = mujoco.MjData(model)
    data.qpos[:3], data.qpos[3:7] = init_pos, (1, 0, 0, 0)
    data.qpos[info.joint_qpos_adr] = q0
    data.ctrl[:] = q0
    for _ in range(int(round(SETTLE_S / model.opt.timestep))):
        mujoco.mj_step(model, data)
    return float(data.qpos[2])


def _task_report(urdf: str, task: str, env_cfg, meshdir: str | None) -> tuple[dict, list[str]]:
    from envs.locomotion.env import model_cfg

    env_cfg.robot.urdf, env_cfg.robot.meshdir = urdf, meshdir
    env_cfg.terrain = None  # flat ground for the standing height
    r = env_cfg.robot
    try:
        model, info = build_model(model_cfg(env_cfg))
    except (ModelError, ValueError) as exc:
        return {"task": task}, [f"{str(exc).splitlines()[0]}"]
    watched = {"feet": list(r.foot_bodies), "penalized": list(r.penalize_contacts_on),
               "terminating": list(r.terminate_after_contacts_on)}
    geoms = {name: int(model.body_geomnum[model.body(name).id]) for names in watched.values() for name in names}
    q0 = np.array([r.default_joint_pos[j] for j in r.joint_names])
    height = _standing_height(model, info, q0, r.init_pos)
    report = {"task": task, "watched_bodies": watched, "collision_geoms_per_watched_body": geoms,
              "standing_height_m": round(height, 4), "init_pos_z_m": float(r.init_pos[2])}
    problems = []
    if height < 0.5 * float(r.init_pos[2]) - 0.05:
        problems.append(f"after {SETTLE_S:g} s at q0 the base is at {height:.3f} m, far below the spawn height "
                        f"{r.init_pos[2]:.3f} m: it fell or folded; check robot.default_joint_pos and the gains")
    return report, problems


def check(urdf: str, task: str | None = None, meshdir: str | None = None) -> dict:
    """The report as a dict: ``problems`` lists each problem with its fix (empty when none is found)."""
    env_cfg = None
    if task:
        import envs.tasks  # noqa: F401  (registers the tasks)
        from legged_snn.registry import load

        env_cfg = load(task)[0]
        meshdir = meshdir if meshdir is not None else env_cfg.robot.meshdir  # as training would use it
    mesh_problems: list[str] = []
    try:
        spec = load_urdf(urdf, meshdir, mesh_problems)
    except ModelError as exc:
        return {"urdf": urdf, "problems": [str(exc)]}
    links, joints = _links(spec), _joints(spec)
    roots = [b.name for b in spec.worldbody.bodies]
    report = {"urdf": repo_path(urdf), "root_link": roots[0] if len(roots) == 1 else roots,
              "free_joint_on": roots[0] if len(roots) == 1 else None, "links": links, "joints": joints,
              "collision_meshes": [m.file for m in spec.meshes]}
    problems = _urdf_problems(links, joints, roots) + mesh_problems
    report["notes"] = [f"link {link['name']} collides with a mesh: it loads, but primitive shapes (box, capsule, "
                       "sphere) collide several times faster" for link in links if "mesh" in link["collision_geoms"]]
    root = next((link for link in links if len(roots) == 1 and link["name"] == roots[0]), None)
    if root and root["mass_kg"] <= 0 and not root["collision_geoms"]:  # model.py folds it (vendor URDFs)
        child = [b.name for b in spec.worldbody.bodies[0].bodies]
        report["notes"] += [f"root link {root['name']} has no mass and no geoms: the loader makes its child {child} "
                           "the root (the free joint goes there); watch that body, not the dummy"]
        report["free_joint_on"] = child[0] if len(child) == 1 else None
    try:
        model = spec.compile()
        report["total_mass_kg"] = round(float(model.body_subtreemass[0]), 4)
    except Exception as exc:  # mujoco's compile error (a mesh problem is already listed)
        if not mesh_problems:
            problems.append(f"MuJoCo cannot compile it: {str(exc).strip().splitlines()[0]}")
    if task:
        extra, task_problems = _task_report(urdf, task, env_cfg, meshdir)
        report.update(extra)
        problems += [p for p in task_problems if p not in problems]
    report["problems"] = problems
    return report


def _print(report: dict) -> None:
    print(f"URDF {report['urdf']}")
    if "links" in report:
        print(f"root link {report['root_link']!r}; the free joint goes on {report['free_joint_on']!r}; total mass "
              f"{report.get('total_mass_kg', '?')} kg")
        for link in report["links"]:
            print(f"  link {link['name']:<28} {link['mass_kg']:8.3f} kg  geoms {link['collision_geoms']}")
        for mesh in report["collision_meshes"]:
            print(f"  collision mesh {mesh}")
        for j in report["joints"]:
            print(f"  joint {j['name']:<27} {j['type']:<6} range {j['range']}  effort {j['effort']}")
    if "standing_height_m" in report:
        print(f"task {report['task']}: standing height at q0 after {SETTLE_S:g} s: {report['standing_height_m']} m")
        for name, n in report["collision_geoms_per_watched_body"].items():
            print(f"  watched body {name:<24} {n} collision geom(s)")
    for note in report.get("notes", []):
        print(f"note: {note}")
    for p in report["problems"]:
        print(f"problem: {p}")
    print("no problems found" if not report["problems"] else f"{len(report['problems'])} problem(s)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m legged_snn.robot_check", description=__doc__.splitlines()[0])
    p.add_argument("urdf", help="the robot's URDF")
    p.add_argument("--task", help="a registered task whose robot config (joints, feet, q0, gains) to check with it")
    p.add_argument("--meshdir", help="folder of the URDF's collision meshes (default: next to it, meshes/, ../meshes/)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = p.parse_args(argv)
    if args.task:
        import envs.tasks  # noqa: F401
        from legged_snn.registry import task_names

        if args.task not in task_names():
            p.error(f"unknown task {args.task!r}; known tasks: {', '.join(task_names())}")
    report = check(args.urdf, args.task, args.meshdir)
    if args.json:
        print(json.dumps(report, default=lambda o: dataclasses.asdict(o) if dataclasses.is_dataclass(o) else str(o)))
    else:
        _print(report)
    return 0 if not report["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
