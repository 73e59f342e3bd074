"""--teacher: rsl-rl's Distillation of a trained MLP into the spiking actor (real MuJoCo, real rsl-rl)."""

from __future__ import annotations

import os
import re
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
    assert any(k.startswith("network.encoder.") for k in ckpt["student_state_dict"])
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


def test_energy_bench_refuses_another_tasks_checkpoint(distilled, root):
    _, _, student, _ = distilled
    res = run(root, "bench/energy.py", "--task=a1_flat_gait", f"--checkpoint={os.path.join(student, 'model_2.pt')}",
              "--num_envs=8", "--steps=3", "--json")
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "was trained with task='a1_flat'" in res.stderr.strip().splitlines()[-1]


def session(logs, *argv: str):
    from envs.launch import make_session
    from legged_snn.cli import add_training_flags, build_parser

    args = add_training_flags(build_parser("t")).parse_args(["--task=a1_flat", "--num_envs=4", f"--log_root={logs}",
                                                             *argv])
    return make_session(args, log=False)


def same(state: dict, ref: dict) -> bool:
    return state.keys() == ref.keys() and all(torch.equal(state[k], ref[k]) for k in ref)


def test_resume_loads_the_student_and_keeps_the_given_teacher(distilled):
    logs, teacher, student, _ = distilled
    ckpt = torch.load(os.path.join(student, "model_2.pt"), weights_only=True)
    s = session(logs, "--resume", f"--load_run={os.path.basename(student)}", f"--teacher={teacher}", "--rate_reg=0.05")
    assert s.runner.distilling and s.runner.current_learning_iteration == 3
    assert same(s.runner.alg.student.state_dict(), ckpt["student_state_dict"])
    src = torch.load(os.path.join(teacher, "model_0.pt"), weights_only=True)["actor_state_dict"]
    assert same(s.runner.alg.teacher.state_dict(), src)
    assert s.runner.alg.student.network.rate_reg == 0.05  # the flag wins over the resumed run's config


def test_resume_without_teacher_fine_tunes_the_student_with_ppo(distilled):
    logs, _, student, _ = distilled
    ckpt = torch.load(os.path.join(student, "model_2.pt"), weights_only=True)
    s = session(logs, "--resume", f"--load_run={os.path.basename(student)}")  # what play.py loads too
    from rsl_rl.algorithms import PPO

    assert not s.runner.distilling and isinstance(s.runner.alg, PPO)
    assert same(s.runner.alg.get_policy().state_dict(), ckpt["student_state_dict"])


def test_resume_continues_the_distillation(distilled, root):
    logs, teacher, student, _ = distilled
    res = run(root, "train.py", "--task=a1_flat", "--num_envs=16", "--max_iterations=1", "--resume",
              f"--load_run={os.path.basename(student)}", f"--teacher={teacher}", f"--log_root={logs}",
              "--run_name=again")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "next iteration 3" in res.stdout and "bc_loss" in res.stdout


def test_play_has_no_training_flags(distilled, root):
    logs, teacher, _, _ = distilled
    res = run(root, "play.py", "--task=a1_flat", f"--log_root={logs}", f"--teacher={teacher}", "--export_only")
    assert res.returncode == 2 and "unrecognized arguments: --teacher" in res.stderr


@pytest.mark.parametrize("case", ["missing", "empty", "student", "other_task", "snn_teacher", "no_params",
                                  "resume_ppo_run"])
def test_bad_teacher_is_one_line(distilled, root, tmp_path, case):
    import shutil

    logs, teacher, student, _ = distilled
    extra: list[str] = []
    if case == "missing":
        arg, needle = str(tmp_path / "nope"), "no such file or run folder"
    elif case == "empty":
        (tmp_path / "empty").mkdir()
        arg, needle = str(tmp_path / "empty"), "has no model_<N>.pt"
    elif case == "student":
        arg, needle = student, "must be an MLP actor"
    elif case == "other_task":
        arg, needle, extra = teacher, "trained with task='a1_flat'", ["--task=cassie_flat"]
    elif case == "snn_teacher":
        arg, needle = str(tmp_path / "snn"), "must be an MLP actor"
        shutil.copytree(teacher, arg)
        path = os.path.join(arg, "params", "train.yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("actor: mlp", "actor: snn", 1))
    elif case == "no_params":
        (tmp_path / "bare").mkdir()
        shutil.copy(os.path.join(teacher, "model_0.pt"), tmp_path / "bare")
        arg, needle = str(tmp_path / "bare"), "no params/train.yaml"
    else:
        arg, needle = teacher, "not a distillation run's"
        extra = ["--resume", f"--load_run={os.path.basename(teacher)}"]
    before = sorted(os.listdir(logs))
    before_runs = sorted(os.listdir(logs / "a1_flat"))
    res = run(root, "train.py", "--task=a1_flat", "--num_envs=8", "--max_iterations=1", f"--teacher={arg}",
              f"--log_root={logs}", "--run_name=bad", *extra)
    assert res.returncode == 2, res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and needle in err[0], res.stderr
    assert sorted(os.listdir(logs)) == before and sorted(os.listdir(logs / "a1_flat")) == before_runs  # nothing


def test_rate_reg_flag_reaches_the_spiking_actor():
    from envs.launch import load_task
    from legged_snn.cli import add_training_flags, build_parser

    _, cfg = load_task(add_training_flags(build_parser("t")).parse_args(["--task=a1_flat", "--rate_reg=0.05",
                                                                          "--teacher=x"]))
    assert cfg.policy.snn["rate_reg"] == 0.05 and cfg.policy.actor == "snn"  # --teacher: a spiking student
    _, cfg = load_task(build_parser("t").parse_args(["--task=a1_flat"]))
    assert cfg.policy.snn["rate_reg"] == 0.0 and cfg.policy.actor == "mlp"


def test_student_keeps_the_settings_distillation_was_measured_with():
    """PPO's spiking defaults (direct input, held rows, the anneal) do not apply to a --teacher student: it gets
    DISTILL_SNN, and --anneal / --cfg still win."""
    from envs.launch import load_task
    from legged_snn.cli import add_training_flags, build_parser
    from legged_snn.rl.config import DISTILL_SNN

    def snn(*flags):
        return load_task(add_training_flags(build_parser("t")).parse_args(["--task=a1_flat", *flags]))[1].policy.snn

    ppo = snn("--actor=snn")
    assert ppo["anneal"] == [200, 320] and ppo["encoder_mode"] == "direct" and ppo["weight_centering"] == "sphere"
    assert ppo["neuron"]["max_spikes"] == 4  # PPO's graded spikes
    student = snn("--teacher=x")
    flat = {k: v for k, v in DISTILL_SNN.items() if k != "neuron"}
    assert {k: student[k] for k in flat} == flat and student["anneal"] is None
    assert student["neuron"] == {**ppo["neuron"], "max_spikes": 1}  # binary, the rest of the neuron kept
    given = snn("--teacher=x", "--anneal", "0", "2", "--cfg", "policy.snn.lr_scale=1.0")
    assert given["anneal"] == [0, 2] and given["lr_scale"] == 1.0


def test_distillation_anneals_its_student(distilled, root, tmp_path):
    """--anneal works with --teacher as with PPO: smooth, then hardened into spikes (rsl-rl's Distillation.update)."""
    _, teacher, _, _ = distilled
    res = run(root, "train.py", "--task=a1_flat", "--num_envs=16", "--max_iterations=3", f"--log_root={tmp_path}",
              f"--teacher={teacher}", "--anneal", "0", "2")
    assert res.returncode == 0, res.stderr[-2000:]
    assert re.findall(r"smooth=([0-9.]+)", res.stdout) == ["1", "0.5", "0"], res.stdout[-2000:]
