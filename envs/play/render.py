"""Pictures of one env of a batch: its state copied into an MjData, drawn by mujoco.Renderer or the viewer.

Video: ``MUJOCO_GL=egl`` (GPU or Mesa on the CPU) or ``osmesa`` renders without a display; frames go to an
MP4 through imageio-ffmpeg, one frame per policy step (50 fps at legged_gym's 0.02 s).
"""

from __future__ import annotations

import os
import warnings

import mujoco
import numpy as np


class RendererError(RuntimeError):
    """No OpenGL context could be made (one-line message naming MUJOCO_GL)."""


class EnvMirror:
    """MjData holding env ``index``'s state of a MujocoCpuBackend, refreshed on demand."""

    def __init__(self, backend, index: int = 0) -> None:
        self.backend, self.index = backend, index
        self.model = backend.model
        self.data = mujoco.MjData(self.model)
        self.sync()

    def sync(self) -> None:
        self.data.qpos[:] = self.backend._qpos[self.index].cpu().numpy()
        self.data.qvel[:] = self.backend._qvel[self.index].cpu().numpy()
        mujoco.mj_forward(self.model, self.data)

    def base_pos(self) -> np.ndarray:
        return self.data.qpos[:3].copy()


def follow_camera(distance: float) -> mujoco.MjvCamera:
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.distance, cam.azimuth, cam.elevation = distance, 135.0, -20.0
    return cam


class VideoRecorder:
    """Renders the mirrored env from a camera that follows the base; writes an MP4 on ``close``."""

    def __init__(self, mirror: EnvMirror, path: str, fps: float, width: int = 640, height: int = 480,
                 distance: float = 1.5) -> None:
        try:
            with warnings.catch_warnings():  # GLFW warns on stderr before failing; our one line says it all
                warnings.simplefilter("ignore")
                self.renderer = mujoco.Renderer(mirror.model, height=height, width=width)
        except Exception as exc:  # mujoco raises several types when no GL context can be created
            gl = os.environ.get("MUJOCO_GL", "(unset)")
            raise RendererError(f"cannot render video with MUJOCO_GL={gl} ({str(exc).splitlines()[0]}); "
                                "set MUJOCO_GL=egl (or osmesa) for headless rendering") from None
        self.mirror, self.path, self.fps = mirror, path, fps
        self.camera = follow_camera(distance)
        self.frames: list[np.ndarray] = []

    def capture(self) -> None:
        self.mirror.sync()
        self.camera.lookat[:] = self.mirror.base_pos()
        self.renderer.update_scene(self.mirror.data, camera=self.camera)
        self.frames.append(self.renderer.render().copy())

    def close(self) -> int:
        """Write the MP4 (atomically) and return the frame count."""
        import imageio.v2 as imageio

        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        tmp = self.path + ".part.mp4"
        with imageio.get_writer(tmp, fps=self.fps, codec="libx264", macro_block_size=8) as w:
            for f in self.frames:
                w.append_data(f)
        os.replace(tmp, self.path)
        self.renderer.close()
        return len(self.frames)


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
