"""Errors the training loop raises for a diverged policy."""


class PolicyNaNError(RuntimeError):
    """The policy produced NaN/inf actions or holds NaN/inf parameters (training diverged)."""
