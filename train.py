"""Train a locomotion policy: ``python train.py --task=a1_flat`` (legged_gym's flags)."""

from __future__ import annotations

import os
import shutil
import sys

from legged_snn.cli import UserError, _positive_int, add_training_flags, build_parser
from legged_snn.rl.logger import StopRequested, stop_on_signals


def main(argv: list[str] | None = None) -> int:
    p = add_training_flags(build_parser("train.py"))
    p.add_argument("--video_interval", type=_positive_int, metavar="N",
                   help="record a 4 s clip of env 0 every N iterations into the run's videos/ (uploaded to wandb)")
    args = p.parse_args(argv)
    if args.video_interval and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported
    print(f"train.py: {args.task}: loading torch, MuJoCo and rsl-rl ...", flush=True)  # first feedback, < 1 s
    from envs.launch import make_session  # heavy imports after the flags are known good
    from legged_snn.rl.errors import PolicyNaNError

    session = None
    try:
        session = make_session(args)
        if session.resume_path:
            print(f"resumed from {session.resume_path} (next iteration {session.runner.current_learning_iteration})")
        print(f"logging to {session.log_dir}")
        _warn_unhardened(session)
        if args.video_interval and session.log_dir:
            _attach_videos(session, args.video_interval)
        stop_on_signals(session.runner)
        try:
            session.runner.learn(session.train_cfg.runner.max_iterations,
                                 init_at_random_ep_len=not session.resume_path)
            session.close()
        except PolicyNaNError as exc:
            raise UserError(f"{exc} at iteration {session.runner.current_learning_iteration}; "
                            f"{_blowups(session, args.task)}{_last_good(session)}") from None
        except StopRequested:
            if session.log_dir is None:  # a distributed rank other than 0: rank 0 saves
                session.close()
                return 130
            path = os.path.join(session.log_dir, f"model_{session.runner.current_learning_iteration}.pt")
            session.runner.save(path)
            session.close()  # the other ranks wait here for the save
            print(f"train.py: interrupted; saved {path}; continue with: python train.py --task={args.task} "
                  f"--resume --load_run={os.path.basename(session.log_dir)}", file=sys.stderr)
            return 130
        finally:
            try:
                for hook in session.env.step_hooks:
                    hook.finish()
            finally:
                session.close(finished=False)  # a no-op after a barrier above
    except UserError as exc:
        _drop_empty_run(session)
        print(f"train.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _drop_empty_run(session)
        print("train.py: interrupted", file=sys.stderr)
        return 130
    except BaseException:
        _drop_empty_run(session)
        raise
    return 0


def _drop_empty_run(session) -> None:
    """A run folder without any checkpoint holds nothing worth keeping."""
    if session and session.log_dir and os.path.isdir(session.log_dir) and \
            not any(f.startswith("model_") for f in os.listdir(session.log_dir)):
        shutil.rmtree(session.log_dir, ignore_errors=True)


def _blowups(session, task: str) -> str:
    """The likely cause of a NaN policy when the simulation diverged during the run (empty when it never did)."""
    n = int(getattr(session.env, "blowups_total", 0))
    if n == 0:
        return ""
    robot = session.env.cfg.robot
    meshdir = f" --meshdir {robot.meshdir}" if robot.meshdir else ""
    return (f"the simulation blew up {n} times before (robot model, gains or randomization: check with "
            f"python -m legged_snn.robot_check {robot.urdf} --task {task}{meshdir}); ")


def _last_good(session) -> str:
    """Where to restart a diverged run from."""
    from legged_snn.cli import list_checkpoints

    its = list_checkpoints(session.log_dir) if session.log_dir else []
    if not its:
        return "no checkpoint was saved; lower the learning rate and train again"
    return (f"the last good checkpoint is {os.path.join(session.log_dir, f'model_{its[-1]}.pt')}: resume with "
            f"--resume --load_run={os.path.basename(session.log_dir)} --checkpoint={its[-1]}")


def _warn_unhardened(session) -> None:
    """A warning when the run stops before an annealed spiking actor's forward is pure spikes (snn.anneal)."""
    from legged_snn.snn.anneal import unhardened

    runner = session.runner
    end = runner.current_learning_iteration + session.train_cfg.runner.max_iterations
    msg = unhardened(getattr(runner.alg.get_policy(), "anneal", None), end)
    if msg:
        print(f"train.py: warning: {msg}", file=sys.stderr)


def _attach_videos(session, interval: int) -> None:
    from envs.play.render import RendererError
    from envs.play.video_hook import TrainingVideos

    try:
        hook = TrainingVideos(session.env, session.log_dir, interval, session.train_cfg.runner.num_steps_per_env,
                              start_iteration=session.runner.current_learning_iteration)
    except RendererError as exc:
        raise UserError(str(exc)) from None
    session.env.step_hooks.append(hook)


if __name__ == "__main__":
    sys.exit(main())
