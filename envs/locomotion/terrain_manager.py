"""Where each env lives on the terrain: spawn origins, the game-inspired curriculum, the height scan.

The height scan reads the generated heightfield (a torch tensor) at yaw-rotated grid points around each
base: no ray casting, one gather for all envs.
"""

from __future__ import annotations

import torch

from envs.locomotion.config import HeightScanCfg
from legged_snn.sim.terrain import Terrain


class TerrainManager:
    """Terrain levels/types per env (N,), their origins (N, 3) and the (N, P) ground height under scan points."""

    def __init__(self, terrain: Terrain | None, scan: HeightScanCfg, num_envs: int, gen: torch.Generator) -> None:
        self.terrain, self.gen, self.num_envs = terrain, gen, num_envs
        xs = torch.linspace(scan.x[0], scan.x[1], scan.x[2])
        ys = torch.linspace(scan.y[0], scan.y[1], scan.y[2])
        gx, gy = torch.meshgrid(xs, ys, indexing="ij")
        self.points = torch.stack([gx.flatten(), gy.flatten()], dim=-1)  # (P, 2) base-yaw frame, m
        self.origins = torch.zeros(num_envs, 3)
        self.levels = torch.zeros(num_envs, dtype=torch.long)
        self.types = torch.zeros(num_envs, dtype=torch.long)
        if terrain is None:
            return
        cfg = terrain.cfg
        dev = self.origins.device  # torch's default device (the simulation's)
        self.heights = torch.from_numpy(terrain.heights).to(dev)  # (nx, ny) m
        self.tile_origins = torch.from_numpy(terrain.origins).to(dev)  # (rows, cols, 3)
        self.max_level = cfg.num_rows
        if cfg.curriculum:
            top = min(cfg.max_init_level, cfg.num_rows - 1)
            self.levels = torch.randint(0, top + 1, (num_envs,), generator=gen)
            self.types = (torch.arange(num_envs) * cfg.num_cols) // num_envs  # envs spread evenly over types
        else:
            self.levels = torch.randint(0, cfg.num_rows, (num_envs,), generator=gen)
            self.types = torch.randint(0, cfg.num_cols, (num_envs,), generator=gen)
        self._refresh_origins(torch.arange(num_envs))

    def mean_level(self) -> float:
        return float(self.levels.float().mean())

    def place(self, env_ids: torch.Tensor, level: int, column: int | torch.Tensor) -> None:
        """Move ``env_ids``' spawn point to tile (``level``, ``column``; a (K,) column per env or one for all); they
        respawn there until moved again."""
        self.levels[env_ids], self.types[env_ids] = level, column
        self._refresh_origins(env_ids)

    def _refresh_origins(self, env_ids: torch.Tensor) -> None:
        self.origins[env_ids] = self.tile_origins[self.levels[env_ids], self.types[env_ids]]

    def update_curriculum(self, env_ids: torch.Tensor, base_xy: torch.Tensor, command_xy: torch.Tensor,
                          episode_length_s: float) -> None:
        """Before resetting ``env_ids``: up a level if it walked > half a tile from its origin, down if it
        covered < half its commanded distance; beyond the top level -> a random level (legged_gym's rule)."""
        if self.terrain is None or not self.terrain.cfg.curriculum or len(env_ids) == 0:
            return
        dist = torch.norm(base_xy - self.origins[env_ids, :2], dim=1)
        up = dist > self.terrain.cfg.tile_length / 2
        down = (dist < torch.norm(command_xy, dim=1) * episode_length_s * 0.5) & ~up
        lv = self.levels[env_ids] + up.long() - down.long()
        solved = lv >= self.max_level
        lv[solved] = torch.randint(0, self.max_level, (int(solved.sum()),), generator=self.gen)
        self.levels[env_ids] = lv.clamp(min=0)
        self._refresh_origins(env_ids)

    def ground_height(self, xy: torch.Tensor) -> torch.Tensor:
        """(..., 2) world xy (m) -> (...) height (m) of the nearest heightfield cell; 0 on flat ground."""
        if self.terrain is None:
            return torch.zeros(xy.shape[:-1])
        cfg = self.terrain.cfg
        idx = torch.round((xy + cfg.border_size) / cfg.horizontal_scale).long()
        ix = idx[..., 0].clamp(0, self.heights.shape[0] - 1)
        iy = idx[..., 1].clamp(0, self.heights.shape[1] - 1)
        return self.heights[ix, iy]

    def scan(self, base_pos: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
        """(N, 3) base position, (N,) yaw (rad) -> (N, P) ground height (m) under the scan points."""
        c, s = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]
        px, py = self.points[:, 0], self.points[:, 1]
        world = torch.stack([base_pos[:, :1] + c * px - s * py, base_pos[:, 1:2] + s * px + c * py], dim=-1)
        return self.ground_height(world)
