"""--teacher: rsl-rl's Distillation of a trained MLP into the spiking actor (real MuJoCo, real rsl-rl)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from legged_snn.rl.config import TrainCfg, to_rsl_rl


def run(root: str, script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, os.path.join(root, script), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def one_run(logs, suffix: str) -> str:
    runs = [r for r in os.listdir(logs / "a1_flat") if r.endswith(suffix)]
    assert len(runs) == 1, runs
    return str(logs / "a1_flat" / runs[0])


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, root):
    """A 1-iteration MLP teacher and a 3-iteration spiking student distilled from it."""
    logs = tmp_path_factory.mktemp("logs")
    res = run(root, "train.py", "--task=a1_flat", "--num_envs=16", "--max_iterations=1", "--run_name=teacher",
              f"--log_root={logs}", "--actor=mlp")
    assert res.returncode == 0, res.stderr[-2000:]
    teacher = one_run(logs, "_teacher")
    res = run(root, "train.py", "--task=a1_flat", "--num_envs=16", "--max_iterations=3", "--run_name=student",
              f"--log_root={logs}", f"--teacher={teacher}")
    assert res.returncode == 0, res.stderr[-2000:]
    return logs, teacher, one_run(logs, "_student"), res


def test_config_is_rsl_rl_distillation():
    cfg, teacher = TrainCfg(), TrainCfg()
    cfg.policy.actor = "snn"
    out = to_rsl_rl(cfg, ["policy", "critic"], teacher)
    assert out["algorithm"]["class_name"] == "Distillation" and out["algorithm"]["gradient_length"] == 1
    assert out["student"]["class_name"] == "legged_snn.snn.actor:SpikingActor"
    assert out["student"]["distribution_cfg"]["init_std"] == cfg.distill.student_init_std
    assert out["teacher"]["class_name"] == "rsl_rl.models:MLPModel"
    assert out["obs_groups"] == {"student": ["policy"], "teacher": ["policy"]}
    assert "actor" not in out and "critic" not in out
    assert to_rsl_rl(cfg, ["policy", "critic"])["algorithm"]["class_name"] == "PPO"  # no teacher: PPO


def test_student_is_spiking_and_learns_the_teacher(distilled):
    _, teacher, student, res = distilled
    ckpt = torch.load(os.path.join(student, "model_2.pt"), weights_only=True)
    assert ckpt["infos"]["actor"] == "snn"
    assert any(k.startswith("mlp.encoder.") for k in ckpt["student_state_dict"])
    src = torch.load(os.path.join(teacher, "model_0.pt"), weights_only=True)["actor_state_dict"]
    for k, v in src.items():  # the teacher is the trained run's actor, unchanged
        assert torch.equal(ckpt["teacher_state_dict"][k], v), k
    losses = [float(ln.split("bc_loss ")[1].split()[0]) for ln in res.stdout.splitlines() if "bc_loss" in ln]
    assert len(losses) == 3 and losses[-1] < losses[0], losses
    assert "rate_hid=" in res.stdout  # spike accounting runs for the student


def test_play_loads_and_exports_the_student(distilled, root):
    logs, _, student, _ = distilled
    res = run(root, "play.py", "--task=a1_flat", f"--log_root={logs}", f"--load_run={os.path.basename(student)}",
              "--export_only")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "(snn actor)" in res.stdout and os.path.isfile(os.path.join(student, "exported", "policy.onnx"))


def test_energy_bench_reads_the_student(distilled, root):
    _, _, student, _ = distilled
    res = run(root, "bench/energy.py", "--task=a1_flat", f"--checkpoint={os.path.join(student, 'model_2.pt')}",
              "--num_envs=8", "--steps=3", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert '"snn_energy_pj"' in res.stdout.splitlines()[-1]


def test_resume_continues_the_distillation(distilled, root):
    logs, teacher, student, _ = distilled
    res = run(root, "train.py", "--task=a1_flat", "--num_envs=16", "--max_iterations=1", "--resume",
              f"--load_run={os.path.basename(student)}", f"--teacher={teacher}", f"--log_root={logs}",
              "--run_name=again")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "next iteration 3" in res.stdout and "bc_loss" in res.stdout


@pytest.mark.parametrize("case", ["missing", "empty", "student", "other_task"])
def test_bad_teacher_is_one_line(distilled, root, tmp_path, case):
    logs, teacher, student, _ = distilled
    extra: list[str] = []
    if case == "missing":
        arg, needle = str(tmp_path / "nope"), "no such file or run folder"
    elif case == "empty":
        (tmp_path / "empty").mkdir()
        arg, needle = str(tmp_path / "empty"), "has no model_<N>.pt"
    elif case == "student":
        arg, needle = student, "distilled student"
    else:
        arg, needle, extra = teacher, "task", ["--task=cassie_flat"]
    before = sorted(os.listdir(logs / "a1_flat"))
    res = run(root, "train.py", "--task=a1_flat", "--num_envs=8", "--max_iterations=1", f"--teacher={arg}",
              f"--log_root={logs}", "--run_name=bad", *extra)
    assert res.returncode == 2, res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and needle in err[0], res.stderr
    assert sorted(os.listdir(logs / "a1_flat")) == before  # nothing written


def test_rate_reg_flag_reaches_the_spiking_actor():
    from envs.launch import load_task
    from legged_snn.cli import build_parser

    _, cfg = load_task(build_parser("t").parse_args(["--task=a1_flat", "--rate_reg=0.05", "--teacher=x"]))
    assert cfg.policy.snn["rate_reg"] == 0.05 and cfg.policy.actor == "snn"  # --teacher: a spiking student
    _, cfg = load_task(build_parser("t").parse_args(["--task=a1_flat"]))
    assert cfg.policy.snn["rate_reg"] == 0.0 and cfg.policy.actor == "mlp"
