"""Terrain generator (numpy only): a heightfield of tiles, rows = difficulty levels, columns = types.

World frame: the first tile's corner is at (0, 0); the border extends ``border_size`` m beyond every edge.
Heights are metres, quantized to ``vertical_scale``. ``Terrain.heights[ix, iy]`` is the height at
x = ix * horizontal_scale - border_size, y = iy * horizontal_scale - border_size.

    python -m legged_snn.sim.terrain --preview terrain.png     # a picture of the generated tiles
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np

TYPES = ("smooth_slope", "rough_slope", "stairs_up", "stairs_down", "discrete_obstacles", "stepping_stones",
         "gaps", "wave")
SCAN_FOOTPRINT = (1.6, 1.0)  # m, x and y extent of the 17 x 11 height scan
MAX_CELLS = 100_000_000  # 400 MB of float32 per copy; the model, the env and Batch each hold one
PIT_DEPTH = 1.0  # m, depth of the pits around stepping stones and in gaps


@dataclass
class TerrainCfg:
    num_rows: int = 10  # difficulty levels (tiles along x)
    num_cols: int = 20  # tiles along y; their types follow the proportions
    tile_length: float = 8.0  # m along x
    tile_width: float = 8.0  # m along y
    border_size: float = 25.0  # m of flat ground around the tiles
    horizontal_scale: float = 0.1  # m per heightfield cell
    vertical_scale: float = 0.005  # m per height quantum
    platform_size: float = 3.0  # m, flat square at each tile centre (spawn area)
    step_width: float = 0.31  # m, stair tread
    num_obstacles: int = 20  # rectangles per discrete-obstacles tile
    obstacle_size: tuple[float, float] = (1.0, 2.0)  # m, side length range of the rectangles
    rough_noise: float = 0.05  # m, +- uniform noise of rough slopes
    rough_noise_grid: float = 0.2  # m, spacing of the noise's random heights, bilinear in between (legged_gym's
    # downsampled_scale); at horizontal_scale every cell would be its own +-5 cm pillar
    difficulty_range: tuple[float, float] = (0.0, 1.0)  # difficulty of the first and last row
    proportions: dict[str, float] = field(default_factory=lambda: {
        "smooth_slope": 0.1, "rough_slope": 0.1, "stairs_up": 0.35, "stairs_down": 0.25,
        "discrete_obstacles": 0.2, "stepping_stones": 0.0, "gaps": 0.0, "wave": 0.0,
    })  # share of columns per type; must sum to 1
    ramps: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "slope": (0.0, 0.4), "step_height": (0.05, 0.23), "obstacle_height": (0.05, 0.25),
        "stone_size": (1.5, 0.3), "stone_gap": (0.05, 0.3), "gap_size": (0.0, 1.0), "wave_amplitude": (0.0, 0.3),
    })  # value at difficulty 0 and at difficulty 1 (linear in between); metres, slope as rise/run
    seed: int = 0  # same seed, same terrain
    curriculum: bool = True  # envs start low and move with their skill; False = random level and type
    max_init_level: int = 5  # envs start at a level in [0, max_init_level]


class TerrainError(ValueError):
    """A terrain configuration that cannot be built (one-line message)."""


def validate(cfg: TerrainCfg) -> None:
    """Raise TerrainError naming the bad field and what it accepts."""
    unknown = sorted(set(cfg.proportions) - set(TYPES))
    if unknown:
        raise TerrainError(f"terrain.proportions: unknown type {unknown[0]!r}; known types: {', '.join(TYPES)}")
    if any(v < 0 for v in cfg.proportions.values()):
        raise TerrainError("terrain.proportions must be >= 0")
    total = sum(cfg.proportions.values())
    if abs(total - 1.0) > 1e-6:
        raise TerrainError(f"terrain.proportions sum to {total:g}; they must sum to 1")
    lo, hi = cfg.difficulty_range
    if lo < 0 or hi < 0 or lo > hi:
        raise TerrainError(f"terrain.difficulty_range {cfg.difficulty_range} must satisfy 0 <= lo <= hi")
    if cfg.num_rows < 1 or cfg.num_cols < 1:
        raise TerrainError(f"terrain.num_rows/num_cols must be >= 1, got {cfg.num_rows}/{cfg.num_cols}")
    if cfg.horizontal_scale <= 0 or cfg.vertical_scale <= 0 or cfg.border_size < 0:
        raise TerrainError("terrain.horizontal_scale and vertical_scale must be > 0, border_size >= 0")
    if cfg.rough_noise < 0 or cfg.rough_noise_grid < cfg.horizontal_scale:
        raise TerrainError(f"terrain.rough_noise must be >= 0 and rough_noise_grid >= horizontal_scale "
                           f"({cfg.horizontal_scale} m), got {cfg.rough_noise} and {cfg.rough_noise_grid}")
    fx, fy = SCAN_FOOTPRINT
    if cfg.tile_length < fx or cfg.tile_width < fy:
        raise TerrainError(f"terrain tile {cfg.tile_length} x {cfg.tile_width} m is smaller than the height-scan "
                           f"footprint {fx} x {fy} m; use tiles of at least that size")
    if cfg.platform_size > min(cfg.tile_length, cfg.tile_width):
        raise TerrainError(f"terrain.platform_size {cfg.platform_size} m exceeds the tile; make it smaller")
    nx, ny = grid_shape(cfg)
    if nx * ny > MAX_CELLS:
        raise TerrainError(f"terrain heightfield would be {nx} x {ny} cells ({nx * ny * 4 / 1e9:.1f} GB per "
                           f"copy); use fewer tiles, a smaller border or a coarser horizontal_scale")
    if cfg.max_init_level < 0:
        raise TerrainError(f"terrain.max_init_level must be >= 0, got {cfg.max_init_level}")


def grid_shape(cfg: TerrainCfg) -> tuple[int, int]:
    """(nx, ny) cells of the whole heightfield."""
    b = round(cfg.border_size / cfg.horizontal_scale)
    tx, ty = tile_cells(cfg)
    return cfg.num_rows * tx + 2 * b, cfg.num_cols * ty + 2 * b


def tile_cells(cfg: TerrainCfg) -> tuple[int, int]:
    return round(cfg.tile_length / cfg.horizontal_scale), round(cfg.tile_width / cfg.horizontal_scale)


def ramp(cfg: TerrainCfg, name: str, difficulty: float) -> float:
    """A per-type parameter at ``difficulty`` (linear between its values at 0 and 1)."""
    a, b = cfg.ramps[name]
    return a + (b - a) * difficulty


def column_types(cfg: TerrainCfg) -> list[str]:
    """Type of each column: the proportions as contiguous column blocks, in TYPES order."""
    edges = np.cumsum([cfg.proportions.get(t, 0.0) for t in TYPES])
    return [TYPES[int(np.searchsorted(edges, (j + 0.5) / cfg.num_cols, side="right"))] for j in range(cfg.num_cols)]


def row_difficulty(cfg: TerrainCfg, row: int) -> float:
    lo, hi = cfg.difficulty_range
    return lo + (hi - lo) * row / max(cfg.num_rows - 1, 1)


def _ring(cfg: TerrainCfg, shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Chebyshev distance (m) of each cell centre from the tile centre, and the tile half-size (m)."""
    hs = cfg.horizontal_scale
    u = (np.arange(shape[0]) + 0.5) * hs - shape[0] * hs / 2
    v = (np.arange(shape[1]) + 0.5) * hs - shape[1] * hs / 2
    return np.maximum(np.abs(u)[:, None], np.abs(v)[None, :]), min(shape) * hs / 2


def _pyramid(cfg: TerrainCfg, shape: tuple[int, int], rise_per_m: float) -> np.ndarray:
    r, half = _ring(cfg, shape)
    return rise_per_m * (half - np.maximum(r, cfg.platform_size / 2)).clip(min=0)


def _stairs(cfg: TerrainCfg, shape: tuple[int, int], step: float) -> np.ndarray:
    r, half = _ring(cfg, shape)
    inward = (half - np.maximum(r, cfg.platform_size / 2)).clip(min=0)
    return np.floor(inward / cfg.step_width) * step


def _rectangles(cfg: TerrainCfg, h: np.ndarray, rng: np.random.Generator, count: int, size: tuple[float, float],
                heights: np.ndarray) -> None:
    hs = cfg.horizontal_scale
    for _ in range(count):
        w, l_ = (rng.uniform(*size, 2) / hs).astype(int).clip(min=1)
        x0, y0 = rng.integers(0, h.shape[0] - w + 1), rng.integers(0, h.shape[1] - l_ + 1)
        h[x0:x0 + w, y0:y0 + l_] = rng.choice(heights)


def _bumps(cfg: TerrainCfg, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(tx, ty) m: uniform heights in +-rough_noise drawn every rough_noise_grid metres, bilinear between them."""
    hs = cfg.horizontal_scale
    u, v = np.arange(shape[0]) * hs, np.arange(shape[1]) * hs  # cell positions, m
    gu = np.arange(int(np.ceil(u[-1] / cfg.rough_noise_grid)) + 1) * cfg.rough_noise_grid
    gv = np.arange(int(np.ceil(v[-1] / cfg.rough_noise_grid)) + 1) * cfg.rough_noise_grid
    coarse = rng.uniform(-cfg.rough_noise, cfg.rough_noise, (len(gu), len(gv)))
    along_v = np.stack([np.interp(v, gv, row) for row in coarse])  # (len(gu), ty)
    return np.stack([np.interp(u, gu, col) for col in along_v.T], axis=1)  # (tx, ty)


def _platform(cfg: TerrainCfg, h: np.ndarray, value: float = 0.0) -> None:
    r, _ = _ring(cfg, h.shape)
    h[r <= cfg.platform_size / 2] = value


def make_tile(cfg: TerrainCfg, kind: str, difficulty: float, rng: np.random.Generator) -> np.ndarray:
    """(tx, ty) heights (m) of one tile; its edges sit at height 0 so neighbouring tiles meet."""
    shape = tile_cells(cfg)
    hs = cfg.horizontal_scale
    if kind == "smooth_slope":
        h = _pyramid(cfg, shape, ramp(cfg, "slope", difficulty))
    elif kind == "rough_slope":  # a pyramid pit with uniform bumps
        h = -_pyramid(cfg, shape, ramp(cfg, "slope", difficulty))
        h += _bumps(cfg, shape, rng)
    elif kind == "stairs_up":
        h = _stairs(cfg, shape, ramp(cfg, "step_height", difficulty))
    elif kind == "stairs_down":
        h = -_stairs(cfg, shape, ramp(cfg, "step_height", difficulty))
    elif kind == "discrete_obstacles":
        top = ramp(cfg, "obstacle_height", difficulty)
        h = np.zeros(shape)
        _rectangles(cfg, h, rng, cfg.num_obstacles, cfg.obstacle_size, np.array([-top, -top / 2, top / 2, top]))
        _platform(cfg, h)
    elif kind == "stepping_stones":
        size, gap = ramp(cfg, "stone_size", difficulty), ramp(cfg, "stone_gap", difficulty)
        h = np.full(shape, -PIT_DEPTH)
        stone = max(round(size / hs), 1)
        pitch = stone + max(int(np.ceil(gap / hs - 1e-9)), 1)  # a gap never rounds away
        for x0 in range(0, shape[0], pitch):
            for y0 in range(0, shape[1], pitch):
                h[x0:x0 + stone, y0:y0 + stone] = 0.0
        _platform(cfg, h)
    elif kind == "gaps":  # a pit ring of width gap_size around the platform
        gap = ramp(cfg, "gap_size", difficulty)
        r, _ = _ring(cfg, shape)
        h = np.zeros(shape)
        h[(r > cfg.platform_size / 2) & (r <= cfg.platform_size / 2 + gap)] = -PIT_DEPTH
    elif kind == "wave":  # two periods per tile along each axis
        a = ramp(cfg, "wave_amplitude", difficulty)
        u = np.arange(shape[0]) * hs * 2 * np.pi * 2 / cfg.tile_length
        v = np.arange(shape[1]) * hs * 2 * np.pi * 2 / cfg.tile_width
        h = a * 0.5 * (np.sin(u)[:, None] + np.sin(v)[None, :])
    else:
        raise TerrainError(f"unknown terrain type {kind!r}; known types: {', '.join(TYPES)}")
    return np.round(h / cfg.vertical_scale) * cfg.vertical_scale


@dataclass
class Terrain:
    """The generated heightfield and where each tile is."""

    cfg: TerrainCfg
    heights: np.ndarray  # (nx, ny) float32 metres
    origins: np.ndarray  # (rows, cols, 3) spawn point of each tile (centre xy, highest ground near it)
    types: list[str]  # (cols,) type of each column

    @property
    def size(self) -> tuple[float, float]:
        """(x, y) extent of the heightfield in metres (cell centres span (n - 1) * scale)."""
        hs = self.cfg.horizontal_scale
        return (self.heights.shape[0] - 1) * hs, (self.heights.shape[1] - 1) * hs


def generate(cfg: TerrainCfg) -> Terrain:
    """Build every tile with a generator seeded from ``cfg.seed`` (same seed, same heights)."""
    validate(cfg)
    rng = np.random.default_rng(cfg.seed)
    nx, ny = grid_shape(cfg)
    tx, ty = tile_cells(cfg)
    b = round(cfg.border_size / cfg.horizontal_scale)
    heights = np.zeros((nx, ny), dtype=np.float32)
    origins = np.zeros((cfg.num_rows, cfg.num_cols, 3), dtype=np.float32)
    types = column_types(cfg)
    half_spawn = round(1.0 / cfg.horizontal_scale)  # spawn z = highest point within 1 m of the centre
    for i in range(cfg.num_rows):
        d = row_difficulty(cfg, i)
        for j, kind in enumerate(types):
            tile = make_tile(cfg, kind, d, rng)
            x0, y0 = b + i * tx, b + j * ty
            heights[x0:x0 + tx, y0:y0 + ty] = tile
            cx, cy = tx // 2, ty // 2
            z = tile[cx - half_spawn:cx + half_spawn, cy - half_spawn:cy + half_spawn].max()
            origins[i, j] = ((i + 0.5) * cfg.tile_length, (j + 0.5) * cfg.tile_width, z)
    return Terrain(cfg, heights, origins, types)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m legged_snn.sim.terrain", description=__doc__.splitlines()[0])
    p.add_argument("--preview", metavar="PNG", required=True, help="write a picture of the terrain here")
    p.add_argument("--rows", type=int, default=10, help="difficulty levels")
    p.add_argument("--cols", type=int, default=20, help="tile columns")
    p.add_argument("--all_types", action="store_true", help="equal shares of every type instead of legged_gym's mix")
    p.add_argument("--seed", type=int, default=0, help="terrain seed")
    args = p.parse_args(argv)
    cfg = TerrainCfg(num_rows=args.rows, num_cols=args.cols, seed=args.seed, border_size=2.0)
    if args.all_types:
        cfg.proportions = {t: 1.0 / len(TYPES) for t in TYPES}
    try:
        terrain = generate(cfg)
    except TerrainError as exc:
        p.error(str(exc))
    from legged_snn.sim.terrain_preview import save_preview

    save_preview(terrain, args.preview)
    print(f"wrote {args.preview}: {cfg.num_rows} x {cfg.num_cols} tiles, heights "
          f"{terrain.heights.min():.2f} .. {terrain.heights.max():.2f} m")


if __name__ == "__main__":
    main()
