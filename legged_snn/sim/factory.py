"""Pick a backend from ``--sim_device``: ``cpu`` -> mujoco.batch.Batch, ``cuda[:N]`` / ``warp:cpu`` -> MuJoCo Warp."""

from __future__ import annotations

from legged_snn.sim.backend import Backend
from legged_snn.sim.model import ModelCfg


def make_backend(cfg: ModelCfg, num_envs: int, decimation: int, sim_device: str = "cpu",
                 nthread: int = 0) -> Backend:
    """Build the backend for ``sim_device``; a clear error for devices not available here."""
    if sim_device == "cpu":
        from legged_snn.sim.mujoco_cpu import MujocoCpuBackend

        return MujocoCpuBackend(cfg, num_envs, decimation, nthread=nthread)
    if sim_device.startswith("cuda") or sim_device.startswith("warp:"):
        import torch

        from legged_snn.sim.mujoco_warp import MujocoWarpBackend, import_warp, warp_available_device

        if sim_device.startswith("cuda") and not torch.cuda.is_available():  # before Warp prints its own warning
            raise ValueError(f"--sim_device {sim_device}: no CUDA GPU is available here; use --sim_device cpu "
                             "(or warp:cpu)")

        try:
            wp, _ = import_warp()
        except ImportError as exc:
            raise ValueError(f"--sim_device {sim_device}: {exc}") from None
        device = warp_available_device(sim_device)
        wp.config.quiet = True
        wp.init()
        if device.startswith("cuda") and not any(d.alias == device for d in wp.get_cuda_devices()):
            have = ", ".join(d.alias for d in wp.get_cuda_devices()) or "none"
            raise ValueError(f"--sim_device {sim_device}: no such CUDA device (found: {have}); "
                             "use --sim_device cpu (or warp:cpu)")
        return MujocoWarpBackend(cfg, num_envs, decimation, device)
    raise ValueError(f"unknown --sim_device {sim_device!r}; use 'cpu', 'cuda[:N]' or 'warp:cpu'")
