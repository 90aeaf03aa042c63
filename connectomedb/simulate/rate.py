"""A graded rate model on the same sparse weights, the second neuron model::

    tau dr/dt = -r + clip(gain * (W r + input) - threshold, 0, r_max)

integrated with forward Euler at ``dt``; W holds the same signed strengths as the LIF
network (mV per spike there, taken as Hz-weighted input here), scaled by ``gain``.
Several input patterns (trials) run as one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from connectomedb.errors import BadInput


@dataclass(frozen=True)
class RateParams:
    tau: float = 10.0  # ms
    dt: float = 0.1  # ms
    gain: float = 1.0
    threshold: float = 0.0
    r_max: float = 200.0  # Hz

    def __post_init__(self) -> None:
        if self.tau <= 0 or not 0 < self.dt <= self.tau:
            raise BadInput("tau must be positive and dt in (0, tau]")
        if self.r_max <= 0:
            raise BadInput("r_max must be positive")


@dataclass(frozen=True)
class RateResult:
    """Rates (trials, n) at the end, and the population mean rate per step (trials,
    steps)."""

    rates: np.ndarray
    population: np.ndarray


def simulate_rates(
    w: torch.Tensor,
    p: RateParams,
    steps: int,
    inputs: np.ndarray,
    dtype: torch.dtype = torch.float32,
) -> RateResult:
    """Run from rest (r = 0) for ``steps`` steps with constant ``inputs`` (n,) or
    (trials, n)."""
    if steps < 1:
        raise BadInput("steps must be at least 1")
    n = w.shape[0]
    x = torch.as_tensor(np.atleast_2d(inputs), dtype=dtype, device=w.device)
    if x.shape[1] != n:
        raise BadInput(f"inputs must have {n} columns, one per neuron")
    w = w.to(dtype)
    r = torch.zeros_like(x)
    k = p.dt / p.tau
    population = torch.empty((x.shape[0], steps), dtype=dtype, device=w.device)
    for s in range(steps):
        drive = (w @ r.T).T.add_(x).mul_(p.gain).sub_(p.threshold).clamp_(0.0, p.r_max)
        r = r + k * (drive - r)
        population[:, s] = r.mean(dim=1)
    return RateResult(r.cpu().numpy(), population.cpu().numpy())
