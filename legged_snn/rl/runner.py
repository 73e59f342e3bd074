"""OnPolicyRunner with atomic checkpoints, safe loading, task-checked resume and a one-line console."""

from __future__ import annotations

import datetime
import os

import torch
from rsl_rl.runners import OnPolicyRunner

from legged_snn.rl.hooks import add_hooks
from legged_snn.rl.logger import OneLineLogger
from legged_snn.snn import energy
from legged_snn.snn.anneal import smoothness


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into this run."""


class LeggedRunner(OnPolicyRunner):
    """rsl-rl's runner; ``meta`` (task, actor, obs sizes) is stored in every checkpoint and checked on load."""

    def __init__(self, env, train_cfg: dict, log_dir: str | None = None, device: str = "cpu",
                 meta: dict | None = None) -> None:
        super().__init__(env, train_cfg, log_dir, device)
        self.meta = dict(meta or {})
        self.logger = OneLineLogger(
            log_dir=log_dir, cfg=self.cfg, env_cfg=self.env.cfg, num_envs=self.env.num_envs,
            is_distributed=self.is_distributed, gpu_world_size=self.gpu_world_size,
            gpu_global_rank=self.gpu_global_rank, device=self.device,
        )
        self.logger.stats_fn = self.spike_stats
        self.logger.blowups_fn = lambda: int(getattr(self.env, "blowups_total", 0))
        add_hooks(self.alg, self.cfg.get("lr_points") if not self.distilling else None,
                  None if self.distilling else self.cfg.get("spike_learning_epochs"))

    @property
    def distilling(self) -> bool:
        """rsl-rl's Distillation (a student learning from a teacher) rather than PPO."""
        return hasattr(self.alg, "teacher")

    def _configure_multi_gpu(self) -> None:
        """torchrun: NCCL on GPUs (rsl-rl's own path), gloo when the learning device is the CPU."""
        world = int(os.getenv("WORLD_SIZE", "1"))
        if world > 1 and not str(self.device).startswith("cuda"):
            self.gpu_world_size, self.is_distributed = world, True
            self.gpu_local_rank, self.gpu_global_rank = int(os.getenv("LOCAL_RANK", "0")), int(os.getenv("RANK", "0"))
            self.cfg["multi_gpu"] = {"global_rank": self.gpu_global_rank, "local_rank": self.gpu_local_rank,
                                     "world_size": world}
            if not torch.distributed.is_initialized():
                torch.distributed.init_process_group("gloo", rank=self.gpu_global_rank, world_size=world,
                                                     timeout=datetime.timedelta(minutes=5))
            return
        if world > 1 and torch.cuda.device_count() < int(os.getenv("LOCAL_WORLD_SIZE", world)):
            raise ValueError(f"torchrun started {os.getenv('LOCAL_WORLD_SIZE', world)} ranks on this node but it "
                             f"has {torch.cuda.device_count()} GPU(s); use --nproc_per_node <= that (NCCL needs "
                             "one GPU per rank) or --rl_device cpu for gloo")
        super()._configure_multi_gpu()

    def _spiking_network(self):
        return self.alg.spiking_network()

    def set_iteration(self, it: int) -> None:
        """Learning iteration ``it`` comes next (see ``LeggedHooks.set_iteration``)."""
        self.alg.set_iteration(it)

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        """rsl-rl's loop; what follows the iteration (anneal, piecewise rate, spike epochs) starts where it resumes."""
        self.set_iteration(self.current_learning_iteration)
        super().learn(num_learning_iterations, init_at_random_ep_len)

    def spike_stats(self) -> dict[str, float]:
        """Firing rates, SOPs and energy per inference since the last call (empty for an MLP actor)."""
        net = self._spiking_network()
        if net is None or net.inferences == 0:
            return {}
        mlp_sizes = [net.encoder.obs_dim, *self.meta.get("mlp_hidden_dims", []), net.decoder.num_actions]
        rep = energy.report(net, mlp_sizes)
        live = net.grad_live()
        net.reset_stats()
        out = rep.scalars()
        out.update({f"SNN/grad_live_{name}": share for name, share in live.items()})
        if live:
            out["Console/live"] = sum(live.values()) / len(live)
        rates = list(rep.firing_rates.values())
        out.update({"Console/rate_in": rates[0], "Console/rate_hid": sum(rates[1:-1]) / max(len(rates) - 2, 1),
                    "Console/E_pJ": rep.snn_energy_pj, "Console/mlp_over_snn": rep.mlp_over_snn})
        if getattr(self.alg.get_policy(), "anneal", None) is not None:  # the rollout's smoothness (0 = spikes)
            used = smoothness(self.alg.iteration - 1, self.alg.get_policy().anneal)  # the update moved it on
            out["Console/smooth"] = out["SNN/smooth"] = used
        return out

    def export_policy_to_jit(self, path: str, filename: str = "policy.pt") -> None:
        """rsl-rl's scripted export, except a stateless spiking actor: traced, frozen and optimized for inference
        (its T-step loops unrolled into one graph: batch-1 latency 0.50 -> 0.43 ms on one CPU thread, measured)."""
        actor = self.alg.get_policy()
        if not hasattr(actor, "network") or actor.is_recurrent:
            return super().export_policy_to_jit(path, filename)
        module = actor.as_jit().cpu().eval()
        with torch.no_grad():
            traced = torch.jit.trace(module, (torch.zeros(1, actor.obs_dim),), check_trace=False)
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
        os.makedirs(path, exist_ok=True)
        frozen.save(os.path.join(path, filename))

    def save(self, path: str, infos: dict | None = None) -> None:
        """Write the checkpoint to ``path`` atomically (temp file + rename)."""
        saved = self.alg.save()
        saved["iter"] = self.current_learning_iteration
        saved["infos"] = {**self.meta, **(infos or {})}
        # what a resumed run needs to continue exactly: the env's state, the RNG, a recurrent actor's state
        if hasattr(self.env, "state_dict"):
            saved["env_state"] = self.env.state_dict()
            saved["episode_stats"] = episode_stats(self.logger)
        saved["rng"] = torch.get_rng_state()
        hidden = getattr(self.alg.get_policy(), "hidden_state", None)
        if isinstance(hidden, tuple):
            saved["actor_hidden"] = [t.clone() for t in hidden]
        tmp = f"{path}.tmp"
        torch.save(saved, tmp)
        os.replace(tmp, path)
        self.logger.save_model(path, self.current_learning_iteration)

    def load(self, path: str, load_cfg: dict | None = None, strict: bool = True,
             map_location: str | None = None, restore_env: bool = True) -> dict:
        """Load a checkpoint without executing code from it; one-line errors for the wrong task or shapes."""
        loaded = read_checkpoint(path, map_location)
        check_meta(path, loaded.get("infos") or {}, self.meta)
        if self.distilling:  # a distillation resumed: the student and optimizer (the teacher is --teacher's)
            if "student_state_dict" not in loaded:
                raise CheckpointError(f"checkpoint {path} is not a distillation run's; --resume --teacher continues "
                                      "a distillation: drop --resume to start one")
            load_cfg = {"student": True, "optimizer": True, "iteration": True}
        elif "student_state_dict" in loaded:  # a distilled student played or fine-tuned with PPO: its actor only
            loaded, load_cfg = {**loaded, "actor_state_dict": actor_state(loaded)}, {"actor": True}
        configured_rate = getattr(self.alg, "learning_rate", None)
        try:
            if self.alg.load(loaded, load_cfg, strict):  # "iter" is the last finished iteration
                self.current_learning_iteration = loaded["iter"] + 1
        except RuntimeError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln or "Missing" in ln]
            first = (lines or [str(exc).strip().splitlines()[0]])[0]
            if len(first) > 300:
                first = first[:300] + " ..."
            raise CheckpointError(f"checkpoint {path} does not fit this model: {first}") from None
        if getattr(self.alg, "schedule", None) == "fixed" and configured_rate is not None:
            self.alg.set_rate(configured_rate)  # rsl-rl restores the saved rate; a fixed schedule means the given one
        if restore_env:
            self._restore_run_state(loaded)
        return loaded.get("infos") or {}

    def load_teacher(self, path: str) -> None:
        """Distillation: the teacher's weights from a trained run's checkpoint (same task and sizes)."""
        loaded = read_checkpoint(path, map_location=str(self.device))
        if "actor_state_dict" not in loaded:
            raise CheckpointError(f"--teacher {path} is a distilled student, not a PPO-trained policy; "
                                  "give the run it was distilled from")
        infos = loaded.get("infos") or {}
        check_meta(path, {k: v for k, v in infos.items() if k != "actor"}, self.meta)
        try:
            self.alg.load(loaded, {"teacher": True}, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"--teacher {path} does not fit its run's own config: "
                                  f"{str(exc).strip().splitlines()[0][:200]}") from None

    def _restore_run_state(self, loaded: dict) -> None:
        """Env state, RNG and recurrent state, when the checkpoint has them and the env count matches. Only rank 0
        saved them: other ranks of a distributed run keep their own fresh envs and seeds."""
        if self.gpu_global_rank != 0:
            return
        state = loaded.get("env_state")
        if state is not None and hasattr(self.env, "load_state_dict"):
            try:
                self.env.load_state_dict(state)
            except ValueError as exc:
                print(f"note: env state not restored ({exc}); the run continues from fresh episodes")
                return
            self.logger.blowups_seen = int(getattr(self.env, "blowups_total", 0))  # the console counts new ones
            if "episode_stats" in loaded:
                restore_episode_stats(self.logger, loaded["episode_stats"])
            if "rng" in loaded:
                torch.set_rng_state(loaded["rng"])
            hidden = loaded.get("actor_hidden")
            if hidden is not None:
                self.alg.get_policy().hidden_state = tuple(t.clone() for t in hidden)


def episode_stats(logger) -> dict:
    """rsl-rl's running episode sums (num_envs,) and its last 100 finished episodes' rewards and lengths (steps):
    saved with the env state, so that the episodes running at a resume report their whole length and reward."""
    return {"reward_sum": logger.cur_reward_sum.clone(), "length": logger.cur_episode_length.clone(),
            "rewards": list(logger.rewbuffer), "lengths": list(logger.lenbuffer)}


def restore_episode_stats(logger, stats: dict) -> None:
    """Put ``episode_stats``' values back into a fresh logger (same env count: the env state loaded)."""
    logger.cur_reward_sum.copy_(stats["reward_sum"])
    logger.cur_episode_length.copy_(stats["length"])
    logger.rewbuffer.extend(stats["rewards"])
    logger.lenbuffer.extend(stats["lengths"])


def read_checkpoint(path: str, map_location: str | None = None) -> dict:
    """torch.load(weights_only=True) with a clear error for a missing, corrupt or foreign file."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        loaded = torch.load(path, weights_only=True, map_location=map_location)
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt or not a legged_snn checkpoint "
                              f"({type(exc).__name__}); pick another with --checkpoint") from None
    if not isinstance(loaded, dict) or not {"actor_state_dict", "student_state_dict"} & set(loaded):
        raise CheckpointError(f"checkpoint {path} holds neither an actor nor a student; it is not an rsl-rl checkpoint")
    return loaded


def actor_state(loaded: dict) -> dict:
    """The deployable actor's weights of a checkpoint: PPO's actor or a distillation's student."""
    return loaded["actor_state_dict"] if "actor_state_dict" in loaded else loaded["student_state_dict"]


def check_meta(path: str, saved: dict, current: dict) -> None:
    """Refuse a checkpoint whose task, actor or observation sizes differ from this run's."""
    for key in ("task", "actor", "obs_dim", "num_actions"):
        if key in saved and key in current and saved[key] != current[key]:
            raise CheckpointError(f"checkpoint {path} was trained with {key}={saved[key]!r}, this run has "
                                  f"{key}={current[key]!r}; load a checkpoint of the same {key}")
    if saved.get("actor") == "snn" and "snn_decoder" in current:
        decoder = saved.get("snn_decoder", "rate")  # checkpoints from before the membrane decoder
        if decoder != current["snn_decoder"]:
            raise CheckpointError(f"checkpoint {path} was trained with snn.decoder={decoder!r}, this run has "
                                  f"snn.decoder={current['snn_decoder']!r}; set snn.decoder: {decoder} (allowed: "
                                  "membrane, rate) or load a checkpoint trained with the same decoder")
