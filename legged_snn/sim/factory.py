"""Pick a backend from ``--sim_device``: ``cpu`` -> mujoco.batch.Batch."""

from __future__ import annotations

from legged_snn.sim.backend import Backend
from legged_snn.sim.model import ModelCfg


def make_backend(cfg: ModelCfg, num_envs: int, decimation: int, sim_device: str = "cpu",
                 nthread: int = 0) -> Backend:
    """Build the backend for ``sim_device``; a clear error for devices not available here."""
    if sim_device == "cpu":
        from legged_snn.sim.mujoco_cpu import MujocoCpuBackend

        return MujocoCpuBackend(cfg, num_envs, decimation, nthread=nthread)
    if sim_device.startswith("cuda"):
        raise ValueError(f"--sim_device {sim_device}: the MuJoCo Warp GPU backend is not available in this "
                         "version; use --sim_device cpu")
    raise ValueError(f"unknown --sim_device {sim_device!r}; use 'cpu'")
