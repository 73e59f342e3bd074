"""Assemble a training session from a task name and command-line overrides (train.py, play.py, bench/)."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import yaml

import envs.tasks  # noqa: F401  (registers the tasks)
from envs.checks import bytes_per_env, check_configs, check_memory
from envs.locomotion.config import LocomotionEnvCfg, prior_follows_clock
from envs.locomotion.env import LocomotionEnv
from envs.locomotion.observations import policy_layout, privileged_layout
from legged_snn import cli
from legged_snn.cli import UserError, resolve_checkpoint, resolve_teacher, run_folder_name
from legged_snn.overrides import apply_override
from legged_snn.registry import UnknownTaskError, load
from legged_snn.rl.config import DISTILL_SNN, MLP_INPUTS, TrainCfg, to_rsl_rl
from legged_snn.rl.runner import CheckpointError, LeggedRunner
from legged_snn.sim.model import ModelError
from legged_snn.snn.actor import SpikingActor
from legged_snn.snn.centering import check_centering
from legged_snn.snn.neurons import NeuronCfg
from legged_snn.snn.population_mlp import check_init_gain
from legged_snn.snn.rate_grad import rate_unsupported
from legged_snn.validate import ConfigError


@dataclass
class Session:
    task: str
    env_cfg: LocomotionEnvCfg
    train_cfg: TrainCfg
    env: LocomotionEnv
    runner: LeggedRunner
    log_dir: str | None
    resume_path: str | None

    def close(self, finished: bool = True) -> None:
        """Leave torchrun's process group in order: after a finished run every rank meets at a barrier first, so
        no rank exits (and tears down its gloo threads) while a peer still talks to it; after an error, no wait."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            if finished:
                torch.distributed.barrier()
            torch.distributed.destroy_process_group()


def load_task(args: argparse.Namespace) -> tuple[LocomotionEnvCfg, TrainCfg]:
    """Task configs with the command-line overrides applied."""
    try:
        env_cfg, train_cfg = load(args.task)
    except UnknownTaskError as exc:
        raise UserError(str(exc)) from None
    r = train_cfg.runner
    if getattr(args, "num_envs", None) is not None:
        env_cfg.env.num_envs = args.num_envs
    if getattr(args, "seed", None) is not None:
        r.seed = args.seed
    env_cfg.seed = r.seed
    if getattr(args, "max_iterations", None) is not None:
        r.max_iterations = args.max_iterations
    for name in ("experiment_name", "run_name", "logger"):
        if getattr(args, name, None):
            setattr(r, name, getattr(args, name))
    anneal = getattr(args, "anneal", None)
    if getattr(args, "actor", None):
        train_cfg.policy.actor = args.actor
    elif getattr(args, "teacher", None) or anneal:
        train_cfg.policy.actor = "snn"  # distillation's and annealing's point: a deployable spiking actor
    if anneal and train_cfg.policy.actor != "snn":
        raise UserError("--anneal hardens a spiking actor into spikes; use it with --actor snn (or drop --actor mlp)")
    if anneal and anneal[0] > anneal[1]:
        raise UserError(f"--anneal START END needs START <= END, got {anneal[0]} {anneal[1]}")
    if getattr(args, "mixed_precision", False):
        train_cfg.algorithm.use_mixed_precision = True
        if not str(getattr(args, "rl_device", None) or "cpu").startswith("cuda") and not cli.cpu_has_bf16():
            print("warning: --mixed_precision on a CPU without bf16 arithmetic (no AVX512-BF16 or AMX): bf16 is "
                  "emulated there and many times slower than float32 (26x for a PPO minibatch of the a1 MLP on an "
                  "AVX2 EPYC); drop the flag on this machine", file=sys.stderr)
    if getattr(args, "teacher", None) and train_cfg.policy.actor == "snn":
        snn = train_cfg.policy.snn  # --anneal and --cfg below still win
        snn.update({**DISTILL_SNN, "neuron": {**snn.get("neuron", {}), **DISTILL_SNN["neuron"]}})
    if getattr(args, "history", None):
        train_cfg.policy.snn["history"] = args.history
    if getattr(args, "gait", None):
        env_cfg.gait_prior.mode = args.gait
        prior_follows_clock(env_cfg)
    if getattr(args, "learning_rate", None) is not None:  # PPO's or, with --teacher, the distillation's
        train_cfg.algorithm.learning_rate = train_cfg.distill.learning_rate = args.learning_rate
    train_cfg.policy.snn.update(_snn_flags(args))
    if getattr(args, "lr_schedule", None):
        train_cfg.algorithm.schedule = args.lr_schedule
    _cfg_flags(args, env_cfg, train_cfg)
    return env_cfg, train_cfg


def _cfg_flags(args: argparse.Namespace, env_cfg: LocomotionEnvCfg, train_cfg: TrainCfg) -> None:
    """``--cfg KEY=VALUE`` items, in order (legged_snn/overrides.py)."""
    for item in getattr(args, "cfg", None) or []:
        try:
            apply_override({"train": train_cfg, "env": env_cfg}, item)
        except ValueError as exc:
            raise UserError(str(exc)) from None


def _exact_gradient_where_needed(args: argparse.Namespace, train_cfg: TrainCfg) -> None:
    """The rate gradient (the default) cannot take membrane history: that gets exact BPTT,
    unless ``--cfg`` asked for a gradient (then rate_grad.py's one-line error says why it cannot)."""
    snn = train_cfg.policy.snn
    asked = any(item.split("=", 1)[0].strip() == "policy.snn.gradient" for item in getattr(args, "cfg", None) or [])
    needs_exact = rate_unsupported(snn.get("history", "stack"))
    if snn.get("gradient") == "rate" and needs_exact and not asked:
        snn["gradient"] = "bptt"


def _snn_flags(args: argparse.Namespace) -> dict:
    """Spiking-actor training settings given as flags (``--rate_reg``, ``--anneal``): on resume they win over the
    run's own config, which supplies the network's shape and dynamics."""
    flags = {"rate_reg": getattr(args, "rate_reg", None), "anneal": getattr(args, "anneal", None)}
    return {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in flags.items() if v is not None}


def _run_params(run_dir: str, name: str, section: str):
    """One section of a run's params/<name>.yaml, or None when the file or the section is missing."""
    path = os.path.join(run_dir, "params", f"{name}.yaml")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return (yaml.safe_load(f) or {}).get(section)


def trained_policy(run_dir: str) -> dict | None:
    """The policy section of a run's params/train.yaml (actor type, sizes, SNN settings), if present."""
    return _run_params(run_dir, "train", "policy")


class TrainedGait(NamedTuple):
    """A trained run's gait prior (its ``gait_prior`` section) and the robot's ``swing_joints`` it ran with (the
    joint-space profile's direction; None when the run's robot had none)."""

    prior: dict
    swing_joints: dict | None


def trained_gait(run_dir: str) -> TrainedGait | None:
    """The gait prior of a run's params/env.yaml, if it trained with one (its actions and observations depend on
    it, so a resumed or played run uses it unless --gait says otherwise)."""
    gait = _run_params(run_dir, "env", "gait_prior")
    if not isinstance(gait, dict) or gait.get("mode", "none") == "none":
        return None
    robot = _run_params(run_dir, "env", "robot")
    swing = robot.get("swing_joints") if isinstance(robot, dict) else None
    return TrainedGait(dict(gait), dict(swing) if swing else None)


def apply_gait(env_cfg: LocomotionEnvCfg, gait: TrainedGait | None, flag: str | None) -> None:
    """A trained run's gait prior (``trained_gait``) unless ``--gait`` was given."""
    if gait is None or flag:
        return
    for key, value in gait.prior.items():
        if hasattr(env_cfg.gait_prior, key):
            setattr(env_cfg.gait_prior, key, value)
    if gait.swing_joints:
        env_cfg.robot.swing_joints = dict(gait.swing_joints)


def _ran_with(snn: dict, fields: dict) -> dict:
    """A trained run's ``snn`` settings plus every field of the current config it predates, at the value it ran
    with (SpikingActor's and NeuronCfg's own defaults), so ``--cfg`` can set such a field on ``--resume``."""
    ctor = {k: p.default for k, p in inspect.signature(SpikingActor.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}
    out = dict(snn)
    for key in fields:
        if key not in out and key in ctor and key != "neuron":
            out[key] = ctor[key]
    if isinstance(out.get("neuron"), dict):
        out["neuron"] = {**{f.name: f.default for f in dataclasses.fields(NeuronCfg)}, **out["neuron"]}
    return out


def apply_policy(train_cfg: TrainCfg, policy: dict) -> None:
    """Use a trained run's policy settings (so a resumed or played actor has the dynamics it was trained with).
    A spiking run from before the membrane decoder has no ``decoder`` key: it was trained with the rate decoder."""
    for key, value in policy.items():
        if hasattr(train_cfg.policy, key):
            if key == "snn" and isinstance(value, dict) and isinstance(train_cfg.policy.snn, dict):
                legacy = {"decoder": "rate"} if policy.get("actor") == "snn" else {}
                value = _ran_with({**legacy, **value}, train_cfg.policy.snn)
            setattr(train_cfg.policy, key, value)


def _checked_configs(env_cfg: LocomotionEnvCfg, train_cfg: TrainCfg) -> None:
    """Types and ranges of every field, then whether num_envs fits in memory: one-line UserErrors."""
    try:
        check_configs(env_cfg, train_cfg)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    a = len(env_cfg.robot.joint_names)
    obs = policy_layout(env_cfg, a, a).dim
    critic = obs + privileged_layout(env_cfg).dim
    frame = 2 * a + a
    obs += frame * env_cfg.env.history_frames
    msg = check_memory(env_cfg.env.num_envs, bytes_per_env(env_cfg, train_cfg, obs, critic, a))
    if msg:
        raise UserError(msg)


def _checked_actor(train_cfg: TrainCfg) -> None:
    p = train_cfg.policy
    if p.mlp_input not in MLP_INPUTS:
        raise UserError(f"policy.mlp_input must be one of {list(MLP_INPUTS)}, got {p.mlp_input!r}")
    if not float(p.mlp_lr_scale) > 0:
        raise UserError(f"policy.mlp_lr_scale must be > 0, got {p.mlp_lr_scale}")
    try:
        check_init_gain(p.mlp_init_gain)
        check_centering(p.mlp_weight_centering, "policy.mlp_weight_centering")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    mlp_only = (p.mlp_input != "raw" or p.actor_activation is not None or p.mlp_lr_scale != 1.0
                or p.mlp_weight_centering or p.mlp_init_gain != 1.0)
    if p.actor == "snn" and mlp_only:
        raise UserError("policy.mlp_input, mlp_lr_scale, mlp_weight_centering, mlp_init_gain and actor_activation "
                        "configure the MLP "
                        "actor; with --actor snn drop them (the spiking actor's settings are policy.snn.*)")
    if p.actor == "snn":
        from legged_snn.snn.actor import check_snn_config

        try:
            check_snn_config(train_cfg.policy.snn)
        except ValueError as exc:
            raise UserError(str(exc)) from None


def _checked_logger(train_cfg: TrainCfg) -> None:
    """wandb must be installed; with no API key it logs offline (``wandb sync`` uploads later)."""
    if train_cfg.runner.logger != "wandb":
        return
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise UserError("--logger wandb needs the wandb package: pip install -e '.[wandb]'") from None
    if "WANDB_API_KEY" not in os.environ and "WANDB_MODE" not in os.environ:
        os.environ["WANDB_MODE"] = "offline"
        print("wandb: no WANDB_API_KEY, logging offline (wandb sync uploads the run later)")


def make_session(args: argparse.Namespace, log: bool = True,
                 edit: Callable[[LocomotionEnvCfg, TrainCfg], None] | None = None) -> Session:
    """Validate everything, build env and runner, and only then create the run folder. ``edit`` may change the
    configs in place first (play mode, a trained run's policy settings)."""
    env_cfg, train_cfg = load_task(args)
    if edit is not None:
        edit(env_cfg, train_cfg)
    _exact_gradient_where_needed(args, train_cfg)
    _checked_configs(env_cfg, train_cfg)
    _checked_actor(train_cfg)
    _checked_logger(train_cfg)
    exp_dir = os.path.join(args.log_root, train_cfg.runner.experiment_name)
    resume_path = resolve_checkpoint(exp_dir, args.load_run, args.checkpoint) if args.resume else None
    trained = trained_policy(os.path.dirname(resume_path)) if resume_path else None
    if resume_path:
        apply_gait(env_cfg, trained_gait(os.path.dirname(resume_path)), getattr(args, "gait", None))
    if trained and (not getattr(args, "actor", None) or trained.get("actor") == args.actor):
        apply_policy(train_cfg, trained)  # the checkpoint's own neuron constants, sizes and history mode
        train_cfg.policy.snn.update(_snn_flags(args))  # training settings, not the network's: flags win
        _cfg_flags(args, env_cfg, train_cfg)
        _exact_gradient_where_needed(args, train_cfg)
    rank, world = int(os.getenv("RANK", "0")), int(os.getenv("WORLD_SIZE", "1"))
    if world > 1:  # torchrun: each rank its own envs and seed; only rank 0 writes the run folder
        env_cfg.seed = train_cfg.runner.seed + rank
        log = log and rank == 0
        local = os.getenv("LOCAL_RANK", "0")
        if args.rl_device.startswith("cuda"):
            args.rl_device = f"cuda:{local}"
        if args.sim_device.startswith("cuda"):
            args.sim_device = f"cuda:{local}"
    torch.manual_seed(train_cfg.runner.seed + rank)
    if args.sim_device.startswith("cuda"):
        torch.set_default_device(args.sim_device)  # env buffers on the GPU beside MuJoCo Warp's state
    t0 = time.perf_counter()
    if log:
        print(f"building {env_cfg.env.num_envs} {args.task} envs (MuJoCo, {args.sim_device}) ...", flush=True)
    try:
        env = LocomotionEnv(env_cfg, sim_device=args.sim_device)
    except ModelError as exc:
        raise UserError(str(exc)) from None
    except ValueError as exc:
        raise UserError(str(exc).splitlines()[0]) from None
    if log:
        print(f"built in {time.perf_counter() - t0:.1f} s; training {describe_actor(train_cfg)}", flush=True)
    teacher_path, teacher_cfg = _teacher(args, train_cfg)
    rsl_cfg = to_rsl_rl(train_cfg, list(env.get_observations().keys()), teacher_cfg)
    meta = {"task": args.task, "actor": train_cfg.policy.actor, "obs_dim": env.obs_layout.dim,
            "num_actions": env.num_actions, "mlp_hidden_dims": list(train_cfg.policy.actor_hidden_dims)}
    if train_cfg.policy.actor == "snn":
        meta["snn_decoder"] = train_cfg.policy.snn.get("decoder", "membrane")
    log_dir = None
    if log:
        log_dir = os.path.join(exp_dir, run_folder_name(train_cfg.runner.run_name))
        if os.path.exists(log_dir):
            raise UserError(f"run folder {log_dir} exists; pick another --run_name")
    try:
        runner = LeggedRunner(env, rsl_cfg, log_dir=None, device=args.rl_device, meta=meta)
    except ValueError as exc:  # e.g. more NCCL ranks than GPUs
        raise UserError(str(exc).splitlines()[0]) from None
    try:
        if teacher_path:
            runner.load_teacher(teacher_path)
        if resume_path:
            runner.load(resume_path)
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    if log_dir:
        try:
            os.makedirs(os.path.join(log_dir, "params"))
            with open(os.path.join(log_dir, "params", "env.yaml"), "w") as f:
                yaml.safe_dump(asdict(env_cfg), f, sort_keys=False)
            with open(os.path.join(log_dir, "params", "train.yaml"), "w") as f:
                yaml.safe_dump({**asdict(train_cfg), "rsl_rl": rsl_cfg}, f, sort_keys=False)
            if resume_path:  # where this run continues from (bench/learning_curves.py joins the two curves)
                with open(os.path.join(log_dir, "params", "resume.yaml"), "w") as f:
                    yaml.safe_dump({"checkpoint": os.path.abspath(resume_path),
                                    "run": os.path.abspath(os.path.dirname(resume_path)),
                                    "first_iteration": int(runner.current_learning_iteration)}, f, sort_keys=False)
        except OSError as exc:
            shutil.rmtree(log_dir, ignore_errors=True)
            raise UserError(f"cannot write the run folder {log_dir}: {exc.strerror}; "
                            "pick a writable --log_root") from None
        runner.logger.log_dir = log_dir
        if train_cfg.runner.logger == "wandb":
            os.environ.setdefault("WANDB_DIR", log_dir)  # keep wandb's files with the run, not in the cwd
    return Session(args.task, env_cfg, train_cfg, env, runner, log_dir, resume_path)


def describe_actor(train_cfg: TrainCfg) -> str:
    """One line naming the actor and what shapes it (rsl-rl's module dump prints the spiking network as ``mlp``)."""
    p = train_cfg.policy
    if p.actor != "snn":
        return f"an MLP actor {list(p.actor_hidden_dims)} (the baseline; --actor snn for the spiking one)"
    s = p.snn
    return (f"a spiking actor: LIF {list(p.actor_hidden_dims)}, T = {s.get('timesteps')}, {s.get('encoder_mode')} "
            f"encoder, {s.get('decoder', 'membrane')} readout, history {s.get('history')} (its numba kernels "
            "compile during the first iteration)")


def _teacher(args: argparse.Namespace, train_cfg: TrainCfg) -> tuple[str | None, TrainCfg | None]:
    """``--teacher``: its checkpoint and its run's train config (the actor it was trained with)."""
    if not getattr(args, "teacher", None):
        return None, None
    path = resolve_teacher(args.teacher)
    try:
        policy = trained_policy(os.path.dirname(path))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"--teacher {path}: cannot read its run's params/train.yaml ({type(exc).__name__})") from None
    if policy is None:
        raise UserError(f"--teacher {path}: its run folder has no params/train.yaml; give a run trained by train.py")
    if policy.get("actor") != "mlp":
        raise UserError(f"--teacher {path}: the teacher must be an MLP actor, this run's is {policy.get('actor')!r}; "
                        "train one with --actor mlp")
    teacher = TrainCfg()
    apply_policy(teacher, policy)
    return path, teacher


def script_session(args: argparse.Namespace, prog: str, **kwargs) -> Session:
    """``make_session`` for the bench scripts: a UserError ends the script with ``prog: error: ...`` (exit 1)."""
    try:
        return make_session(args, **kwargs)
    except UserError as exc:
        sys.exit(f"{prog}: error: {exc}")
