"""``snn.weight_centering``: each LIF neuron's input weights kept zero-sum (torch parametrize), w = v - mean(v).

Spikes are non-negative, so Adam's steps on a neuron's weights share the sign of its upstream gradient on every
active input and add up coherently: the neuron's current shifts by ~lr x (active inputs) per step and the unit
saturates (silent or always firing, no surrogate gradient). The same happens to bounded units in an MLP: tanh and
sigmoid actors stay at standing on a1_flat where ELU walks (docs/snn_ppo.md). With zero-sum weights a step cannot move
a neuron's response to a uniform change of its inputs, only its response to their pattern; the bias alone moves
the operating point. The effective weight is an ordinary weight matrix, so exports and NIR read it unchanged.

``"standardize"`` also holds each row's norm at its initial value, w = n0 (v - mean v) / |v - mean v|: Adam's steps
turn a neuron's weight vector but cannot grow it, so a full-size PPO step cannot push the currents out of the
surrogate's live band by scaling them (weight normalization with a fixed gain; Salimans & Kingma 2016).

``"learned_norm"`` is the same with each row's norm learned: w = exp(k s) (v - mean v) / |v - mean v|, s one stored
number per neuron (initially log n0 / k). Adam moves s by about the rate per step, so the norm changes by a factor of
~exp(k x rate) per step at most (``snn.norm_lr_scale`` = k): a neuron's gain can grow, slowly and multiplicatively,
where "standardize" holds it (an MLP with held norms stays at standing: docs/snn_ppo.md).

``"sphere"`` is "standardize" whose stored rows are also held: after every optimizer step (``hold_stored``) each
stored row is scaled back to its norm at registration, and Adam's moments with it, so that Adam's step turns a
neuron's weights by the same angle all run long (~rate x sqrt(fan_in) / n0 radians). Under "standardize" every step
adds to the stored rows' norms (a step orthogonal to a row lengthens it): on a1_flat they grew 3-5x in the first 50
iterations and the angle per step shrank by as much (docs/snn_ppo.md, "Session 8").
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils import parametrize

from legged_snn.snn.step_scale import stepped_tensor


class _ZeroSum(nn.Module):
    """(out, in) stored -> stored minus its row means (every neuron's weights sum to zero)."""

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return stored - stored.mean(dim=1, keepdim=True)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


def _unit_rows(stored: torch.Tensor) -> torch.Tensor:
    """(out, in) -> its rows centred and scaled to norm 1."""
    centred = stored - stored.mean(dim=1, keepdim=True)
    return centred / centred.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _centred_norms(weight: torch.Tensor) -> torch.Tensor:
    """(out, in) -> the (out, 1) norms of its centred rows (at least 1e-6)."""
    w = weight.detach()
    return (w - w.mean(dim=1, keepdim=True)).norm(dim=1, keepdim=True).clamp_min(1e-6)


class _FixedNorm(nn.Module):
    """(out, in) stored -> its centred rows rescaled to the (out, 1) norms they had at registration ("sphere" holds
    the stored rows at those norms too: ``hold_stored``, after each optimizer step)."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("norms", _centred_norms(weight))

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return _unit_rows(stored) * self.norms

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


class _LearnedNorm(nn.Module):
    """(out, in) stored -> its centred rows rescaled to the learned (out, 1) norms exp(k s)."""

    def __init__(self, weight: torch.Tensor, step: float) -> None:
        super().__init__()
        self.step = float(step)
        self.log_norm = nn.Parameter(_centred_norms(weight).log() / self.step)

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return _unit_rows(stored) * torch.exp(self.step * self.log_norm)

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value


@torch.no_grad()
def hold_stored(linears: Iterable[nn.Linear], optimizer: torch.optim.Optimizer, radius: float = 1.0) -> None:
    """Scale every linear's stored (out, in) rows (a "standardize"/"sphere" rule's) to ``radius`` x their held norms
    (a larger radius: a smaller angle per step, as ``snn.spike_step_scale`` asks once spikes are in), dividing
    Adam's first moments by the same per-row factor r and its second moments by r^2: the function is unchanged (it
    reads the rows' directions), the gradient with respect to the rescaled rows is 1 / r times the old one, and
    Adam's next step keeps its size in stored units. Other optimizers' state is left as it is."""
    for fc in linears:
        rules = fc.parametrizations.weight
        leaf = stepped_tensor(fc, "weight")  # with snn.lr_scale != 1 the stored rows are g x this leaf
        r = radius * rules[0].norms / _centred_norms(rules.original)
        leaf.mul_(r)
        state = optimizer.state.get(leaf, {})
        if "exp_avg" in state:
            state["exp_avg"].div_(r)
        if "exp_avg_sq" in state:
            state["exp_avg_sq"].div_(r.square())


CENTERING = ("standardize", "learned_norm", "sphere")


def check_centering(value, field: str) -> None:
    """A one-line ValueError unless ``value`` is a weight-centering mode: false, true or one of CENTERING."""
    if not (isinstance(value, bool) or value in CENTERING):
        raise ValueError(f"{field} must be true, false, {', '.join(CENTERING[:-1])} or {CENTERING[-1]}, got {value!r}")


def check_spike_step(value, centering) -> None:
    """A one-line ValueError unless ``snn.spike_step_scale`` is in (0, 1], and 1 unless the weights are "sphere"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"snn.spike_step_scale must be a number in (0, 1], got {value!r}")
    if value != 1 and centering != "sphere":
        raise ValueError(f"snn.spike_step_scale={value} needs snn.weight_centering=sphere (got {centering!r}); set "
                         "both or leave spike_step_scale at 1")


def center_weights(linears: Iterable[nn.Linear], mode: bool | str = True, norm_step: float = 0.1) -> list[nn.Module]:
    """Reparametrize every linear's ``weight`` (in place) as zero-sum rows (``mode`` True), zero-sum rows of their
    initial norm ("standardize"; "sphere" holds the stored rows too: ``hold_stored``) or of a learned norm
    ("learned_norm", step ``norm_step``); registered before ``scale_steps``. Returns the rules (the learned norms'
    modules, for ``scale_steps`` to leave alone)."""
    rules = []
    for fc in linears:
        if mode in ("standardize", "sphere"):
            rule: nn.Module = _FixedNorm(fc.weight)
        elif mode == "learned_norm":
            rule = _LearnedNorm(fc.weight, norm_step)
        else:
            rule = _ZeroSum()
        parametrize.register_parametrization(fc, "weight", rule)
        rules.append(rule)
    return rules
