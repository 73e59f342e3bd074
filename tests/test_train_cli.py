"""train.py end to end (real MuJoCo, real rsl-rl): checkpoints, --resume, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import yaml


def run(root: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, os.path.join(root, "train.py"), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def tree(path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, root):
    logs = tmp_path_factory.mktemp("logs")
    res = run(root, "--task=a1_flat", "--num_envs=64", "--max_iterations=2", "--run_name=first",
              f"--log_root={logs}", "--actor=mlp")
    assert res.returncode == 0, res.stderr[-2000:]
    return logs, res


def test_train_writes_checkpoint_and_configs(trained):
    logs, res = trained
    runs = os.listdir(logs / "a1_flat")
    assert len(runs) == 1 and runs[0].endswith("_first")
    files = tree(logs / "a1_flat" / runs[0])
    assert "model_1.pt" in files and "model_0.pt" in files
    assert "params/env.yaml" in files and "params/train.yaml" in files
    assert any(f.startswith("events.out.tfevents") for f in files)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("it ")]
    assert len(lines) == 2 and "steps/s" in lines[0] and "tracking_lin_vel" in lines[-1] and "ETA" in lines[0]
    assert lines[-1].startswith("it 1 (2/2) |")  # counts like the last checkpoint, model_1.pt
    ckpt = torch.load(logs / "a1_flat" / runs[0] / "model_1.pt", weights_only=True)
    assert ckpt["infos"]["task"] == "a1_flat" and ckpt["iter"] == 1


def test_resume_loads_the_checkpoint(trained, root):
    logs, _ = trained
    res = run(root, "--task=a1_flat", "--num_envs=8", "--max_iterations=1", "--resume", f"--log_root={logs}",
              "--run_name=second", "--actor=mlp")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "resumed from" in res.stdout and "model_1.pt (next iteration 2)" in res.stdout
    second = [r for r in os.listdir(logs / "a1_flat") if r.endswith("_second")][0]
    assert "model_2.pt" in os.listdir(logs / "a1_flat" / second)  # continues the iteration count
    with open(logs / "a1_flat" / second / "params" / "resume.yaml") as f:  # where it continues from, for curves
        resume = yaml.safe_load(f)
    first = [r for r in os.listdir(logs / "a1_flat") if r.endswith("_first")][0]
    assert resume["run"] == os.path.abspath(logs / "a1_flat" / first) and resume["first_iteration"] == 2
    assert resume["checkpoint"].endswith("model_1.pt")


def test_resume_with_a_fixed_rate_trains_at_the_given_rate(trained, root):
    """rsl-rl restores the saved rate with the optimizer; ``--lr_schedule fixed --learning_rate`` must win."""
    logs, _ = trained
    first = [r for r in os.listdir(logs / "a1_flat") if r.endswith("_first")][0]
    saved = torch.load(logs / "a1_flat" / first / "model_1.pt", weights_only=True)
    assert saved["optimizer_state_dict"]["param_groups"][0]["lr"] != pytest.approx(2e-4)
    res = run(root, "--task=a1_flat", "--num_envs=8", "--max_iterations=1", "--resume", f"--load_run={first}",
              f"--log_root={logs}", "--run_name=fixed_rate", "--actor=mlp", "--lr_schedule=fixed",
              "--learning_rate=0.0002")
    assert res.returncode == 0, res.stderr[-2000:]
    run_dir = [r for r in os.listdir(logs / "a1_flat") if r.endswith("_fixed_rate")][0]
    ckpt = torch.load(logs / "a1_flat" / run_dir / "model_2.pt", weights_only=True)
    assert all(g["lr"] == pytest.approx(2e-4) for g in ckpt["optimizer_state_dict"]["param_groups"])


def _assert_clean_failure(res, logs, before: list[str], *needles: str) -> None:
    assert res.returncode != 0
    err = res.stderr.strip().splitlines()
    assert len(err) == 1, res.stderr
    for n in needles:
        assert n in err[0], err[0]
    assert tree(logs) == before  # no partial run folder, nothing overwritten


@pytest.mark.parametrize("args,needles", [
    (["--task=a1_flying"], ["unknown task 'a1_flying'", "a1_flat"]),
    (["--num_envs=0"], ["--num_envs", ">= 1"]),
    (["--resume", "--load_run=nope"], ["--load_run nope not found", "_first"]),
    (["--resume", "--checkpoint=77"], ["--checkpoint 77", "available: "]),
    (["--num_env=3"], ["unrecognized", "did you mean --num_envs"]),
    (["--sim_device=cuda:0"], ["cuda:0", "cpu"]),
    (["--learning_rate=-1e-3"], ["--learning_rate", "> 0"]),
    (["--lr_schedule=cosine"], ["--lr_schedule", "adaptive", "fixed"]),
    (["--cfg", "algorithm.entropy"], ["--cfg", "KEY=VALUE"]),
    (["--cfg", "algorithm.entropy=0.1"], ["algorithm has no field 'entropy'", "entropy_coef"]),
    (["--cfg", "nothing.x=1"], ["no config has a field 'nothing'", "policy", "rewards"]),
    (["--cfg", "algorithm.lr_points=[[5, 1e-3], [2, 1e-4]]"], ["algorithm.lr_points", "ascending"]),
    (["--actor=snn", "--cfg", "policy.snn.decoder=spikes"], ["snn.decoder must be one of", "membrane", "rate"]),
    (["--actor=snn", "--cfg", "policy.snn.decoder_leak=2"], ["snn.decoder_leak must be in [0, 1]"]),
])
def test_bad_input_is_one_line(trained, root, args, needles):
    logs, _ = trained
    before = tree(logs)
    res = run(root, "--num_envs=4", "--max_iterations=1", f"--log_root={logs}", *args)
    _assert_clean_failure(res, logs, before, *needles)


def test_checkpoint_of_another_task_is_refused(trained, root):
    logs, _ = trained
    run_dir = logs / "a1_flat" / [r for r in os.listdir(logs / "a1_flat") if r.endswith("_first")][0]
    ckpt = torch.load(run_dir / "model_1.pt", weights_only=True)
    # a checkpoint whose meta says another task
    other = logs / "a1_flat" / "2000-01-01_00-00-00_other"
    os.makedirs(other)
    torch.save({**ckpt, "infos": {**ckpt["infos"], "task": "anymal_c_rough"}}, other / "model_5.pt")
    # and one with no meta but a wrong observation size
    shapes = logs / "a1_flat" / "2000-01-01_00-00-01_shapes"
    os.makedirs(shapes)
    actor = dict(ckpt["actor_state_dict"])
    actor["mlp.0.weight"] = torch.zeros(128, 235)
    torch.save({**ckpt, "actor_state_dict": actor, "infos": {}}, shapes / "model_5.pt")
    before = tree(logs)
    res = run(root, "--num_envs=4", f"--log_root={logs}", "--resume", "--load_run=2000-01-01_00-00-00_other")
    _assert_clean_failure(res, logs, before, "task='anymal_c_rough'", "task='a1_flat'")
    res = run(root, "--num_envs=4", f"--log_root={logs}", "--resume", "--load_run=2000-01-01_00-00-01_shapes",
              "--actor=mlp")
    _assert_clean_failure(res, logs, before, "mlp.0.weight", "235")


def test_corrupt_checkpoint_is_refused(trained, root):
    logs, _ = trained
    bad = logs / "a1_flat" / "2000-01-01_00-00-02_corrupt"
    os.makedirs(bad)
    (bad / "model_3.pt").write_bytes(b"not a checkpoint")
    before = tree(logs)
    res = run(root, "--num_envs=4", f"--log_root={logs}", "--resume", "--load_run=2000-01-01_00-00-02_corrupt")
    _assert_clean_failure(res, logs, before, "corrupt")


def test_checkpoint_of_the_other_actor_is_refused(trained, root):
    logs, _ = trained
    before = tree(logs)
    res = run(root, "--num_envs=4", f"--log_root={logs}", "--resume", "--actor=snn",
              f"--load_run={[r for r in os.listdir(logs / 'a1_flat') if r.endswith('_first')][0]}")
    _assert_clean_failure(res, logs, before, "actor='mlp'", "actor='snn'")


def test_invalid_history_mode_is_refused(trained, root):
    logs, _ = trained
    before = tree(logs)
    res = run(root, "--num_envs=4", f"--log_root={logs}", "--history=lstm")
    _assert_clean_failure(res, logs, before, "--history", "stack", "membrane")


def test_learning_rate_flags_reach_the_train_config():
    from envs.launch import load_task
    from legged_snn.cli import build_parser

    args = build_parser("train.py").parse_args(["--task=a1_flat", "--learning_rate=3e-4", "--lr_schedule=fixed"])
    _, train_cfg = load_task(args)
    assert train_cfg.algorithm.learning_rate == 3e-4 and train_cfg.algorithm.schedule == "fixed"
    _, default = load_task(build_parser("train.py").parse_args(["--task=a1_flat"]))
    assert default.algorithm.learning_rate == 1e-3 and default.algorithm.schedule == "auto"


def test_auto_schedule_is_adaptive_for_the_mlp_and_piecewise_for_the_snn():
    from legged_snn.rl.config import TrainCfg, to_rsl_rl

    cfg = TrainCfg()
    for actor, expected in (("mlp", "adaptive"), ("snn", "fixed")):  # rsl-rl runs piecewise as fixed ...
        cfg.policy.actor = actor
        assert to_rsl_rl(cfg)["algorithm"]["schedule"] == expected
    assert to_rsl_rl(cfg)["lr_points"] == cfg.algorithm.lr_points  # ... and our runner sets each iteration's rate
    cfg.algorithm.schedule = "adaptive"  # an explicit choice wins
    assert to_rsl_rl(cfg)["algorithm"]["schedule"] == "adaptive"
    cfg.algorithm.schedule = "cosine"
    with pytest.raises(ValueError, match="algorithm.schedule must be one of"):
        to_rsl_rl(cfg)


def test_spiking_actor_runs_its_own_epoch_count():
    from legged_snn.rl.config import TrainCfg, to_rsl_rl

    cfg = TrainCfg()
    cfg.algorithm.snn_learning_epochs = 1
    for actor, expected in (("mlp", 5), ("snn", 1)):
        cfg.policy.actor = actor
        algorithm = to_rsl_rl(cfg)["algorithm"]
        assert algorithm["num_learning_epochs"] == expected and "snn_learning_epochs" not in algorithm
    cfg.algorithm.snn_learning_epochs = None  # the default: the spiking actor uses num_learning_epochs too
    assert to_rsl_rl(cfg)["algorithm"]["num_learning_epochs"] == 5


def test_rsl_rl_ppo_gets_the_spiking_epoch_count():
    from envs.launch import make_session
    from legged_snn.cli import build_parser

    args = build_parser("train.py").parse_args(["--task=a1_flat", "--actor=snn", "--num_envs=2", "--headless"])
    session = make_session(args, log=False, edit=lambda e, t: setattr(t.algorithm, "snn_learning_epochs", 2))
    assert session.runner.alg.num_learning_epochs == 2


def test_piecewise_rate_is_log_linear_and_held():
    from legged_snn.rl.config import check_lr_points, lr_at

    pts = [[0, 1e-2], [10, 1e-2], [20, 1e-3]]
    assert lr_at(pts, 0) == 1e-2 and lr_at(pts, 10) == pytest.approx(1e-2)
    assert lr_at(pts, 15) == pytest.approx(10 ** -2.5)  # halfway in log space
    assert lr_at(pts, 20) == pytest.approx(1e-3) and lr_at(pts, 500) == 1e-3
    for bad in ([], [[0, -1.0]], [[3, 1e-3], [3, 1e-4]], [["a", 1e-3]], 5):
        with pytest.raises(ValueError, match="algorithm.lr_points"):
            check_lr_points(bad)


def test_cfg_override_reaches_both_configs():
    from envs.launch import load_task
    from legged_snn.cli import add_training_flags, build_parser

    args = add_training_flags(build_parser("train.py")).parse_args(
        ["--task=a1_flat", "--cfg", "algorithm.entropy_coef=0.005", "--cfg", "rewards.scales.torques=0",
         "--cfg", "policy.snn.neuron.surrogate=rect", "--cfg", "algorithm.lr_points=[[0, 1e-3]]"])
    env_cfg, train_cfg = load_task(args)
    assert train_cfg.algorithm.entropy_coef == 0.005 and env_cfg.rewards.scales["torques"] == 0.0
    assert train_cfg.policy.snn["neuron"]["surrogate"] == "rect" and train_cfg.algorithm.lr_points == [[0, 1e-3]]


def test_runner_sets_each_iterations_piecewise_rate():
    from envs.launch import make_session
    from legged_snn.cli import build_parser

    args = build_parser("train.py").parse_args(["--task=a1_flat", "--actor=snn", "--num_envs=4", "--headless"])
    session = make_session(args, log=False,
                           edit=lambda e, t: setattr(t.algorithm, "lr_points", [[0, 1e-3], [1, 1e-4], [2, 5e-5]]))
    runner, used = session.runner, []
    step = runner.alg.optimizer.step

    def recorded(*a, **k):
        used.append(runner.alg.optimizer.param_groups[0]["lr"])
        return step(*a, **k)

    runner.alg.optimizer.step = recorded
    runner.learn(3)
    per_iteration = runner.alg.num_learning_epochs * runner.alg.num_mini_batches
    assert used == pytest.approx([1e-3] * per_iteration + [1e-4] * per_iteration + [5e-5] * per_iteration)


def test_play_lists_no_training_flags(capsys):
    from legged_snn.cli import build_parser

    play = build_parser("play.py", training=False)
    text = play.format_help()
    for flag in ("--resume", "--max_iterations", "--learning_rate", "--lr_schedule", "--mixed_precision", "--logger"):
        assert flag not in text and flag in build_parser("train.py").format_help()
    args = play.parse_args(["--task=a1_flat"])
    assert args.resume is False and args.max_iterations is None  # what the shared session code reads
    with pytest.raises(SystemExit):
        play.parse_args(["--resume"])
    assert "unrecognized arguments: --resume" in capsys.readouterr().err


def test_a_run_older_than_a_field_resumes_with_what_it_ran_with_and_can_set_it():
    """A run's saved ``snn`` settings lack the fields added since; --resume fills them with the values the run ran
    with (SpikingActor's and NeuronCfg's own defaults, not the config's) so ``--cfg`` can set them."""
    from envs.launch import apply_policy
    from legged_snn.overrides import apply_override
    from legged_snn.rl.config import TrainCfg

    cfg = TrainCfg()
    apply_policy(cfg, {"actor": "snn", "snn": {"timesteps": 5, "decoder": "membrane", "neuron": {"threshold": 0.4}}})
    snn = cfg.policy.snn
    assert snn["lr_scale"] == 1.0 and snn["weight_centering"] is False and snn["spike_step_scale"] == 1.0
    assert snn["neuron"]["surrogate"] == "rect" and snn["neuron"]["threshold"] == 0.4  # NeuronCfg's default
    apply_override({"train": cfg}, "policy.snn.spike_step_scale=0.3")
    assert cfg.policy.snn["spike_step_scale"] == 0.3
    older = TrainCfg()
    apply_policy(older, {"actor": "snn", "snn": {"timesteps": 5}})  # from before the membrane decoder
    assert older.policy.snn["decoder"] == "rate"
