"""Train a locomotion policy: ``python train.py --task=a1_flat`` (legged_gym's flags)."""

from __future__ import annotations

import os
import shutil
import sys

from legged_snn.cli import UserError, _positive_int, build_parser


def main(argv: list[str] | None = None) -> int:
    p = build_parser("train.py")
    p.add_argument("--video_interval", type=_positive_int, metavar="N",
                   help="record a 4 s clip of env 0 every N iterations into the run's videos/ (uploaded to wandb)")
    args = p.parse_args(argv)
    if args.video_interval and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported
    from envs.launch import make_session  # heavy imports after the flags are known good

    session = None
    try:
        session = make_session(args)
        if session.resume_path:
            print(f"resumed from {session.resume_path} (next iteration {session.runner.current_learning_iteration})")
        print(f"logging to {session.log_dir}")
        if args.video_interval:
            _attach_videos(session, args.video_interval)
        session.runner.learn(session.train_cfg.runner.max_iterations, init_at_random_ep_len=not session.resume_path)
        for hook in session.env.step_hooks:
            hook.finish()
    except UserError as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("train.py: interrupted", file=sys.stderr)
        return 130
    except BaseException:
        if session and session.log_dir and not any(f.startswith("model_") for f in os.listdir(session.log_dir)):
            shutil.rmtree(session.log_dir, ignore_errors=True)  # nothing worth keeping
        raise
    return 0


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
