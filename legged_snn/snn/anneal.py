"""Smooth-to-spiking annealing: train with a smooth forward first, then harden it into spikes.

A spiking policy's action mean moves by spike flips, not by the optimizer's step (docs/snn.md): PPO's ratios
scatter, its adaptive rate collapses and the policy stays at standing. With ``snn.anneal: [start, end]`` the network
mixes each population's spikes with the surrogate's own integral (``neurons.py``), weight ``lambda``:

    lambda(it) = 1                          it <= start   (smooth: steps move the mean as the gradient predicts)
               = (end - it) / (end - start)  start < it < end
               = 0                          it >= end     (spikes: what is deployed)

``it`` is the learning iteration (0-based, as in ``model_<it>.pt``; the console line shows it + 1), so a resumed
run continues the schedule. From ``start`` on, rsl-rl's adaptive learning rate is held where it stands (the spike
flips would make it collapse).
Exports, play and evaluation always run the spiking network (lambda 0).
"""

from __future__ import annotations


def check_anneal(anneal) -> tuple[int, int] | None:
    """None, or (start, end) with 0 <= start <= end; a one-line ValueError otherwise."""
    if anneal is None:
        return None
    try:
        start, end = (int(x) for x in anneal)
        ok = all(float(x) == int(x) for x in anneal)
    except (TypeError, ValueError):
        ok = False
    if not ok or not 0 <= start <= end:
        raise ValueError(f"snn.anneal must be null or [start, end] iterations with 0 <= start <= end, got {anneal!r}")
    return start, end


def smoothness(it: int, anneal: tuple[int, int] | None) -> float:
    """lambda in [0, 1] for learning iteration ``it`` (0 when there is no schedule)."""
    if anneal is None:
        return 0.0
    start, end = anneal
    if it <= start:
        return 1.0 if end > start or it < end else 0.0
    if it >= end:
        return 0.0
    return (end - it) / (end - start)


def unhardened(anneal: tuple[int, int] | None, it: int) -> str | None:
    """Why a spiking actor trained up to learning iteration ``it`` (exclusive) does not yet run what play and the
    exports run, or None when its last iterations were on pure spikes (or there is no schedule)."""
    if anneal is None or smoothness(it - 1, anneal) == 0.0:
        return None
    return (f"the spiking actor's forward is smooth up to iteration {anneal[0]} and pure spikes only from "
            f"{anneal[1]} (snn.anneal), and this actor is trained only to iteration {it}: play and the exports run "
            f"pure spikes, which it has not been trained on; train {anneal[1] + 1} iterations or more in all "
            f"(--max_iterations)")
