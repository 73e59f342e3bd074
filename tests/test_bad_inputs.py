"""Every bad input gets one clear line on stderr, a non-zero exit, and leaves the log tree as it was.

Config-level mistakes (a broken URDF, a missing foot, bad neuron constants, terrain proportions, a negative
time step) are made the way a user makes them: a task registered in their own script, then train.py's main.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

USER_TASK = """
import json, sys
sys.path.insert(0, {root!r})
import envs.tasks
from legged_snn.registry import load, register_task
spec = json.loads(sys.argv[1])

def put(cfg, path, value):
    *head, last = path.split(".")
    for name in head:
        cfg = getattr(cfg, name) if not isinstance(cfg, dict) else cfg[name]
    if isinstance(cfg, dict):
        cfg[last] = value
    else:
        setattr(cfg, last, type(getattr(cfg, last))(value) if isinstance(getattr(cfg, last), tuple) else value)

def env_fn():
    e, _ = load(spec["base"])
    for k, v in spec.get("env", {{}}).items():
        put(e, k, v)
    return e

def train_fn():
    _, t = load(spec["base"])
    for k, v in spec.get("train", {{}}).items():
        put(t, k, v)
    return t

register_task("user_task", env_fn, train_fn)
import train
sys.exit(train.main(sys.argv[2:]))
"""


def run(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, script, *args], cwd=ROOT, env=e, capture_output=True, text=True,
                          timeout=300)


def user_task(spec: dict, logs, *args: str) -> subprocess.CompletedProcess:
    code = USER_TASK.format(root=ROOT)
    e = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code, json.dumps(spec), "--task=user_task", "--num_envs=4",
                           "--max_iterations=1", f"--log_root={logs}", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=300)


def tree(path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs)


def assert_clean(res: subprocess.CompletedProcess, logs, before: list[str], *needles: str) -> None:
    assert res.returncode != 0, res.stdout[-500:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr[-2000:]
    for n in needles:
        assert n in lines[0], lines[0]
    assert tree(logs) == before


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """A log root with one finished a1_flat MLP run."""
    root = tmp_path_factory.mktemp("logs")
    res = run("train.py", "--task=a1_flat", "--num_envs=8", "--max_iterations=1", "--actor=mlp", f"--log_root={root}")
    assert res.returncode == 0, res.stderr[-2000:]
    return root


def _run_dir(logs) -> str:
    return os.path.join(logs, "a1_flat", sorted(os.listdir(logs / "a1_flat"))[0])


@pytest.mark.parametrize("script, args, needles", [
    ("train.py", ["--task=a1_flying"], ["unknown task 'a1_flying'", "a1_rough"]),
    ("train.py", ["--num_envs=many"], ["--num_envs", "many"]),
    ("train.py", ["--num_envs=100000000"], ["num_envs=100000000 needs about", "at most about"]),
    ("train.py", ["--sim_device=cuda:0"], ["cuda:0"]),
    ("train.py", ["--gait=gallop"], ["gait_prior.mode must be none, trot, pace, bound, walk or alternate", "gallop"]),
    ("train.py", ["--task=cassie_flat", "--gait=trot"], ["the gait prior maps legs of", "use --gait none"]),
    ("train.py", ["--gait=trot", "--cfg", "gait_prior.stance_fraction=1"], ["stance_fraction must be in (0, 1)"]),
    ("train.py", ["--gait=trot", "--cfg", "gait_prior.residual_scale=0"], ["residual_scale must be > 0"]),
    ("train.py", ["--cfg", "domain_rand.friction_range=[-0.2, 1.0]"], ["draws negative friction"]),
    ("play.py", ["--task=a1_rough"], ["no runs of a1_rough", "python train.py --task=a1_rough"]),
    ("play.py", ["--task=a1_flat", "--load_run=nope"], ["--load_run nope not found"]),
    ("play.py", ["--task=a1_flat", "--video=clip.gif"], ["ending in .mp4"]),
    ("bench/learning.py", ["--task=a1_flat", "--resume", "--checkpoint=7"], ["--checkpoint 7 not in", "available: 0"]),
])
def test_cli_mistakes(logs, script: str, args: list[str], needles: list[str]) -> None:
    before = tree(logs)
    res = run(script, f"--log_root={logs}", *args)
    assert_clean(res, logs, before, *needles)


def test_video_without_a_renderer_names_mujoco_gl(logs, tmp_path) -> None:
    before = tree(logs)
    res = run("play.py", "--task=a1_flat", f"--log_root={logs}", "--no_export", f"--video={tmp_path}/v.mp4",
              "--seconds=1", env={"MUJOCO_GL": "glfw", "DISPLAY": ""})
    assert_clean(res, logs, before, "MUJOCO_GL=glfw", "set MUJOCO_GL=egl")
    assert not os.path.exists(tmp_path / "v.mp4")


def test_unwritable_log_root(logs, tmp_path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    res = run("train.py", "--task=a1_flat", "--num_envs=4", "--max_iterations=1", f"--log_root={blocker}/logs")
    assert res.returncode == 2 and "pick a writable --log_root" in res.stderr
    assert blocker.read_text() == "not a folder"


def test_corrupt_checkpoint_in_play(logs) -> None:
    bad = logs / "a1_flat" / "2099-01-01_00-00-00_corrupt"
    os.makedirs(bad)
    (bad / "model_4.pt").write_bytes(b"\x00truncated")
    before = tree(logs)
    res = run("play.py", "--task=a1_flat", f"--log_root={logs}", "--export_only")
    assert_clean(res, logs, before, "corrupt")
    os.remove(bad / "model_4.pt")
    os.rmdir(bad)


def test_checkpoint_of_another_task_in_play(logs) -> None:
    ckpt = torch.load(os.path.join(_run_dir(logs), "model_0.pt"), weights_only=True)
    other = logs / "a1_flat" / "2099-01-01_00-00-01_other"
    os.makedirs(other)
    torch.save({**ckpt, "infos": {**ckpt["infos"], "task": "g1_flat"}}, other / "model_3.pt")
    before = tree(logs)
    res = run("play.py", "--task=a1_flat", f"--log_root={logs}", "--export_only")
    assert_clean(res, logs, before, "trained on task 'g1_flat'", "--task=g1_flat")
    os.remove(other / "model_3.pt")
    os.rmdir(other)


@pytest.mark.parametrize("spec, needles", [
    ({"base": "a1_flat", "env": {"robot.urdf": "tests/data/broken.urdf"}},
     ["broken.urdf failed to parse", "parent or child missing"]),
    ({"base": "a1_flat", "env": {"robot.foot_bodies": ["FR_foot", "FL_paw"]}}, ["FL_paw"]),
    ({"base": "a1_flat", "train": {"policy.actor": "snn", "policy.snn.neuron.threshold": -0.5}},
     ["snn.neuron.threshold must be > 0"]),
    ({"base": "a1_flat", "train": {"policy.actor": "snn", "policy.snn.neuron.voltage_decay": 1.5}},
     ["snn.neuron.voltage_decay must be in [0, 1]"]),
    ({"base": "a1_rough", "env": {"terrain.proportions": {"stairs_up": 0.5, "gaps": 0.4}}}, ["sum to 0.9"]),
    ({"base": "a1_flat", "env": {"sim.dt": -0.005}}, ["env_cfg.sim.dt must be > 0, got -0.005"]),
    ({"base": "a1_flat", "env": {"sim.decimation": "four"}}, ["env_cfg.sim.decimation must be of type int"]),
    ({"base": "a1_flat", "train": {"algorithm.gamma": 1.5}}, ["train_cfg.algorithm.gamma must be in (0, 1]"]),
    ({"base": "a1_flat", "env": {"robot.max_roll": -0.8}}, ["env_cfg.robot.max_roll must be >= 0, got -0.8"]),
])
def test_config_mistakes(tmp_path, spec: dict, needles: list[str]) -> None:
    os.makedirs(os.path.join(ROOT, "tests", "data"), exist_ok=True)
    logs = tmp_path / "logs"
    os.makedirs(logs)
    res = user_task(spec, logs)
    assert_clean(res, logs, [], *needles)
    assert os.listdir(logs) in ([], ["user_task"]) and not tree(logs)
