"""Fitting synaptic strengths, which the connectome does not give, to observed rates.

The free parameters are one gain per presynaptic group (cell type or class): a
connection's strength is its proxy (synapse count or PSD area) times the gain of its
presynaptic neuron's group. The model is the graded rate model of ``rate.py`` at its
steady state (its fixed point, reached by running it)::

    r = phi(W (s * r) + x),   phi(z) = clip(gain z - threshold, 0, r_max)

where ``s`` is each neuron's group gain (``W diag(s) r = W (s * r)``). The fit is
Levenberg-Marquardt on the squared error at the observed neurons, with the Jacobian
from implicit differentiation of the fixed point::

    (I - D W S) dr = D W diag(r) E ds,   D = phi'(z), S = diag(s), E the group one-hot

A group whose gain changes no observed rate (no active member upstream of an
observed, active, unsaturated neuron) is unconstrained and keeps gain 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from connectomedb.errors import BadInput
from connectomedb.simulate.rate import RateParams

#: at most this many groups (one Jacobian column each)
MAX_GROUPS: Final = 500


@dataclass(frozen=True)
class FitResult:
    """Gains per group, whether each was constrained (at some iteration: the others
    keep gain 1), the RMS error (Hz) at the targets per iteration, and the
    steady-state rates (n,) of the fitted model."""

    gains: np.ndarray
    constrained: np.ndarray
    rms: list[float]
    rates: np.ndarray


def steady_state(
    w: sp.csr_matrix,
    scale: np.ndarray,
    x: np.ndarray,
    p: RateParams,
    max_steps: int = 200_000,
    tol: float = 1e-10,
) -> np.ndarray:
    """The rate model's fixed point, by running it (Euler steps of ``p.dt``) from rest
    until no rate moves by more than ``tol`` Hz per step."""
    r = np.zeros_like(x)
    k = p.dt / p.tau
    for _ in range(max_steps):
        drive = np.clip(p.gain * (w @ (scale * r) + x) - p.threshold, 0.0, p.r_max)
        step = k * (drive - r)
        r = r + step
        if np.abs(step).max() <= tol:
            return r
    raise BadInput(
        f"the rate model did not settle within {max_steps} steps (it oscillates or "
        "runs away at these strengths): no steady state to fit"
    )


def fit_gains(
    w: sp.csr_matrix,
    groups: np.ndarray,
    inputs: np.ndarray,
    target_idx: np.ndarray,
    target_rate: np.ndarray,
    p: RateParams,
    iterations: int = 50,
    tolerance: float = 1e-8,
    progress: Callable[[int, float], None] | None = None,
) -> FitResult:
    """One gain per group (``groups``: (n,) group index per neuron) so that the rate
    model's steady-state rates at ``target_idx`` match ``target_rate`` (Hz)."""
    n = w.shape[0]
    if groups.shape != (n,) or inputs.shape != (n,):
        raise BadInput("groups and inputs need one value per neuron")
    if target_idx.size == 0 or target_idx.shape != target_rate.shape:
        raise BadInput("give at least one target rate, one per target neuron")
    if (target_rate < 0).any() or (target_rate > p.r_max).any():
        raise BadInput(f"target rates must lie between 0 and r_max ({p.r_max} Hz)")
    k = int(groups.max()) + 1 if groups.size else 0
    if k > MAX_GROUPS:
        raise BadInput(f"at most {MAX_GROUPS} groups; fit at a coarser level")
    w = sp.csr_matrix(w, dtype=np.float64)
    onehot = sp.csr_matrix((np.ones(n), (np.arange(n), groups)), shape=(n, k))
    theta = np.zeros(k)  # log-gains: gains stay positive
    lam = 1e-3
    rms: list[float] = []

    def evaluate(th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = steady_state(w, np.exp(th)[groups], inputs, p)
        return r, r[target_idx] - target_rate

    r, resid = evaluate(theta)
    constrained = np.zeros(k, dtype=bool)
    ever = np.zeros(k, dtype=bool)  # groups fitted at some iteration
    for it in range(iterations):
        rms.append(float(np.sqrt(np.mean(resid**2))))
        if progress is not None:
            progress(it + 1, rms[-1])
        s = np.exp(theta)[groups]
        z = p.gain * (w @ (s * r) + inputs) - p.threshold
        d = np.where((z > 0) & (z < p.r_max), p.gain, 0.0)
        # dr/ds_k, then by the chain rule dr/dtheta_k = dr/ds_k * s_k
        lhs = sp.identity(n, format="csc") - sp.diags(d) @ w @ sp.diags(s)
        rhs = (sp.diags(d) @ w @ sp.diags(r) @ onehot).toarray() * np.exp(theta)[None, :]
        jac = spla.splu(lhs.tocsc()).solve(rhs)[target_idx]
        constrained = np.abs(jac).sum(axis=0) > 1e-12
        ever |= constrained
        if not constrained.any():
            break
        jc = jac[:, constrained]
        grad = jc.T @ resid
        h = jc.T @ jc
        improved = False
        for _ in range(30):  # Levenberg-Marquardt: damp until the error falls
            delta = np.linalg.solve(h + lam * np.diag(np.diag(h) + 1e-12), -grad)
            trial = theta.copy()
            trial[constrained] += delta
            try:
                r_new, resid_new = evaluate(trial)
            except BadInput:
                lam *= 10
                continue
            if resid_new @ resid_new < resid @ resid:
                theta, r, resid = trial, r_new, resid_new
                lam = max(lam / 10, 1e-12)
                improved = True
                break
            lam *= 10
        if not improved or np.abs(delta).max() <= tolerance:
            break
    rms.append(float(np.sqrt(np.mean(resid**2))))
    # a group never constrained was never moved: its gain is exactly 1
    return FitResult(np.exp(theta), ever, rms, r)
