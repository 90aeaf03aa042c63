"""A leaky integrate-and-fire network on PyTorch sparse tensors: one engine for CPU and
CUDA, several trials as one batch.

The model is that of Shiu et al. 2024 (Nature 634:210-219) for the whole fly brain::

    dv/dt = (v_rest - v + g) / tau_m      (not while refractory)
    dg/dt = -g / tau_syn                  (not while refractory)
    v > v_th  ->  spike; v = v_reset, g = 0; refractory for t_ref
    a spike of neuron j adds W[i, j] to g of neuron i after `delay`, unless i is
    refractory then (its g is clamped, as Brian2 clamps `unless refractory` variables
    against synaptic events too)

with W[i, j] = sign(j) * w_syn * strength(j -> i) in mV. Between events the linear
system is integrated exactly, as Brian2's ``exact`` method does. Each time step follows
Brian2's schedule: integrate (neurons not refractory), threshold, deliver the synaptic
events due now (the spikes of ``delay`` ago and the external input), reset.
Refractoriness counts whole steps, ``round(t_ref / dt)``, as Brian2 does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import torch

from connectomedb.errors import BadInput

#: Shiu et al. 2024, Methods (mV, ms); w_syn is the weight of one synapse.
SHIU_2024: Final = {
    "v_rest": -52.0,
    "v_reset": -52.0,
    "v_th": -45.0,
    "tau_m": 20.0,
    "tau_syn": 5.0,
    "t_ref": 2.2,
    "delay": 1.8,
    "w_syn": 0.275,
}


@dataclass(frozen=True)
class LIFParams:
    """Neuron and synapse parameters (mV, ms) and the time step ``dt`` (ms)."""

    v_rest: float = SHIU_2024["v_rest"]
    v_reset: float = SHIU_2024["v_reset"]
    v_th: float = SHIU_2024["v_th"]
    tau_m: float = SHIU_2024["tau_m"]
    tau_syn: float = SHIU_2024["tau_syn"]
    t_ref: float = SHIU_2024["t_ref"]
    delay: float = SHIU_2024["delay"]
    w_syn: float = SHIU_2024["w_syn"]
    dt: float = 0.1

    def __post_init__(self) -> None:
        if self.dt <= 0 or self.tau_m <= 0 or self.tau_syn <= 0:
            raise BadInput("dt, tau_m and tau_syn must be positive")
        if self.t_ref < 0 or self.delay < 0:
            raise BadInput("t_ref and delay must not be negative")
        if self.v_reset >= self.v_th:
            raise BadInput("v_reset must lie below v_th")

    @property
    def delay_steps(self) -> int:
        return int(round(self.delay / self.dt))

    @property
    def ref_steps(self) -> int:
        return int(round(self.t_ref / self.dt))


@dataclass(frozen=True)
class Drive:
    """External input. ``rates`` (n,) Hz: each neuron receives Poisson spikes of
    ``weight`` mV into g; ``spikes``: deterministic input events as (step, neuron,
    weight mV) arrays, delivered in the synaptic phase of that step, in every trial."""

    rates: np.ndarray | None = None
    weight: float = 0.0
    spikes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class SimResult:
    """Spikes as (trial, step, neuron) arrays, sorted by trial, step, neuron; rates
    (trials, n) in Hz over the whole run."""

    trial: np.ndarray
    step: np.ndarray
    neuron: np.ndarray
    rates: np.ndarray
    steps: int
    dt: float

    def spike_times(self, trial: int = 0) -> dict[int, np.ndarray]:
        """Spike times (ms) per neuron in one trial."""
        keep = self.trial == trial
        out: dict[int, np.ndarray] = {}
        for nrn in np.unique(self.neuron[keep]):
            out[int(nrn)] = self.step[keep & (self.neuron == nrn)] * self.dt
        return out


def weight_matrix(
    n: int,
    pre: np.ndarray,
    post: np.ndarray,
    strength: np.ndarray,
    sign: np.ndarray,
    w_syn: float,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """W[post, pre] = sign[pre] * w_syn * strength, as a sparse CSR tensor (n, n)."""
    values = sign[pre].astype(np.float64) * w_syn * strength.astype(np.float64)
    keep = values != 0
    w = torch.sparse_coo_tensor(
        torch.from_numpy(np.vstack([post[keep], pre[keep]]).astype(np.int64)),
        torch.from_numpy(values[keep]).to(torch.float32),
        (n, n),
        check_invariants=True,
    ).coalesce()
    return w.to_sparse_csr().to(device)


def simulate(
    w: torch.Tensor,
    p: LIFParams,
    steps: int,
    drive: Drive,
    trials: int = 1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> SimResult:
    """Run ``trials`` trials of ``steps`` time steps; every trial starts at rest.
    ``dtype`` is that of the state (float64 to compare with double-precision
    simulators)."""
    n = w.shape[0]
    dev = w.device
    w = w.to(dtype)
    propagate = _Propagator(w)
    if steps < 1 or trials < 1:
        raise BadInput("steps and trials must be at least 1")
    gen = torch.Generator(device=dev).manual_seed(seed)
    e_m = math.exp(-p.dt / p.tau_m)
    e_s = math.exp(-p.dt / p.tau_syn)
    if math.isclose(p.tau_m, p.tau_syn):
        cross = p.dt / p.tau_m * e_m  # the limit tau_syn -> tau_m
    else:
        cross = p.tau_syn / (p.tau_syn - p.tau_m) * (e_s - e_m)
    v = torch.full((trials, n), p.v_rest, device=dev, dtype=dtype)
    g = torch.zeros((trials, n), device=dev, dtype=dtype)
    # the first step at which each neuron integrates again (Brian2: timestep(t -
    # lastspike) >= timestep(t_ref)); nothing to count down per step
    free_at = torch.zeros((trials, n), dtype=torch.int32, device=dev)
    # with v_reset == v_rest a refractory neuron (v = v_rest, g = 0) stays put when
    # integrated, so v needs no mask (Shiu et al.'s parameters)
    plain = p.v_reset == p.v_rest
    d = p.delay_steps
    queue = [torch.zeros((trials, n), device=dev, dtype=dtype) for _ in range(max(d, 1))]
    driven = prob = None
    if drive.rates is not None:
        r = np.asarray(drive.rates, dtype=np.float64)
        if r.shape != (n,) or (r < 0).any():
            raise BadInput("drive rates must be n non-negative values (Hz)")
        idx = np.flatnonzero(r)
        driven = torch.as_tensor(idx, dtype=torch.long, device=dev)
        prob = (
            torch.as_tensor(r[idx] * p.dt / 1000.0, dtype=dtype, device=dev)
            .expand(trials, idx.size)
            .contiguous()
        )
    events: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    if drive.spikes is not None:
        s_step, s_nrn, s_w = drive.spikes
        for k in np.unique(s_step):
            sel = s_step == k
            events[int(k)] = (
                torch.as_tensor(s_nrn[sel], dtype=torch.long, device=dev),
                torch.as_tensor(s_w[sel], dtype=dtype, device=dev).expand(trials, -1),
            )
    out_trial, out_step, out_neuron = [], [], []
    count = torch.zeros((trials, n), device=dev, dtype=dtype)
    rest_term = p.v_rest * (1 - e_m)
    for k in range(steps):
        # 1. integrate the neurons that are not refractory. A refractory neuron's g is 0
        # (reset to 0, and input does not reach it), so g decays unmasked.
        free = free_at <= k
        if plain:
            v.mul_(e_m).add_(g, alpha=cross).add_(rest_term)
        else:
            v = torch.where(free, torch.add(v * e_m, g, alpha=cross).add_(rest_term), v)
        g.mul_(e_s)
        # 2. threshold (a refractory neuron sits below it when v_reset == v_rest)
        spiking = v > p.v_th if plain else (v > p.v_th) & free
        # 3. synaptic events due now: spikes of `delay` ago, then the external input;
        # like every change to g they do not reach refractory neurons (g is clamped)
        gain = free.to(dtype)
        if d == 0:
            g.add_(propagate(spiking).mul_(gain))
        else:
            g.add_(queue[k % d].mul_(gain))
            queue[k % d] = propagate(spiking)
        if driven is not None and prob is not None:
            hits = torch.bernoulli(prob, generator=gen).mul_(drive.weight)
            g.index_add_(1, driven, hits * gain[:, driven])
        if k in events:
            nrn, wt = events[k]
            g.index_add_(1, nrn, wt * gain[:, nrn])
        # 4. reset
        t_idx, n_idx = spiking.nonzero(as_tuple=True)
        if t_idx.numel():
            out_trial.append(t_idx.cpu())
            out_step.append(torch.full_like(t_idx, k).cpu())
            out_neuron.append(n_idx.cpu())
            v[t_idx, n_idx] = p.v_reset
            g[t_idx, n_idx] = 0.0
            # free again at step k + ref_steps (Brian2: timestep(t - lastspike) >= ref)
            free_at[t_idx, n_idx] = k + p.ref_steps
            count[t_idx, n_idx] += 1
    tr = torch.cat(out_trial).numpy() if out_trial else np.zeros(0, dtype=np.int64)
    st = torch.cat(out_step).numpy() if out_step else np.zeros(0, dtype=np.int64)
    nr = torch.cat(out_neuron).numpy() if out_neuron else np.zeros(0, dtype=np.int64)
    order = np.lexsort((nr, st, tr))
    seconds = steps * p.dt / 1000.0
    return SimResult(tr[order], st[order], nr[order], (count / seconds).cpu().numpy(), steps, p.dt)


class _Propagator:
    """W @ s for the spikes s of one step in every trial. Few spikes (the usual case)
    are propagated event by event: the columns of the spiking neurons are gathered from
    a by-source copy of W and added up. Many spikes go through one sparse product."""

    def __init__(self, w: torch.Tensor) -> None:
        self.w = w
        csc = w.to_sparse_csc()
        self.ptr = csc.ccol_indices().to(torch.long)
        self.rows = csc.row_indices().to(torch.long)
        self.vals = csc.values()
        n = w.shape[0]
        self.mean_degree = max(self.vals.numel() / max(n, 1), 1.0)
        self.nnz = self.vals.numel()

    def __call__(self, spiking: torch.Tensor) -> torch.Tensor:
        trial, src = spiking.nonzero(as_tuple=True)
        out = torch.zeros(spiking.shape, device=spiking.device, dtype=self.vals.dtype)
        if src.numel() == 0:
            return out
        if src.numel() * self.mean_degree > self.nnz / 4:  # dense enough for a product
            return (self.w @ spiking.to(self.w.dtype).T).T
        start = self.ptr[src]
        count = self.ptr[src + 1] - start
        total = int(count.sum())
        if total == 0:
            return out
        first = torch.cumsum(count, 0) - count  # where each spike's targets begin
        pos = torch.repeat_interleave(start - first, count) + torch.arange(
            total, device=spiking.device
        )
        out.index_put_(
            (torch.repeat_interleave(trial, count), self.rows[pos]),
            self.vals[pos],
            accumulate=True,
        )
        return out
