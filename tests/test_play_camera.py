"""play's camera robot: ``--env_id`` picks it (one-line error out of range); by default on a rough task env 0 is
moved onto the hardest row of the stairs-up column and respawns there."""

from __future__ import annotations

import pytest
import torch

import envs.tasks  # noqa: F401  (registers the tasks)
from envs.locomotion.env import LocomotionEnv
from envs.play.session import HARD_TILE, camera_robot
from envs.tasks import play_variant
from legged_snn.cli import UserError
from legged_snn.registry import load


def _play_env(task: str, num_envs: int = 3) -> LocomotionEnv:
    cfg, _ = load(task)
    play_variant(cfg, num_envs)
    cfg.sim.nthread = 1
    return LocomotionEnv(cfg)


def test_rough_default_puts_env_0_on_the_hardest_stairs_tile() -> None:
    env = _play_env("a1_rough")
    index, where = camera_robot(env, None)
    tm = env.terrain
    column = tm.terrain.types.index(HARD_TILE)
    assert index == 0 and HARD_TILE in where
    assert int(tm.levels[0]) == tm.max_level - 1 and int(tm.types[0]) == column
    tile = tm.tile_origins[tm.max_level - 1, column]
    assert torch.norm(env.sim.base_pos[0, :2] - tile[:2]) < 1.5  # spawned on that tile (root_xy jitter <= 1 m)
    assert env.sim.base_pos[0, 2] > tile[2]  # above the stairs' top, not inside them
    for _ in range(5):  # a fall respawns it on the same tile
        env.step(torch.zeros(env.num_envs, env.num_actions))
    env._reset_idx(torch.tensor([0]))  # the path a fall takes (curriculum on; play's terrain has it off)
    assert torch.norm(env.sim.base_pos[0, :2] - tile[:2]) < 1.5


def test_rough_explicit_env_id_stays_and_says_where_it_stands() -> None:
    env = _play_env("a1_rough")
    before = env.sim.base_pos.clone()
    index, where = camera_robot(env, 2)
    tm = env.terrain
    kind = tm.terrain.types[int(tm.types[2])]
    assert index == 2 and where == f"camera on env 2: {kind}, row {int(tm.levels[2])} of 0..{tm.max_level - 1}"
    assert torch.equal(env.sim.base_pos, before)  # not moved


def test_flat_default_and_explicit_env_id_leave_the_robots_where_they_are() -> None:
    env = _play_env("a1_flat")
    before = env.sim.base_pos.clone()
    assert camera_robot(env, None) == (0, None)
    assert camera_robot(env, 2) == (2, None)
    assert torch.equal(env.sim.base_pos, before)


@pytest.mark.parametrize("env_id", [3, -1])
def test_env_id_out_of_range_is_one_line(env_id: int) -> None:
    env = _play_env("a1_flat")
    with pytest.raises(UserError, match=rf"--env_id {env_id} is out of range: play runs 3 envs \(0\.\.2\)") as exc:
        camera_robot(env, env_id)
    assert "\n" not in str(exc.value)
