"""Look at a trained policy, plot it, export it: ``python play.py --task=a1_rough`` (legged_gym's flags).

Loads the latest run's latest checkpoint (``--load_run``, ``--checkpoint`` pick another), exports it into the
run's ``exported/`` (policy.pt, policy.onnx, policy.json, policy.nir), then shows it in the MuJoCo viewer when a
display exists, or writes ``--video PATH.mp4`` / ``--plots DIR`` headless.
"""

from __future__ import annotations

import os
import sys

if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; must be set before mujoco is imported

from legged_snn.cli import UserError, _positive_int, build_parser  # noqa: E402


def parser():
    p = build_parser("play.py", training=False)
    p.add_argument("--video", metavar="PATH.mp4", help="record a video of the followed robot (--env_id; headless)")
    p.add_argument("--plots", metavar="DIR",
                   help="write velocity, joint, gait and spike plots of the followed robot (--env_id)")
    p.add_argument("--seconds", type=float, default=10.0, help="how long to run (video/plots length, s)")
    p.add_argument("--export_only", action="store_true", help="export and stop")
    p.add_argument("--evaluate", action="store_true",
                   help="print the env's own tracking on the sim2sim command schedule (JSON) and stop")
    p.add_argument("--no_export", action="store_true", help="skip the export")
    p.add_argument("--vx", type=float, help="fixed forward velocity command (m/s)")
    p.add_argument("--vy", type=float, help="fixed lateral velocity command (m/s)")
    p.add_argument("--yaw_rate", type=float, help="fixed yaw-rate command (rad/s)")
    p.add_argument("--env_id", type=int, metavar="N",
                   help="the robot the camera and plots follow (default: env 0, put on a hard tile on rough tasks)")
    p.add_argument("--width", type=_positive_int, default=640, help="video width (px)")
    p.add_argument("--height", type=_positive_int, default=480, help="video height (px)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.video and not args.video.endswith(".mp4"):
        print(f"play.py: error: --video {args.video}: give a path ending in .mp4", file=sys.stderr)
        return 2
    if args.seconds <= 0:
        print(f"play.py: error: --seconds must be > 0, got {args.seconds}", file=sys.stderr)
        return 2
    from envs.play.session import PlaySession  # heavy imports after the flags are known good

    try:
        ps = PlaySession(args)
        if not args.no_export:
            for kind, path in ps.export().items():
                print(f"exported {kind}: {path}")
        if args.evaluate:
            import json

            print(json.dumps(ps.evaluate()))
            return 0
        if args.export_only:
            return 0
        ps.run()
    except UserError as exc:
        print(f"play.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
