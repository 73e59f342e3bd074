"""rsl-rl's Logger with a one-line console summary per iteration (scalars still go to the writer)."""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import signal
import statistics
import sys
import time

import torch
from rsl_rl.utils.logger import Logger

CONSOLE_TERMS = ("tracking_lin_vel", "tracking_ang_vel", "feet_air_time", "collision")
"""Reward terms shown on the console line when the task has them."""


class BudgetReached(Exception):
    """Raised after the iteration that used up ``OneLineLogger.deadline``."""


class StopRequested(BudgetReached):
    """Raised after the iteration during which SIGINT/SIGTERM arrived (the caller saves a checkpoint)."""


class OneLineLogger(Logger):
    """Writes the same scalars as rsl-rl's Logger; prints one line instead of a block."""

    extra_scalars: dict[str, float]
    """Scalars other code (spike statistics, ...) sets for the next ``log`` call."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.extra_scalars = {}
        self.last_stats: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        self.deadline: float | None = None  # time.time() after which training stops (checkpoint first)
        self.stats_fn = None  # () -> dict of scalars logged with each iteration (spike statistics)
        self.blowups_fn = None  # () -> the env's blow-up count so far (set by the runner)
        self.blowups_seen = 0  # that count at the last console line
        self.stop_requested = False  # set by a signal handler: stop after the current iteration
        self.wall_start: float | None = None  # time of the first iteration's log minus its own duration

    def init_logging_writer(self) -> None:
        """rsl-rl's writer; its video upload skips wandb's own copies (wandb keeps its files inside the run)."""
        super().init_logging_writer()
        save_video = getattr(self.writer, "save_video", None)
        if save_video is not None:
            def run_videos_only(video, it: int) -> None:
                if "wandb" not in video.parts:
                    save_video(video, it)

            self.writer.save_video = run_videos_only  # type: ignore[union-attr]

    def _agree_on_stop(self, it: int) -> None:
        """Distributed runs stop together: any rank's stop request (signal, budget) stops every rank."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return
        budget = self.deadline is not None and time.time() > self.deadline
        dev = f"cuda:{torch.cuda.current_device()}" if torch.distributed.get_backend() == "nccl" else "cpu"
        flag = torch.tensor([float(self.stop_requested), float(budget)], device=dev)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag[0] > 0:
            raise StopRequested(f"stopped after iteration {it}")
        if flag[1] > 0:
            raise BudgetReached(f"time budget reached after iteration {it}")

    def _extras_means(self) -> dict[str, float]:
        sums: dict[str, list[float]] = {}
        for ep in self.ep_extras:
            for key, value in ep.items():
                v = value.float().mean().item() if isinstance(value, torch.Tensor) else float(value)
                sums.setdefault(key, []).append(v)
        return {k: sum(v) / len(v) for k, v in sums.items()}

    def log(self, it: int, start_it: int, total_it: int, collect_time: float, learn_time: float,
            loss_dict: dict, learning_rate: float, action_std: torch.Tensor, rnd_weight: float | None,
            **kwargs) -> None:
        """Log scalars through rsl-rl, then print one line: it, steps/s, reward, length, terms, ETA."""
        self._agree_on_stop(it)
        if self.writer is None:
            return
        extras = self._extras_means()
        if self.stats_fn is not None:
            self.extra_scalars = self.stats_fn()
        for key, value in self.extra_scalars.items():
            self.writer.add_scalar(key, value, it)
        if self.wall_start is None:
            self.wall_start = time.time() - collect_time - learn_time
        # for learning curves against env steps and wall-clock time (bench/learning_curves.py)
        self.writer.add_scalar("Perf/env_steps", (it + 1) * self.cfg["num_steps_per_env"] * self.num_envs
                               * self.gpu_world_size, it)  # counted from iteration 0 (a resumed run continues)
        self.writer.add_scalar("Perf/wall_minutes", (time.time() - self.wall_start) / 60.0, it)
        with contextlib.redirect_stdout(io.StringIO()):
            super().log(it, start_it, total_it, collect_time, learn_time, loss_dict, learning_rate, action_std,
                        rnd_weight, **kwargs)
        steps = self.cfg["num_steps_per_env"] * self.num_envs * self.gpu_world_size
        fps = steps / max(collect_time + learn_time, 1e-9)
        mean_rew = statistics.mean(self.rewbuffer) if self.rewbuffer else float("nan")
        mean_len = statistics.mean(self.lenbuffer) if self.lenbuffer else float("nan")
        done = it + 1 - start_it
        eta = self.tot_time / max(done, 1) * (total_it - start_it - done)
        if self.deadline is not None:  # a wall-clock budget ends the run first
            eta = max(0.0, min(eta, self.deadline - time.time()))
        self.last_stats = {"iteration": it, "env_steps_per_s": fps, "mean_reward": mean_rew,
                           "mean_episode_length": mean_len, "total_steps": self.tot_timesteps,
                           **extras, **self.extra_scalars,
                           **({"bc_loss": loss_dict["behavior"]} if "behavior" in loss_dict else {})}
        self.history.append(self.last_stats)
        terms = " ".join(
            f"{t}={extras[f'Episode_Reward/{t}']:.3f}" for t in CONSOLE_TERMS if f"Episode_Reward/{t}" in extras
        )
        if "Curriculum/terrain_level" in extras:
            terms += f" terrain_level={extras['Curriculum/terrain_level']:.2f}"
        blowups = self.blowups_fn() if self.blowups_fn is not None else self.blowups_seen
        if blowups > self.blowups_seen:  # MuJoCo's diverged sims, reset by the env: counted, never printed one by one
            terms += f" | blowups {blowups - self.blowups_seen} (total {blowups})"
            self.blowups_seen = blowups
        console = {k: v for k, v in self.extra_scalars.items() if k.startswith("Console/")}
        spikes = " ".join(f"{k.split('/')[-1]}={v:.3g}" for k, v in console.items())
        rew_txt = f"reward {mean_rew:.2f} | ep_len {mean_len:.0f}" if self.rewbuffer else "reward - | ep_len -"
        if "behavior" in loss_dict:  # distillation: the student's MSE to the teacher's action means
            rew_txt += f" | bc_loss {loss_dict['behavior']:.4f}"
        # the iteration's index (as in model_<it>.pt and tensorboard) and this run's progress
        print(f"it {it} ({done}/{total_it - start_it}) | {fps:,.0f} steps/s | {rew_txt} | "
              f"{terms}{' | ' + spikes if spikes else ''} | ETA {datetime.timedelta(seconds=int(eta))}", flush=True)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return  # ranks stop together: the next iteration's agreement sees a late request
        if self.stop_requested:
            raise StopRequested(f"stopped after iteration {it}")
        if self.deadline is not None and time.time() > self.deadline:
            raise BudgetReached(f"time budget reached after iteration {it}")


def stop_on_signals(runner) -> None:
    """First SIGINT/SIGTERM: finish the iteration, save, exit (``StopRequested``). A second one aborts at once."""

    def handler(signum, frame) -> None:
        if runner.logger.stop_requested:
            raise KeyboardInterrupt
        runner.logger.stop_requested = True
        print(f"{os.path.basename(sys.argv[0])}: {signal.Signals(signum).name}: saving after this iteration "
              "(again to abort)", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
