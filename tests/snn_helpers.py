"""A small SpikingActor on random observations, shared by the spiking-actor tests."""

from __future__ import annotations

import torch
from tensordict import TensorDict

from legged_snn.snn.actor import SpikingActor

GROUPS = {"actor": ["policy"], "critic": ["critic"]}
DIST = {"class_name": "GaussianDistribution", "init_std": 0.8}


def _obs(n: int = 5, d: int = 7, seed: int = 0) -> TensorDict:
    g = torch.Generator().manual_seed(seed)
    return TensorDict({"policy": torch.randn(n, d, generator=g) * 1.5, "critic": torch.randn(n, 3, generator=g)},
                      batch_size=[n])


def _actor(history: str = "stack", **kw) -> SpikingActor:
    torch.manual_seed(0)
    actor = SpikingActor(_obs(), GROUPS, "actor", 3, hidden_dims=[32, 16], distribution_cfg=DIST, history=history,
                         **kw)
    # give the normalizer non-trivial statistics, as after some training
    actor.update_normalization(_obs(200, seed=3))
    return actor
