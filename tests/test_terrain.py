"""Terrain generator: per-type height ranges, seeding, MuJoCo placement, bad configs."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from envs.locomotion.env import model_cfg
from envs.robots.a1 import a1_env_cfg
from legged_snn.sim.model import build_model
from legged_snn.sim.terrain import PIT_DEPTH, TYPES, TerrainCfg, TerrainError, generate, make_tile, ramp

CFG = TerrainCfg()
HALF = CFG.tile_length / 2 - CFG.platform_size / 2  # m from tile edge to platform edge


def tile(kind: str, d: float, seed: int = 0) -> np.ndarray:
    return make_tile(CFG, kind, d, np.random.default_rng(seed))


def close(a: float, b: float) -> bool:
    return abs(a - b) <= CFG.vertical_scale + 1e-6


@pytest.mark.parametrize("d", [0.0, 1.0])
def test_slopes_and_stairs_have_their_formula_heights(d: float) -> None:
    slope = ramp(CFG, "slope", d)
    assert close(tile("smooth_slope", d).max(), slope * HALF) and tile("smooth_slope", d).min() >= 0
    rough = tile("rough_slope", d)
    assert rough.max() <= CFG.rough_noise + 1e-6 and rough.min() >= -slope * HALF - CFG.rough_noise - 1e-6
    assert rough.max() > CFG.rough_noise / 2 and rough.min() < -slope * HALF + CFG.rough_noise / 2
    step = ramp(CFG, "step_height", d)
    top = math.floor(HALF / CFG.step_width) * step  # 8 steps of 0.05 (d=0) or 0.23 m (d=1)
    up, down = tile("stairs_up", d), tile("stairs_down", d)
    assert close(up.max(), top) and close(up.min(), 0.0)
    assert close(down.min(), -top) and close(down.max(), 0.0)
    assert len(np.unique(np.round(up / step))) == math.floor(HALF / CFG.step_width) + 1  # every step is there


def test_rough_slope_bumps_are_legged_gyms_not_per_cell_pillars() -> None:
    """legged_gym draws the +-5 cm noise every 0.2 m and interpolates (downsampled_scale): neighbouring 0.1 m cells
    then differ by at most half the noise's range. Per-cell noise (our first version) made 10 cm cliffs between
    cells and 4x the falls on rough slopes."""
    flat = tile("rough_slope", 0.0)  # slope 0: the noise alone
    step = np.abs(np.diff(flat, axis=0)).max(), np.abs(np.diff(flat, axis=1)).max()
    assert max(step) <= CFG.rough_noise + CFG.vertical_scale + 1e-6
    assert flat.std() > CFG.rough_noise / 4  # the bumps are there (uniform on the grid: std 0.58 x noise)
    grid = round(CFG.rough_noise_grid / CFG.horizontal_scale)
    coarse = flat[::grid, ::grid]  # the drawn heights, at every other cell
    mid = flat[1::grid, ::grid][: coarse.shape[0] - 1]  # the cells halfway between two drawn heights
    assert np.abs(mid - (coarse[:-1] + coarse[1:]) / 2).max() <= CFG.vertical_scale + 1e-6


@pytest.mark.parametrize("d", [0.0, 1.0])
def test_obstacles_stones_gaps_waves_have_their_formula_heights(d: float) -> None:
    top = ramp(CFG, "obstacle_height", d)
    obst = tile("discrete_obstacles", d)
    levels = {round(v / CFG.vertical_scale) for v in (-top, -top / 2, 0.0, top / 2, top)}
    assert set(np.unique(np.round(obst / CFG.vertical_scale)).astype(int)) <= levels
    assert close(obst.max(), top) and close(obst.min(), -top)
    stones = tile("stepping_stones", d)
    assert set(np.unique(stones)) == {-PIT_DEPTH, 0.0}
    gaps = tile("gaps", d)
    outer = CFG.platform_size + 2 * ramp(CFG, "gap_size", d)
    ring = (outer ** 2 - CFG.platform_size ** 2) / CFG.horizontal_scale ** 2
    assert abs((gaps == -PIT_DEPTH).sum() - ring) <= 4 * (CFG.platform_size + 2) / CFG.horizontal_scale
    assert gaps.max() == 0.0
    wave = tile("wave", d)
    assert close(wave.max(), ramp(CFG, "wave_amplitude", d)) and close(wave.min(), -ramp(CFG, "wave_amplitude", d))


def test_same_seed_same_terrain() -> None:
    cfg = TerrainCfg(num_rows=3, num_cols=8, border_size=1.0, proportions={t: 1 / 8 for t in TYPES}, seed=7)
    a, b = generate(cfg), generate(cfg)
    assert np.array_equal(a.heights, b.heights) and np.array_equal(a.origins, b.origins)
    cfg.seed = 8
    assert not np.array_equal(a.heights, generate(cfg).heights)


def test_layout_rows_are_difficulties_and_columns_types() -> None:
    cfg = TerrainCfg(num_rows=4, num_cols=8, border_size=2.0, proportions={t: 1 / 8 for t in TYPES})
    t = generate(cfg)
    assert t.types == list(TYPES)
    assert t.heights.shape == (4 * 80 + 40, 8 * 80 + 40)
    stairs = t.types.index("stairs_up")
    tops = t.origins[:, stairs, 2]
    assert np.all(np.diff(tops) > 0)  # harder rows, higher platforms
    assert np.allclose(t.origins[2, 3, :2], (2.5 * 8.0, 3.5 * 8.0))


def test_mujoco_hfield_matches_the_generated_heights() -> None:
    cfg = TerrainCfg(num_rows=2, num_cols=8, border_size=1.0, proportions={t: 1 / 8 for t in TYPES})
    terrain = generate(cfg)
    mc = model_cfg(a1_env_cfg())
    mc.terrain = terrain
    model, _ = build_model(mc)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    rng = np.random.default_rng(0)
    geom = np.zeros(1, np.int32)
    for _ in range(300):
        ix, iy = rng.integers(1, terrain.heights.shape[0] - 1), rng.integers(1, terrain.heights.shape[1] - 1)
        hs, b = cfg.horizontal_scale, cfg.border_size
        start = np.array([ix * hs - b, iy * hs - b, 5.0])
        dist = mujoco.mj_ray(model, data, start, np.array([0.0, 0.0, -1.0]), None, 1, -1, geom)
        assert abs(5.0 - dist - terrain.heights[ix, iy]) < 1e-4


@pytest.mark.parametrize("change, needle", [
    ({"proportions": {"stairs_up": 0.5, "wave": 0.3}}, "sum to 0.8"),
    ({"proportions": {"lava": 1.0}}, "unknown type 'lava'"),
    ({"difficulty_range": (-0.5, 1.0)}, "difficulty_range"),
    ({"tile_length": 1.0}, "smaller than the height-scan footprint"),
    ({"num_rows": 400, "num_cols": 400}, "GB per copy"),
    ({"rough_noise_grid": 0.05}, "rough_noise_grid >= horizontal_scale"),
])
def test_bad_configs_get_one_line_errors(change: dict, needle: str) -> None:
    cfg = TerrainCfg(**change)
    with pytest.raises(TerrainError) as err:
        generate(cfg)
    assert needle in str(err.value) and "\n" not in str(err.value)
