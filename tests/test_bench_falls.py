"""bench/falls.py on a freshly trained 1-iteration a1_rough run: every env's episode ends once, the row and the
one-change flags reach the env, bad input gets one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import falls  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("logs"))
    r = subprocess.run([sys.executable, "train.py", "--task", "a1_rough", "--actor", "mlp", "--num_envs", "8",
                        "--max_iterations", "1", "--log_root", root], cwd=ROOT, capture_output=True, text=True,
                       timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    run = os.path.join(root, "a1_rough", sorted(os.listdir(os.path.join(root, "a1_rough")))[-1])
    return os.path.join(run, "model_0.pt")


def test_every_env_ends_one_episode_and_falls_are_counted_by_type(checkpoint: str) -> None:
    out = falls.main(["--checkpoint", checkpoint, "--num_envs", "20", "--seconds", "21", "--level", "3", "--json"])
    n = out["num_envs"]
    # 21 s > one 20 s episode: an env that never fell times out once; one that fell may time out after its restart
    assert out["falls"] + out["time_outs"] >= n and out["time_outs"] <= n
    assert set(out["by_type"]) <= {"smooth_slope", "rough_slope", "stairs_up", "stairs_down", "discrete_obstacles"}
    assert len(out["by_type"]) == 5  # 20 envs over 20 columns: every type of the mix
    assert out["falls_per_env_episode"] == pytest.approx(out["falls"] / n * 1000 / 1050, abs=1e-3)
    assert out["pushes"] == "on" and "randomize_latency" in out["randomized"]
    assert 0.0 < out["tracking_lin_vel"] < 1.0  # an untrained policy: some reward, far from the maximum


def test_one_change_flags_reach_the_env(checkpoint: str) -> None:
    out = falls.main(["--checkpoint", checkpoint, "--num_envs", "4", "--seconds", "0.2", "--pushes", "off",
                      "--randomization", "off", "--actions", "mean", "--level", "3",
                      "--cfg", "domain_rand.randomize_friction=true"])
    assert out["pushes"] == "off" and out["randomized"] == ["randomize_friction"]  # --cfg wins over the flags
    assert out["level_end"] == 3.0  # every env on row 3 (no episode ended in 0.2 s to move one)
    wide = falls.main(["--checkpoint", checkpoint, "--num_envs", "4", "--seconds", "0.2", "--level", "3",
                       "--cfg", "rewards.tracking_sigma=1.0e6"])
    assert wide["tracking_lin_vel"] == pytest.approx(1.0, abs=1e-3)  # the reward's own sigma: errors count for nothing


@pytest.mark.parametrize("argv, needle", [
    (["--level", "10"], "--level 10 is past the last row (9)"),
    (["--checkpoint", "nope/model_1.pt"], "checkpoint not found"),
])
def test_bad_input_gets_one_line(checkpoint: str, argv: list[str], needle: str) -> None:
    args = ["--checkpoint", checkpoint, "--num_envs", "2", *argv]
    with pytest.raises(SystemExit) as err:
        falls.main(args)
    assert needle in str(err.value) and "\n" not in str(err.value)
