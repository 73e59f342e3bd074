"""A top-down, hill-shaded picture of a generated terrain with its tile grid, types and difficulties."""

from __future__ import annotations

import numpy as np

from legged_snn.sim.terrain import Terrain, row_difficulty


def save_preview(terrain: Terrain, path: str) -> None:
    """Write a PNG: x (difficulty rows) goes up the page, y (type columns) across it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LightSource

    cfg, h = terrain.cfg, terrain.heights.astype(np.float64)
    hs = cfg.horizontal_scale
    extent = (-cfg.border_size, h.shape[1] * hs - cfg.border_size, -cfg.border_size, h.shape[0] * hs - cfg.border_size)
    shaded = LightSource(azdeg=315, altdeg=35).shade(h, cmap=plt.get_cmap("terrain"), vert_exag=1.0 / hs,
                                                     blend_mode="soft")
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * cfg.num_cols), max(4.0, 0.7 * cfg.num_rows) + 1.5), dpi=110)
    ax.imshow(shaded, origin="lower", extent=extent, interpolation="nearest")
    for j in range(cfg.num_cols + 1):
        ax.axvline(j * cfg.tile_width, color="k", lw=0.4, alpha=0.5)
    for i in range(cfg.num_rows + 1):
        ax.axhline(i * cfg.tile_length, color="k", lw=0.4, alpha=0.5)
    ax.set_xticks([(j + 0.5) * cfg.tile_width for j in range(cfg.num_cols)])
    ax.set_xticklabels([t.replace("_", "\n") for t in terrain.types], fontsize=6, rotation=90)
    ax.set_yticks([(i + 0.5) * cfg.tile_length for i in range(cfg.num_rows)])
    ax.set_yticklabels([f"{row_difficulty(cfg, i):.2f}" for i in range(cfg.num_rows)], fontsize=7)
    ax.set_ylabel("difficulty (row)")
    ax.set_title(f"terrain seed {cfg.seed}: heights {h.min():.2f} .. {h.max():.2f} m", fontsize=9)
    sm = plt.cm.ScalarMappable(cmap="terrain", norm=plt.Normalize(h.min(), h.max()))
    fig.colorbar(sm, ax=ax, fraction=0.03, label="height (m)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
