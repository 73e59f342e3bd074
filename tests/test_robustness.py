"""Nothing lost: NaN states reset only their envs, a NaN policy stops with a pointer to the last good
checkpoint, and SIGINT mid-iteration saves a whole checkpoint from which --resume continues exactly."""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from envs.launch import make_session  # noqa: E402
from legged_snn.cli import build_parser  # noqa: E402


def _session(*args: str):
    return make_session(build_parser("test").parse_args(["--task=a1_flat", "--num_envs=8", *args]), log=False)


def test_nan_state_resets_only_those_envs_and_the_run_goes_on() -> None:
    s = _session("--actor=mlp", "--max_iterations=2")
    env, seen = s.env, {}

    def poison(e) -> None:
        if e.common_step_counter == 5:
            e.backend._qpos[[2, 5], 7:] = float("nan")
            seen["lengths"] = e.episode_length_buf.clone()
        if e.common_step_counter == 6:
            seen["after"] = e.episode_length_buf.clone()
            seen["finite"] = bool(torch.isfinite(e.backend._qpos).all())
            seen["logged"] = float(e.extras["log"]["Episode_Termination/blowups_total"])

    env.step_hooks.append(poison)
    s.runner.learn(2)
    assert env.blowups_total == 2
    assert seen["finite"]
    assert seen["after"][2] == 0 and seen["after"][5] == 0  # reset during step 6
    others = [i for i in range(8) if i not in (2, 5)]
    assert all(seen["after"][i] in (seen["lengths"][i] + 1, 0) for i in others)
    assert sum(int(seen["after"][i] == 0) for i in others) == 0  # nobody else fell at that step
    assert seen["logged"] == 2  # goes to tensorboard with the iteration's episode statistics


def _train(logs: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "train.py", "--task=a1_flat", "--num_envs=16", "--seed=3",
                             "--actor=mlp", f"--log_root={logs}", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _scalars(run_dir: str) -> dict[str, dict[int, float]]:
    """PPO's losses and the episode statistics (mean reward and length of the last finished episodes) per iteration."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(glob.glob(os.path.join(run_dir, "events*"))[0])
    ea.Reload()
    tags = ("Loss/value", "Loss/surrogate", "Train/mean_reward", "Train/mean_episode_length")
    return {tag: {e.step: e.value for e in ea.Scalars(tag)} for tag in tags if tag in ea.Tags()["scalars"]}


def test_sigint_saves_a_whole_checkpoint_and_resume_matches(tmp_path) -> None:
    logs = str(tmp_path)
    full = _train(logs, "--max_iterations=6", "--run_name=full")
    assert full.wait(timeout=300) == 0, full.stderr.read()[-2000:]
    cut = _train(logs, "--max_iterations=6", "--run_name=cut")
    for line in cut.stdout:  # interrupt while iteration 3 (index 2) runs
        if line.startswith("it 1 ("):
            cut.send_signal(signal.SIGINT)
            break
    out, err = cut.communicate(timeout=300)
    assert cut.returncode == 130, err[-2000:]
    assert "interrupted; saved" in err and "--resume --load_run=" in err
    cut_dir = glob.glob(os.path.join(logs, "a1_flat", "*_cut"))[0]
    saved = max(int(f[6:-3]) for f in os.listdir(cut_dir) if f.startswith("model_"))
    ckpt = torch.load(os.path.join(cut_dir, f"model_{saved}.pt"), weights_only=True)  # whole, loads
    assert ckpt["iter"] == saved and "env_state" in ckpt and not glob.glob(os.path.join(cut_dir, "*.tmp"))
    assert saved < 5
    rest = _train(logs, "--resume", f"--load_run={os.path.basename(cut_dir)}", f"--max_iterations={5 - saved}",
                  "--run_name=rest")
    assert rest.wait(timeout=300) == 0, rest.stderr.read()[-2000:]
    a = _scalars(glob.glob(os.path.join(logs, "a1_flat", "*_full"))[0])
    b = _scalars(glob.glob(os.path.join(logs, "a1_flat", "*_rest"))[0])
    assert sorted(b["Loss/value"]) == list(range(saved + 1, 6))
    # the episodes running at the cut report their whole length and reward (the logger's sums are saved too)
    assert b.get("Train/mean_episode_length"), "no episode finished after the resume: the test checks nothing"
    for tag, rest in b.items():
        for it, value in rest.items():
            assert abs(a[tag][it] - value) < 1e-4 * max(1.0, abs(value)), (tag, it, a[tag][it], value)


def _poisoned_train(tmp_path, *args: str, storm: bool = False) -> subprocess.CompletedProcess:
    """train.py whose policy turns NaN after one good iteration (checkpoint model_0.pt); ``storm``: the state of
    envs 0-3 turns NaN at every step too (a diverging robot model), which MuJoCo meets and warns about."""
    code = f"""
import sys, torch
sys.path.insert(0, {ROOT!r})
import train
from envs.launch import make_session as real

def poisoned(*a, **k):
    s = real(*a, **k)
    if {storm!r}:
        class Storm:
            def __call__(self, e):
                e.backend._qpos[:4, 7:] = float("nan")
            def finish(self):
                pass
        s.env.step_hooks.append(Storm())
    learn = s.runner.learn
    def learn_then_poison(n, **kw):
        learn(1, **kw)  # one good iteration, checkpoint model_0.pt
        with torch.no_grad():
            for p in s.runner.alg.get_policy().parameters():
                p.fill_(float("nan"))
        learn(n - 1, **kw)
    s.runner.learn = learn_then_poison
    return s

import envs.launch
envs.launch.make_session = poisoned
sys.exit(train.main(sys.argv[1:]))
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code, "--task=a1_flat", "--max_iterations=3", "--actor=mlp",
                           f"--log_root={tmp_path}", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_nan_policy_stops_with_the_last_good_checkpoint(tmp_path) -> None:
    res = _poisoned_train(tmp_path, "--num_envs=4")
    assert res.returncode == 2, res.stderr[-2000:]
    line = res.stderr.strip().splitlines()[-1]
    assert "NaN" in line and "the last good checkpoint is" in line and "model_0.pt" in line, line
    assert "blew up" not in line  # a healthy simulation is not blamed


def test_a_blowup_storm_is_counted_and_named_when_the_policy_diverges(tmp_path) -> None:
    res = _poisoned_train(tmp_path, "--num_envs=16", storm=True)
    assert res.returncode == 2, res.stderr[-2000:]
    out = res.stdout + res.stderr
    assert "WARNING: Nan" not in out  # MuJoCo's own line, one per blow-up
    notes = [x for x in res.stdout.splitlines() if x.startswith("note: MuJoCo warned: Nan, Inf or huge value")]
    kinds = {re.sub(r"\d[\d.]*", "#", x) for x in notes}
    assert notes and len(notes) == len(kinds)  # the first of each kind, once
    first = next(x for x in res.stdout.splitlines() if x.startswith("it 0 "))
    n, total = map(int, re.search(r"\| blowups (\d+) \(total (\d+)\)", first).groups())
    assert n == total >= 4 * 10, first  # 4 poisoned envs, reset every other step of the 24 (48 measured)
    line = res.stderr.strip().splitlines()[-1]
    assert "the simulation blew up" in line and "python -m legged_snn.robot_check resources/urdf/a1/a1.urdf" in line
    assert "--task a1_flat" in line and "model_0.pt" in line, line
