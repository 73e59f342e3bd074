"""What the runner adds to rsl-rl's algorithm (PPO or Distillation), as methods of a subclass made at run time.

Methods, not closures put on the instance: a ``copy.deepcopy`` of the algorithm then acts and updates on its own
copies (a closure would still call the original's ``act``/``update``, with the original's optimizer).
"""

from __future__ import annotations

import torch

from legged_snn.rl.config import lr_at
from legged_snn.rl.errors import PolicyNaNError
from legged_snn.snn.anneal import smoothness

_CLASSES: dict[type, type] = {}


class LeggedHooks:
    """Mixed in before rsl-rl's class: spikes counted in rollouts only, NaN parameters as a clear stop, and the
    settings that follow the learning iteration (``snn.anneal``'s smoothness and the "piecewise" rate)."""

    lr_points: list | None = None  # [[iteration, rate], ...] or None; read in ``update``
    iteration: int = 0  # the learning iteration the next rollout and update belong to
    spike_epochs: int | None = None  # PPO epochs once the forward is pure spikes (algorithm.spike_learning_epochs)

    def spiking_network(self):
        """The actor's SpikingNetwork, or None for an MLP actor."""
        return getattr(self.get_policy(), "network", None)

    def act(self, obs):
        """rsl-rl's ``act``; spikes are counted (the deployed behaviour) and NaN/inf parameters stop the run."""
        net = self.spiking_network()
        if net is not None:
            net.record = True
        try:
            return super().act(obs)
        except (RuntimeError, ValueError):
            if not all(bool(torch.isfinite(p).all()) for p in self.get_policy().parameters()):
                raise PolicyNaNError("the policy's parameters hold NaN/inf") from None
            raise
        finally:
            if net is not None:
                net.record = False

    def update(self, *args, **kwargs):
        """rsl-rl's ``update`` at this iteration's rate (``lr_points``, logged with it); then the next iteration."""
        if self.lr_points is not None:
            self.set_rate(lr_at(self.lr_points, self.iteration))
        out = super().update(*args, **kwargs)
        self.set_iteration(self.iteration + 1)
        return out

    def set_rate(self, rate: float) -> None:
        """The optimizer's rate (every parameter group) and rsl-rl's record of it (logged)."""
        self.learning_rate = rate
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def set_iteration(self, it: int) -> None:
        """Learning iteration ``it`` comes next: its smoothness (and a rate held from the anneal's start), and
        ``spike_epochs`` PPO epochs once the forward is pure spikes."""
        self.iteration = it
        anneal = getattr(self.get_policy(), "anneal", None)
        net = self.spiking_network()
        if net is None:
            return
        if anneal is not None:
            net.smooth = smoothness(it, anneal)
            if it >= anneal[0] and getattr(self, "schedule", None) == "adaptive":
                self.schedule = "fixed"
                print(f"anneal: spikes come in from it {it + 1}; learning rate held at {self.learning_rate:.2e}")
        if self.spike_epochs is not None and net.smooth == 0 and self.num_learning_epochs != self.spike_epochs:
            print(f"pure spikes from it {it}: PPO epochs {self.num_learning_epochs} -> {self.spike_epochs}")
            self.num_learning_epochs = self.spike_epochs


def add_hooks(alg, lr_points: list | None, spike_epochs: int | None = None) -> None:
    """Give ``alg`` (an rsl-rl PPO or Distillation) the LeggedHooks methods; ``lr_points`` and ``spike_epochs`` for
    PPO, None else."""
    base = type(alg)
    if not isinstance(alg, LeggedHooks):
        if base not in _CLASSES:
            _CLASSES[base] = type(f"Legged{base.__name__}", (LeggedHooks, base), {"__module__": __name__})
        alg.__class__ = _CLASSES[base]
    alg.lr_points = lr_points
    alg.spike_epochs = spike_epochs
    alg.iteration = 0
    net = alg.spiking_network()
    holder = net if net is not None else alg.get_policy()  # the diagnostic MLP holds its own (population_mlp.py)
    if getattr(holder, "sphere_linears", None):  # weight_centering "sphere": stored rows held after every step
        alg.optimizer.register_step_post_hook(holder.after_step)
