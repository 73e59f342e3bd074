"""Train a locomotion policy: ``python train.py --task=a1_flat`` (legged_gym's flags)."""

from __future__ import annotations

import os
import shutil
import sys

from legged_snn.cli import UserError, parse


def main(argv: list[str] | None = None) -> int:
    args = parse(argv, "train.py")
    from envs.launch import make_session  # heavy imports after the flags are known good

    session = None
    try:
        session = make_session(args)
        if session.resume_path:
            print(f"resumed from {session.resume_path} (next iteration {session.runner.current_learning_iteration})")
        print(f"logging to {session.log_dir}")
        session.runner.learn(session.train_cfg.runner.max_iterations, init_at_random_ep_len=not session.resume_path)
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


if __name__ == "__main__":
    sys.exit(main())
