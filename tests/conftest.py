"""Shared fixtures: small real envs (real MuJoCo, no mocks)."""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import envs.tasks  # noqa: E402,F401
from legged_snn.registry import load  # noqa: E402


@pytest.fixture
def a1_cfg():
    """A fresh a1_flat env config with 4 envs."""
    env_cfg, _ = load("a1_flat")
    env_cfg.env.num_envs = 4
    env_cfg.sim.nthread = 1
    return env_cfg


@pytest.fixture(scope="session")
def root() -> str:
    return ROOT
