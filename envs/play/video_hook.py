"""train.py --video_interval N: a short clip of env 0 every N iterations into the run's videos/ (and wandb)."""

from __future__ import annotations

import os

from envs.play.render import EnvMirror, VideoRecorder


class TrainingVideos:
    """An env step hook: starts a clip at the first step of every N-th iteration, ``seconds`` long at most
    (and no longer than N iterations, so that every N-th iteration gets its clip)."""

    def __init__(self, env, run_dir: str, interval: int, steps_per_iteration: int, seconds: float = 4.0,
                 start_iteration: int = 0) -> None:
        self.env, self.interval, self.spi = env, interval, steps_per_iteration
        self.length = max(1, min(int(round(seconds / env.dt)), interval * steps_per_iteration))  # never overlap
        self.folder = os.path.join(run_dir, "videos")
        self.start_iteration = start_iteration
        self.mirror = EnvMirror(env.backend)
        VideoRecorder(self.mirror, os.devnull, 1.0, 16, 16).renderer.close()  # fail now if there is no GL
        self.recorder: VideoRecorder | None = None
        self.written: list[str] = []
        self._steps = 0

    def __call__(self, env) -> None:
        it = self.start_iteration + self._steps // self.spi
        if self.recorder is None and self._steps % self.spi == 0 and it % self.interval == 0:
            path = os.path.join(self.folder, f"iteration_{it}.mp4")
            self.recorder = VideoRecorder(self.mirror, path, 1.0 / env.dt, 480, 360,
                                          distance=max(1.2, 3.5 * env.cfg.robot.init_pos[2]))
            self._left = self.length
        self._steps += 1
        if self.recorder is None:
            return
        self.recorder.capture()
        self._left -= 1
        if self._left == 0:
            self.recorder.close()
            self.written.append(self.recorder.path)  # rsl-rl's logger uploads new .mp4 files of the run (wandb)
            self.recorder = None

    def finish(self) -> None:
        """Write a clip cut short by the end of training."""
        if self.recorder is not None and self.recorder.frames:
            self.recorder.close()
            self.written.append(self.recorder.path)
        self.recorder = None
