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
#: at most this many active neurons: the Jacobian factorises the active network, and
#: a connectome's factor fills in towards dense
MAX_ACTIVE: Final = 20_000
#: the most a log-gain moves in one iteration (a factor e^2)
MAX_STEP: Final = 2.0


@dataclass(frozen=True)
class FitResult:
    """Gains per group; whether each moved an observed rate at some iteration
    (``constrained``: the others keep gain 1) and whether the targets pin it down at
    the solution (``identified``: its direction is outside the Jacobian's null space);
    the RMS error (Hz) at the targets per iteration; the steady-state rates (n,)."""

    gains: np.ndarray
    constrained: np.ndarray
    identified: np.ndarray
    rms: list[float]
    rates: np.ndarray


def steady_state(
    w: sp.csr_matrix,
    scale: np.ndarray,
    x: np.ndarray,
    p: RateParams,
    max_steps: int | None = None,
    tol: float = 1e-10,
) -> np.ndarray:
    """The rate model's fixed point, by running it (Euler steps of ``p.dt``) from rest
    until no rate moves by more than ``tol`` Hz per step; at most ``max_steps`` steps
    (by default 2000 time constants)."""
    r = np.zeros_like(x)
    k = p.dt / p.tau
    for _ in range(max_steps or int(np.ceil(2000 / k))):
        drive = np.clip(p.gain * (w @ (scale * r) + x) - p.threshold, 0.0, p.r_max)
        step = k * (drive - r)
        r = r + step
        if np.abs(step).max() <= tol:
            return r
    raise BadInput(
        "the rate model did not settle within 2000 time constants (it oscillates at "
        "these strengths, or dt is too large for Euler steps): no steady state to fit"
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
        jac = _jacobian(w, onehot, groups, theta, r, inputs, p, target_idx)
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
            delta = np.clip(delta, -MAX_STEP, MAX_STEP)
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
    # pinned down: no combination of gains that leaves every target unchanged (a
    # null-space direction of the Jacobian) involves the group
    jac = _jacobian(w, onehot, groups, theta, r, inputs, p, target_idx)
    u, sv, vt = np.linalg.svd(jac, full_matrices=True)
    rank = int((sv > 1e-9 * max(sv.max(initial=0.0), 1e-300)).sum())
    null = vt[rank:]
    identified = (np.abs(jac).sum(axis=0) > 1e-12) & ((null**2).sum(axis=0) < 1e-6)
    # a group never constrained was never moved: its gain is exactly 1
    return FitResult(np.exp(theta), ever, identified, rms, r)


def _jacobian(
    w: sp.csr_matrix,
    onehot: sp.csr_matrix,
    groups: np.ndarray,
    theta: np.ndarray,
    r: np.ndarray,
    x: np.ndarray,
    p: RateParams,
    target_idx: np.ndarray,
) -> np.ndarray:
    """d r[targets] / d theta at the fixed point r: on the active neurons (0 < rate <
    r_max; the others do not move) (I - D W S) dr = D W diag(r) E ds, then ds = s dtheta."""
    s = np.exp(theta)[groups]
    z = p.gain * (w @ (s * r) + x) - p.threshold
    active = np.flatnonzero((z > 0) & (z < p.r_max))
    jac = np.zeros((target_idx.size, onehot.shape[1]))
    if active.size == 0:
        return jac
    if active.size > MAX_ACTIVE:
        raise BadInput(
            f"{active.size} active neurons: the fit handles at most {MAX_ACTIVE} (fit a subnetwork)"
        )
    w_a = w[active]
    lhs = sp.identity(active.size, format="csc") - p.gain * (w_a[:, active] @ sp.diags(s[active]))
    rhs = p.gain * (w_a @ sp.diags(r) @ onehot).toarray() * np.exp(theta)[None, :]
    try:
        dr = spla.splu(lhs.tocsc()).solve(rhs)
    except RuntimeError as e:  # "Factor is exactly singular"
        raise BadInput(f"the linearised network is singular at these gains ({e})") from e
    where = np.full(r.size, -1)
    where[active] = np.arange(active.size)
    rows = where[target_idx]
    jac[rows >= 0] = dr[rows[rows >= 0]]
    return jac
