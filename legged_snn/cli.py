"""legged_gym-compatible command line shared by train.py and play.py, plus run-folder bookkeeping."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn


def cpu_has_bf16() -> bool:
    """Whether this CPU does bf16 arithmetic natively (AVX512-BF16 or AMX), as torch's oneDNN detects it."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


class UserError(Exception):
    """Bad input from the user: printed as one line, exit status 2, nothing written."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and a suggestion for mistyped flags."""

    def error(self, message: str) -> NoReturn:
        flags = [s for a in self._actions for s in a.option_strings]
        hint = ""
        m = re.search(r"unrecognized arguments: (\S+)", message)
        if m:
            close = difflib.get_close_matches(m.group(1).split("=")[0], flags, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; see {self.prog} --help"
        print(f"{self.prog}: error: {message}{hint}", file=sys.stderr)
        sys.exit(2)


def _int(text: str, lowest: int) -> int:
    """An integer >= ``lowest``, else an argparse error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"must be >= {lowest}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _int(text, 1)


def _non_negative_int(text: str) -> int:
    return _int(text, 0)


def _float(text: str, lowest: float, strict: bool) -> float:
    """A finite number above ``lowest`` (or at it, unless ``strict``), else an argparse error."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > lowest if strict else value >= lowest) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number {'>' if strict else '>='} {lowest:g}, got {text}")
    return value


def _positive_float(text: str) -> float:
    return _float(text, 0.0, strict=True)


def _non_negative_float(text: str) -> float:
    return _float(text, 0.0, strict=False)


TRAINING_ONLY = {"resume": False, "run_name": None, "max_iterations": None, "logger": None, "mixed_precision": False,
                 "learning_rate": None, "lr_schedule": None}  # flags play.py does not list, with their defaults


def build_parser(prog: str, training: bool = True) -> argparse.ArgumentParser:
    """The legged_gym flags, plus --logger and --actor; ``training=False`` (play.py) leaves out the flags only a
    training run uses (``TRAINING_ONLY``, which keep their defaults)."""
    p = _Parser(prog=prog, description="legged_snn: locomotion with spiking actors on MuJoCo", allow_abbrev=False)

    def add(name: str, **kw) -> None:
        if training or name.lstrip("-") not in TRAINING_ONLY:
            p.add_argument(name, **kw)

    add("--task", default="a1_flat", help="registered task name")
    add("--resume", action="store_true", help="resume training from a checkpoint")
    add("--experiment_name", help="folder under logs/ (default: the task's)")
    add("--run_name", help="suffix of the run folder name")
    add("--load_run", default="-1", help="run folder to load from; -1 = latest")
    add("--checkpoint", type=int, default=-1, help="model_<N>.pt to load; -1 = latest")
    add("--headless", action="store_true", help="no viewer (legged_gym's flag: train.py never opens one; "
        "play.py opens one when a display exists unless this is given)")
    add("--rl_device", default="cpu", help="torch device for learning")
    add("--sim_device", default="cpu", help="simulation backend: cpu = mujoco.batch.Batch")
    add("--num_envs", type=_positive_int, help="number of parallel environments (>= 1)")
    add("--seed", type=int, help="random seed")
    add("--max_iterations", type=_positive_int, help="training iterations")
    add("--logger", choices=["tensorboard", "wandb"], help="where scalars go")
    add("--actor", choices=["snn", "mlp"], help="policy network (default: the task's)")
    add("--history", choices=["stack", "membrane"], help="spiking history mode (default: the task's)")
    add("--log_root", default="logs", help="root folder of all runs")
    add("--gait", metavar="MODE", help="gait prior: none, trot, pace, bound or walk (a foot-trajectory generator the "
        "policy adds residuals to), alternate (bipeds: a joint-space swing profile); default: the task's, or the "
        "trained run's")
    add("--mixed_precision", action="store_true", help="bf16 autocast in the PPO update")
    add("--learning_rate", type=_positive_float, help="PPO learning rate (start value when adaptive)")
    add("--lr_schedule", choices=["adaptive", "fixed", "piecewise"],
        help="adaptive: rsl-rl's KL-driven rate (the MLP's default); fixed: --learning_rate throughout; "
             "piecewise: algorithm.lr_points per iteration (the spiking actor's default)")
    if not training:
        p.set_defaults(**TRAINING_ONLY)
    return p


def add_cfg_flag(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--cfg KEY=VALUE`` (legged_snn/overrides.py)."""
    p.add_argument("--cfg", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field, e.g. --cfg algorithm.entropy_coef=0.005 --cfg policy.snn.decoder=rate "
                        "(dotted path into the train or env config, YAML value; repeatable; wins over other flags)")
    return p


def add_training_flags(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Flags only a training run takes (train.py, bench/learning.py): distillation, annealing, the rate penalty."""
    p.add_argument("--anneal", type=_non_negative_int, nargs=2, metavar=("START", "END"),
                   help="spiking actor: train with a smooth forward to iteration START, harden it into spikes by "
                        "END, spikes after (PPO's steps then move the policy as predicted; see docs/snn.md)")
    p.add_argument("--rate_reg", type=_non_negative_float, metavar="W",
                   help="spiking actor: add W x the mean firing rate of its encoder and hidden layers to the "
                        "training loss (trades reward for energy; default 0)")
    add_cfg_flag(p)
    p.add_argument("--teacher", metavar="RUN_OR_PT",
                   help="distill a trained MLP policy into the actor (rsl-rl's Distillation, DAgger) instead of PPO: "
                        "a run folder (its latest model_<N>.pt) or a model_<N>.pt file")
    return p


def run_folder_name(run_name: str, now: datetime | None = None) -> str:
    """``YYYY-mm-dd_HH-MM-SS[_run_name]``."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    return f"{stamp}_{run_name}" if run_name else stamp


def list_runs(experiment_dir: str) -> list[str]:
    """Run folders of an experiment, oldest first."""
    if not os.path.isdir(experiment_dir):
        return []
    return sorted(d for d in os.listdir(experiment_dir) if os.path.isdir(os.path.join(experiment_dir, d)))


def list_checkpoints(run_dir: str) -> list[int]:
    """Iterations of the model_<it>.pt files in a run folder, ascending."""
    its = []
    for f in os.listdir(run_dir) if os.path.isdir(run_dir) else []:
        m = re.fullmatch(r"model_(\d+)\.pt", f)
        if m:
            its.append(int(m.group(1)))
    return sorted(its)


def resolve_checkpoint(experiment_dir: str, load_run: str, checkpoint: int) -> str:
    """Path of the checkpoint to load (-1 = latest run / latest model), or a UserError listing what exists."""
    runs = list_runs(experiment_dir)
    if not runs:
        raise UserError(f"no runs in {experiment_dir}; train one first: python train.py --task=<task>")
    if load_run in ("-1", ""):
        candidates = [r for r in runs if list_checkpoints(os.path.join(experiment_dir, r))]
        if not candidates:
            raise UserError(f"no run in {experiment_dir} has a model_<it>.pt; runs: {', '.join(runs)}")
        run = candidates[-1]
    elif load_run in runs:
        run = load_run
    else:
        raise UserError(f"--load_run {load_run} not found in {experiment_dir}; runs: {', '.join(runs[-10:])}")
    run_dir = os.path.join(experiment_dir, run)
    its = list_checkpoints(run_dir)
    if not its:
        raise UserError(f"run {run_dir} has no model_<it>.pt checkpoint")
    it = its[-1] if checkpoint == -1 else checkpoint
    if it not in its:
        raise UserError(f"--checkpoint {checkpoint} not in {run_dir}; available: {', '.join(map(str, its))}")
    return os.path.join(run_dir, f"model_{it}.pt")


def resolve_teacher(path: str) -> str:
    """The checkpoint a ``--teacher`` argument names: a model_<N>.pt file, or a run folder's latest one."""
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        its = list_checkpoints(path)
        if not its:
            raise UserError(f"--teacher {path}: the folder has no model_<N>.pt; "
                            "give a trained run folder or a .pt file")
        return os.path.join(path, f"model_{its[-1]}.pt")
    raise UserError(f"--teacher {path}: no such file or run folder; "
                    "give logs/<experiment>/<run> or a model_<N>.pt")


def parse(argv: Sequence[str] | None, prog: str) -> argparse.Namespace:
    """Parse the command line."""
    return build_parser(prog).parse_args(argv)
