"""play.py's work: load a trained run in play mode, export it, drive the viewer / video / plots."""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from envs.launch import apply_gait, apply_policy, make_session, trained_gait, trained_policy
from envs.locomotion.metadata import policy_metadata
from envs.play.evaluate import evaluate_env, flat_eval_variant
from envs.play.plots import Recorder, save_plots
from envs.play.render import EnvMirror, RendererError, VideoRecorder, display_available
from envs.tasks import play_variant
from legged_snn.cli import UserError, resolve_checkpoint
from legged_snn.export import ExportError, export_policy
from legged_snn.registry import UnknownTaskError, load
from legged_snn.rl.runner import CheckpointError, read_checkpoint
from legged_snn.snn.anneal import unhardened

HARD_TILE = "stairs_up"  # the tile play puts the camera's robot on by default (rough tasks, hardest row)


def camera_robot(env, env_id: int | None) -> tuple[int, str | None]:
    """The env the camera and plots follow, and where it was put: ``env_id`` as it is, else env 0 moved onto the
    hardest row of the stairs-up column (rough tasks; flat ones leave it). A one-line UserError out of range."""
    n = env.num_envs
    if env_id is not None and not 0 <= env_id < n:
        raise UserError(f"--env_id {env_id} is out of range: play runs {n} envs (0..{n - 1}); "
                        f"pass --env_id below {n} or more --num_envs")
    terrain = env.terrain.terrain
    if terrain is None:
        return env_id or 0, None
    types = terrain.types
    if env_id is not None:  # say where the chosen robot stands (play's terrain: random row and column per robot)
        level, column = int(env.terrain.levels[env_id]), int(env.terrain.types[env_id])
        return env_id, f"camera on env {env_id}: {types[column]}, row {level} of 0..{env.terrain.max_level - 1}"
    column = types.index(HARD_TILE) if HARD_TILE in types else len(types) - 1
    level = env.terrain.max_level - 1
    env.place_on_tile(0, level, column)
    return 0, f"camera on env 0: {types[column]}, row {level} of 0..{level} (--env_id N follows another robot)"


class PlaySession:
    """A few envs of the task in play mode with the checkpoint's actor loaded."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        try:
            _, train_cfg = load(args.task)
        except UnknownTaskError as exc:
            raise UserError(str(exc)) from None
        exp = args.experiment_name or train_cfg.runner.experiment_name
        exp_dir = os.path.join(args.log_root, exp)
        if not os.path.isdir(exp_dir):
            raise UserError(f"no runs of {args.task} in {exp_dir}; train one first: python train.py --task={args.task}")
        self.checkpoint = resolve_checkpoint(exp_dir, args.load_run, args.checkpoint)
        self.run_dir = os.path.dirname(self.checkpoint)
        try:
            saved = read_checkpoint(self.checkpoint)
        except CheckpointError as exc:
            raise UserError(str(exc)) from None
        infos = saved.get("infos") or {}
        if infos.get("task") not in (None, args.task):
            raise UserError(f"{self.checkpoint} was trained on task {infos['task']!r}, not {args.task!r}; "
                            f"use --task={infos['task']}")
        trained = trained_policy(self.run_dir)
        given = (args.vx, args.vy, args.yaw_rate)
        # any command flag fixes all three (the ones not given are 0)
        self.fixed_command = None if all(v is None for v in given) else [v or 0.0 for v in given]
        if args.actor and infos.get("actor") and args.actor != infos["actor"]:
            raise UserError(f"{self.checkpoint} holds a {infos['actor']} actor, not {args.actor}; drop --actor")

        def edit(env_cfg, tcfg) -> None:
            play_variant(env_cfg, args.num_envs or 16)
            if args.num_envs:
                env_cfg.env.num_envs = args.num_envs
            if getattr(args, "evaluate", False):
                flat_eval_variant(env_cfg)
            apply_gait(env_cfg, trained_gait(self.run_dir), args.gait)
            if trained:
                apply_policy(tcfg, trained)
            elif infos.get("actor"):
                tcfg.policy.actor = infos["actor"]
            if self.fixed_command is not None:
                env_cfg.commands.heading_command = False
                env_cfg.commands.resampling_time = 1e9

        args.actor = None  # the run's own actor settings win
        self.session = make_session(args, log=False, edit=edit)
        self.env, self.runner = self.session.env, self.session.runner
        try:
            self.runner.load(self.checkpoint, restore_env=False)  # play's own envs, not training's
        except CheckpointError as exc:
            raise UserError(str(exc)) from None
        print(f"loaded {self.checkpoint} ({self.session.train_cfg.policy.actor} actor)")
        msg = unhardened(getattr(self.runner.alg.get_policy(), "anneal", None), int(saved.get("iter", -1)) + 1)
        if msg:  # the checkpoint's last update ran a smooth forward; play and the exports run spikes
            print(f"warning: {self.checkpoint}: {msg}", file=sys.stderr)
        self.index = 0  # the robot the camera and plots follow: chosen by _follow() when something is shown

    def export(self) -> dict[str, str]:
        meta = policy_metadata(self.args.task, self.env, self.session.train_cfg)
        meta["checkpoint"] = os.path.abspath(self.checkpoint)
        try:
            return export_policy(self.runner, meta, os.path.join(self.run_dir, "exported"))
        except ExportError as exc:
            raise UserError(str(exc)) from None

    def evaluate(self) -> dict:
        """The env's tracking on sim2sim's command schedule (flat ground, one robot)."""
        out = evaluate_env(self.env, self.runner.get_inference_policy())
        return {"bench": "env_eval", "task": self.args.task, "actor": self.session.train_cfg.policy.actor, **out}

    def _fix_commands(self) -> None:
        if self.fixed_command is not None:
            self.env.commands[:] = torch.tensor(self.fixed_command, device=self.env.commands.device)

    def _follow(self) -> None:
        """Pick (and on rough tasks place) the robot the camera and plots follow (``camera_robot``)."""
        self.index, where = camera_robot(self.env, self.args.env_id)
        if where:
            print(where)

    def run(self) -> None:
        a, env = self.args, self.env
        headless = a.headless or a.video or a.plots or not display_available()
        if headless and not (a.video or a.plots):
            raise UserError("no display for the viewer; pass --video PATH.mp4 and/or --plots DIR")
        self._follow()
        if not headless:
            return self._viewer()
        mirror = EnvMirror(env.backend, self.index)
        video = None
        if a.video:
            try:
                video = VideoRecorder(mirror, a.video, 1.0 / env.dt, a.width, a.height,
                                      distance=max(1.2, 3.5 * env.cfg.robot.init_pos[2]))
            except RendererError as exc:
                raise UserError(str(exc)) from None
        rec = Recorder(self.index) if a.plots else None
        actor = self.runner.alg.get_policy()
        net = getattr(actor, "network", None)
        trace_state = None
        policy = self.runner.get_inference_policy()
        obs = env.get_observations()
        steps = int(round(a.seconds / env.dt))
        self._fix_commands()
        with torch.no_grad():
            for _ in range(steps):
                actions = policy(obs)
                trace = None
                if rec is not None and net is not None:
                    latent = actor.get_latent(obs)[self.index:self.index + 1]
                    trace, new_state = net.spike_trace(latent, trace_state)
                    trace_state = new_state if getattr(actor, "is_recurrent", False) else None
                obs, _, dones, _ = env.step(actions)
                policy.reset(dones)
                if dones[self.index]:
                    trace_state = None  # the followed robot respawned: its spiking state starts over
                self._fix_commands()
                if rec is not None:
                    targets = env.default_joint_pos + env.cfg.robot.action_scale * env.actions
                    rec.record(env, targets, trace)
                if video is not None:
                    video.capture()
        if video is not None:
            print(f"wrote {a.video}: {video.close()} frames at {1.0 / env.dt:.0f} fps")
        if rec is not None:
            names = None
            if net is not None:
                names = ["encoder"] + [f"hidden {i + 1}" for i in range(len(net.layers) - 1)] + ["output"]
            for path in save_plots(rec, a.plots, env.dt, env.cfg.robot.joint_names, env.cfg.robot.foot_bodies, names):
                print(f"wrote {path}")

    def _viewer(self) -> None:
        """Interactive viewer on the camera's env; arrow keys change the command (up/down v_x, left/right yaw rate)."""
        import mujoco.viewer

        env = self.env
        mirror = EnvMirror(env.backend, self.index)
        vx, vy, yaw = self.fixed_command or (0.5, 0.0, 0.0)
        cmd = {"vx": vx, "yaw": yaw}

        def key(code: int) -> None:
            step = {265: ("vx", 0.1), 264: ("vx", -0.1), 263: ("yaw", 0.2), 262: ("yaw", -0.2)}.get(code)
            if step:
                cmd[step[0]] += step[1]
                print(f"command v_x {cmd['vx']:.1f} m/s, yaw rate {cmd['yaw']:.1f} rad/s")

        env.cfg.commands.heading_command = False
        policy = self.runner.get_inference_policy()
        obs = env.get_observations()
        with mujoco.viewer.launch_passive(mirror.model, mirror.data, key_callback=key) as viewer, torch.no_grad():
            while viewer.is_running():
                t = time.time()
                env.commands[:, 0], env.commands[:, 1], env.commands[:, 2] = cmd["vx"], vy, cmd["yaw"]
                obs, _, dones, _ = env.step(policy(obs))
                policy.reset(dones)
                mirror.sync()
                viewer.sync()
                time.sleep(max(0.0, env.dt - (time.time() - t)))
