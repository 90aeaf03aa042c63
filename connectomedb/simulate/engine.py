"""A leaky integrate-and-fire network on PyTorch sparse tensors: one engine for CPU and
CUDA, several trials as one batch.

By default the model is that of Shiu et al. 2024 (Nature 634:210-219) for the whole fly
brain, as their code builds it in Brian2 (``create_model`` and ``poi`` of
philshiu/Drosophila_brain_model, ``model.py``)::

    dv/dt = (v_rest - v + g) / tau_m      (unless refractory)
    dg/dt = -g / tau_syn                  (unless refractory)
    v > v_th  ->  spike; v = v_reset, g = 0; refractory for t_ref
    a spike of neuron j adds W[i, j] to g of neuron i after `delay`
    a Poisson input spike adds `weight` to v of its target (a jump of the potential)
    the targets of Poisson input have no refractory period

with W[i, j] = sign(j) * w_syn * strength(j -> i) in mV. As in Brian2, nothing changes
v or g of a refractory neuron but its reset (Brian2 writes ``unless refractory``
variables only where ``not_refractory``), so input that reaches a neuron while it is
refractory is lost. Between events the linear system is integrated exactly, as Brian2's
``linear`` (``exact``) method does. Each time step follows Brian2's schedule: integrate
(neurons not refractory), threshold, deliver the synaptic events due now (the spikes of
``delay`` ago) and the external input, reset. Refractoriness counts whole steps,
``int(t_ref / dt + 1e-3)``, as Brian2 does.

Two departures are options of ``Drive``, off by default: external input into g
(``target="g"``) and a refractory period for its targets (``refractory_driven``).
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import torch

from connectomedb.errors import BadInput
from connectomedb.simulate.params import SHIU_2024

#: neurons per chunk of the threshold search
_CHUNK: Final = 512


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
        # as Brian2 counts it: timestep(t_ref) = int(t_ref / dt + 1e-3), rounding down
        return int(self.t_ref / self.dt + 1e-3)


@dataclass(frozen=True)
class Drive:
    """External input. ``rates`` (n,) Hz: each neuron receives Poisson spikes of
    ``weight`` mV; ``spikes``: deterministic input events as (step, neuron, weight mV)
    arrays, delivered in the synaptic phase of that step, in every trial; ``currents``:
    step currents as (neuron, amplitude mV, first step, end step) arrays, each adding its
    amplitude to ``v_rest - v + g`` in steps first..end-1.

    ``target``: the variable that Poisson spikes and input events jump, ``"v"`` (Shiu et
    al.'s ``PoissonInput(target_var='v')``) or ``"g"``. ``refractory_driven``: whether
    the driven neurons (a rate above 0, or an input event) keep the refractory period;
    Shiu et al. give them none (``neu[i].rfc = 0 * ms``)."""

    rates: np.ndarray | None = None
    weight: float = 0.0
    spikes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    currents: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    target: Literal["v", "g"] = "v"
    refractory_driven: bool = False

    def __post_init__(self) -> None:
        if self.target not in ("v", "g"):
            raise BadInput(f"drive target must be 'v' or 'g', not {self.target!r}")


@dataclass(frozen=True)
class GapJunctions:
    """Electrical couplings between neurons ``a[k]`` and ``b[k]`` (unordered, each pair
    once) of strength ``coupling[k]``, relative to the leak: each adds
    ``coupling * (v_other - v)`` to ``v_rest - v + g``. As in Brian2 (a summed
    variable in an ``exact`` model), the coupling current is computed from the
    potentials at the start of a step and held over it."""

    a: np.ndarray
    b: np.ndarray
    coupling: np.ndarray


@dataclass(frozen=True)
class SimResult:
    """Spikes as (trial, step, neuron) arrays, sorted by trial, step, neuron; rates
    (trials, n) in Hz over the whole run; ``v`` (trials, n) the membrane potentials
    (mV) at the end."""

    trial: np.ndarray
    step: np.ndarray
    neuron: np.ndarray
    rates: np.ndarray
    steps: int
    dt: float
    v: np.ndarray | None = None

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
    with warnings.catch_warnings():  # "sparse CSR support is in beta": known, and used
        warnings.simplefilter("ignore", UserWarning)
        return w.to_sparse_csr().to(device)


def simulate(
    w: torch.Tensor | Synapses,
    p: LIFParams,
    steps: int,
    drive: Drive,
    trials: int = 1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    progress: Callable[[int], None] | None = None,
    gaps: GapJunctions | None = None,
) -> SimResult:
    """Run ``trials`` trials of ``steps`` time steps; every trial starts at rest.
    ``dtype`` is that of the state (float64 to compare with double-precision
    simulators); ``progress`` is called with the number of steps done, once per block.

    The work is planned a block of ``delay`` steps at a time: the spikes of one block
    arrive during the next, so they are expanded to their targets once per block,
    merged with the block's external input and sorted by step; each step adds its
    slice of events (into g, or into v for external input on v) with one
    ``index_add_``. Within a block the state is kept in a
    frame that decays with it (``u = v - v_rest`` and ``g`` divided by their decay
    since the block began), so integrating one step is a single ``add_`` and the
    threshold and the events are scaled numbers instead; the frame is reset at the
    end of each block. The threshold looks for spikes only in the chunks of neurons
    whose maximum crosses it."""
    if steps < 1 or trials < 1:
        raise BadInput("steps and trials must be at least 1")
    targets = w if isinstance(w, Synapses) else Synapses(w, dtype)
    n, dev = targets.n, targets.device
    if targets.vals.dtype != dtype:
        raise BadInput(f"the synapses are {targets.vals.dtype}, the state {dtype}")
    gen = torch.Generator(device=dev).manual_seed(seed)
    e_m = math.exp(-p.dt / p.tau_m)
    e_s = math.exp(-p.dt / p.tau_syn)
    if math.isclose(p.tau_m, p.tau_syn):
        cross = p.dt / p.tau_m * e_m  # the limit tau_syn -> tau_m
    else:
        cross = p.tau_syn / (p.tau_syn - p.tau_m) * (e_s - e_m)
    size = trials * n
    padded = -(-size // _CHUNK) * _CHUNK
    # u and g of every trial side by side (flat index trial * n + neuron); the padding
    # sits at -inf and never crosses the threshold
    state = torch.zeros((2, padded), device=dev, dtype=dtype)
    u, g = state[0], state[1]  # rows: one reset fills both when u_reset is 0
    u[size:] = -math.inf
    chunks = u.view(-1, _CHUNK)
    zero = torch.zeros((), device=dev, dtype=dtype)
    theta = p.v_th - p.v_rest
    u_reset = p.v_reset - p.v_rest
    # with v_reset == v_rest a refractory neuron (u = 0, g = 0) stays put when
    # integrated, so u needs no clamp (Shiu et al.'s parameters)
    plain = u_reset == 0.0
    d = p.delay_steps
    block = max(d, 1)
    # the frame restarts every `period` steps, before its scale passes 1024, so that
    # nothing overflows when the delay is long against the time constants
    period = max(1, min(block, int(math.log(1024) * min(p.tau_m, p.tau_syn) / p.dt)))
    # after step f of a frame, u = a[f] * (u in the frame) and g = b[f] * (g in it)
    a = [e_m ** (f + 1) for f in range(period)]
    b = [e_s ** (f + 1) for f in range(period)]
    alpha = [cross * (b[f - 1] if f else 1.0) / a[f] for f in range(period)]
    # 1 / a and 1 / b by frame step: an event of x mV adds x / a[f] to u in the frame
    inv = torch.tensor([[1.0 / x for x in a], [1.0 / x for x in b]], dtype=dtype, device=dev)
    flat_state = state.view(-1)  # u at [0, padded), g at [padded, 2 padded)
    external = _External(drive, n, trials, p.dt, dtype, dev, gen)
    x_row = 0 if drive.target == "v" else 1  # the state row external input jumps
    # refractory steps per neuron where the driven neurons have none (Shiu et al.)
    ref_of = None
    if not drive.refractory_driven and p.ref_steps and external.driven.numel():
        ref_of = torch.full((padded,), p.ref_steps, dtype=torch.int32, device=dev)
        ref_of.index_fill_(0, external.driven, 0)
    currents = _Currents(drive, gaps, n, trials, dtype, dev)
    has_currents = bool(currents)
    to_u = 1.0 - e_m  # a current I held over a step moves u by (1 - e_m) I
    # the first step at which each neuron integrates again (Brian2: timestep(t -
    # lastspike) >= timestep(t_ref)); events to a neuron before then are dropped
    free_at = torch.zeros(padded, dtype=torch.int32, device=dev)
    # spikes of the last ref_steps - 1 steps, to clamp u when v_reset != v_rest
    recent: deque[torch.Tensor] = deque(maxlen=0 if plain else max(p.ref_steps - 1, 0))
    fired: list[torch.Tensor] = []
    pending = torch.zeros(0, dtype=torch.long, device=dev)  # spikes of the last block
    pending_counts: list[int] = []
    none = pending
    for start in range(0, steps, block):
        length = min(block, steps - start)
        # the events of this block: spikes of the last one (d >= 1) into g, external
        # input into its row; each as (step, neuron, index into the flat state, value
        # in the frame)
        ev_step, ev_target, ev_value = targets(pending, pending_counts, n)
        x_step, x_target, x_value = external(start, length)
        rows = torch.cat(
            [
                torch.ones(ev_step.numel(), dtype=torch.long, device=dev),
                torch.full((x_step.numel(),), x_row, dtype=torch.long, device=dev),
            ]
        )
        ev_step = torch.cat([ev_step, x_step])
        order = torch.sort(ev_step, stable=True).indices
        ev_step, rows = ev_step[order], rows[order]
        ev_nrn = torch.cat([ev_target, x_target])[order]
        ev_index = rows * padded + ev_nrn
        ev_value = (
            torch.cat([ev_value, x_value])[order] * inv.view(-1)[rows * period + ev_step % period]
        )
        bounds = torch.searchsorted(ev_step, torch.arange(length + 1, device=dev)).tolist()
        this_block: list[torch.Tensor] = []
        for j in range(length):
            k = start + j
            f = j % period
            # 1. integrate (a refractory neuron has g = 0; its u is clamped again)
            if has_currents:  # from the potentials before this step, held over it
                idx, amp = currents(k, u, a[f - 1] if f else 1.0)
                gate = free_at.index_select(0, idx) <= k
                u.index_add_(0, idx, amp.mul_(gate).mul_(to_u / a[f]))
            u.add_(g, alpha=alpha[f])
            if recent:
                u.index_fill_(0, torch.cat(tuple(recent)), u_reset / a[f])
            # 2. threshold (a refractory neuron sits at u_reset, below it)
            limit = theta / a[f]
            hot = torch.nonzero(chunks.amax(1) > limit).view(-1)
            if hot.numel():
                row, col = torch.nonzero(chunks.index_select(0, hot) > limit, as_tuple=True)
                spiking = hot.index_select(0, row).mul_(_CHUNK).add_(col)
            else:
                spiking = none
            # 3. the synaptic events due now, then the external input; like every write
            # to v or g but the reset they do not reach refractory neurons
            if d == 0 and spiking.numel():
                _, tgt, val = targets(spiking, [spiking.numel()], n)
                open_ = free_at.index_select(0, tgt) <= k
                g.index_add_(0, tgt, torch.where(open_, val / b[f], zero))
            lo, hi = bounds[j], bounds[j + 1]
            if hi > lo:
                open_ = free_at.index_select(0, ev_nrn[lo:hi]) <= k
                flat_state.index_add_(0, ev_index[lo:hi], torch.where(open_, ev_value[lo:hi], zero))
            # 4. reset: u = u_reset, g = 0, refractory until k + its refractory steps
            if spiking.numel():
                if plain:
                    state.index_fill_(1, spiking, 0.0)
                else:
                    u.index_fill_(0, spiking, u_reset / a[f])
                    g.index_fill_(0, spiking, 0.0)
                if ref_of is None:
                    free_at.index_fill_(0, spiking, k + p.ref_steps)
                else:
                    free_at.index_copy_(0, spiking, ref_of.index_select(0, spiking).add_(k))
            if recent.maxlen:  # the clamp is for refractory neurons only
                recent.append(
                    spiking if ref_of is None else spiking[ref_of.index_select(0, spiking) > 0]
                )
            this_block.append(spiking)
            if f == period - 1 or j == length - 1:  # back to the plain frame
                u.mul_(a[f])
                g.mul_(b[f])
        fired.extend(this_block)
        pending_counts = [int(s.numel()) for s in this_block]
        pending = torch.cat(this_block) if d else none
        if progress is not None:
            progress(start + length)
    counts = torch.tensor([int(s.numel()) for s in fired], dtype=torch.long)
    flat = torch.cat(fired).cpu() if fired else torch.zeros(0, dtype=torch.long)
    st = torch.repeat_interleave(torch.arange(steps), counts).numpy()
    tr, nr = (flat // n).numpy(), (flat % n).numpy()
    order_ = np.lexsort((nr, st, tr))
    seconds = steps * p.dt / 1000.0
    rates = np.bincount(flat.numpy(), minlength=size).reshape(trials, n) / seconds
    v = (u[:size] + p.v_rest).reshape(trials, n).cpu().numpy()
    return SimResult(tr[order_], st[order_], nr[order_], rates, steps, p.dt, v)


class Synapses:
    """W by source (CSC), the layout the engine reads: ``Synapses(w)`` once per network,
    and ``simulate`` takes it in place of ``w`` (the layout change takes a second or
    two at 15 M connections). Called with spikes as flat indices ``trial * n + neuron``
    and ``counts`` spikes per step, it returns their synaptic events as (step of the
    spike, flat target, weight)."""

    def __init__(self, w: torch.Tensor, dtype: torch.dtype = torch.float32) -> None:
        if w.layout != torch.sparse_csr or w.shape[0] != w.shape[1]:
            raise BadInput("W must be a square sparse CSR tensor (weight_matrix makes one)")
        self.n = int(w.shape[0])
        self.device = w.device
        # the layout change on the CPU (where every torch build has it), then back
        csc = w.to(dtype).cpu().to_sparse_csc()
        self.ptr = csc.ccol_indices().to(torch.long).to(self.device)
        self.rows = csc.row_indices().to(torch.long).to(self.device)
        self.vals = csc.values().to(self.device)

    def __call__(
        self, flat: torch.Tensor, counts: list[int], n: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        dev = flat.device
        if flat.numel() == 0:
            empty = torch.zeros(0, dtype=torch.long, device=dev)
            return empty, empty, self.vals[:0]
        src = flat % n
        start = self.ptr[src]
        degree = self.ptr[src + 1] - start
        total = int(degree.sum())
        owner = torch.repeat_interleave(
            torch.arange(src.numel(), device=dev), degree, output_size=total
        )
        first = torch.cumsum(degree, 0) - degree  # where each spike's targets begin
        pos = (start - first)[owner] + torch.arange(total, device=dev)
        spike_step = torch.repeat_interleave(
            torch.arange(len(counts), device=dev),
            torch.tensor(counts, device=dev),
            output_size=src.numel(),
        )
        return spike_step[owner], (flat - src)[owner] + self.rows[pos], self.vals[pos]


class _External:
    """The external input of a block of steps as (step in block, flat target, weight):
    Poisson hits of the driven neurons, drawn for the whole block at once, then the
    deterministic input events, in every trial."""

    def __init__(
        self,
        drive: Drive,
        n: int,
        trials: int,
        dt: float,
        dtype: torch.dtype,
        dev: torch.device,
        gen: torch.Generator,
    ) -> None:
        self.n, self.trials, self.dtype, self.dev, self.gen = n, trials, dtype, dev, gen
        self.weight = drive.weight
        self.poisson = self.prob = None
        driven = np.zeros(n, dtype=bool)
        if drive.rates is not None:
            r = np.asarray(drive.rates, dtype=np.float64)
            if r.shape != (n,) or (r < 0).any() or not np.isfinite(r).all():
                raise BadInput("drive rates must be n non-negative values (Hz)")
            idx = np.flatnonzero(r)
            if idx.size:
                driven[idx] = True
                self.poisson = torch.as_tensor(idx, dtype=torch.long, device=dev)
                self.prob = torch.as_tensor(r[idx] * dt / 1000.0, dtype=dtype, device=dev)
        self.spikes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if drive.spikes is not None:
            s_step, s_nrn = (_indices(x, "input event steps and neurons") for x in drive.spikes[:2])
            s_w = np.asarray(drive.spikes[2], dtype=np.float64)
            if not (s_step.shape == s_nrn.shape == s_w.shape) or s_step.ndim != 1:
                raise BadInput("input events need equally long step, neuron and weight arrays")
            if not np.isfinite(s_w).all():
                raise BadInput("input event weights must be finite")
            if s_nrn.size and (s_nrn.min() < 0 or s_nrn.max() >= n or s_step.min() < 0):
                raise BadInput("input events name a neuron outside the network or a step before 0")
            order = np.argsort(s_step, kind="stable")
            self.spikes = (s_step[order], s_nrn[order], s_w[order])
            driven[s_nrn] = True
        #: the driven neurons of every trial, as flat indices
        self.driven = torch.as_tensor(
            (np.arange(trials)[:, None] * n + np.flatnonzero(driven)[None, :]).ravel(),
            dtype=torch.long,
            device=dev,
        )

    def __call__(self, start: int, length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        if self.poisson is not None and self.prob is not None:
            hits = torch.bernoulli(
                self.prob.expand(length, self.trials, -1), generator=self.gen
            ).nonzero()
            step, trial, which = hits.unbind(1)
            target = trial * self.n + self.poisson[which]
            parts.append(
                (
                    step,
                    target,
                    torch.full(step.shape, self.weight, dtype=self.dtype, device=self.dev),
                )
            )
        if self.spikes is not None:
            s_step, s_nrn, s_w = self.spikes
            a, b = np.searchsorted(s_step, [start, start + length])
            if b > a:
                base = np.repeat(np.arange(self.trials) * self.n, b - a)
                parts.append(
                    (
                        torch.as_tensor(np.tile(s_step[a:b] - start, self.trials), device=self.dev),
                        torch.as_tensor(base + np.tile(s_nrn[a:b], self.trials), device=self.dev),
                        torch.as_tensor(
                            np.tile(s_w[a:b], self.trials), dtype=self.dtype, device=self.dev
                        ),
                    )
                )
        if not parts:
            empty = torch.zeros(0, dtype=torch.long, device=self.dev)
            return empty, empty, torch.zeros(0, dtype=self.dtype, device=self.dev)
        return tuple(torch.cat(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]


class _Currents:
    """The currents held over a step: step currents (piecewise constant, so their
    active set changes only at their first and end steps) and gap-junction currents
    (a sparse product over the coupled neurons), as (flat neuron, amplitude mV)."""

    def __init__(
        self,
        drive: Drive,
        gaps: GapJunctions | None,
        n: int,
        trials: int,
        dtype: torch.dtype,
        dev: torch.device,
    ) -> None:
        self.dtype, self.dev = dtype, dev
        offsets = np.arange(trials) * n
        self.steps: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.changes: set[int] = set()
        self.active: tuple[torch.Tensor, torch.Tensor] | None = None
        if drive.currents is not None:
            nrn, first, end = (
                _indices(x, "step-current neurons and steps")
                for x in (drive.currents[0], drive.currents[2], drive.currents[3])
            )
            amp = np.asarray(drive.currents[1], dtype=np.float64)
            if not (nrn.shape == amp.shape == first.shape == end.shape) or nrn.ndim != 1:
                raise BadInput(
                    "step currents need equally long neuron, amplitude, first and end arrays"
                )
            if nrn.size and (nrn.min() < 0 or nrn.max() >= n):
                raise BadInput("a step current names a neuron outside the network")
            if (first < 0).any() or (end < first).any() or not np.isfinite(amp).all():
                raise BadInput("step currents need 0 <= first <= end and finite amplitudes")
            flat = (offsets[:, None] + nrn[None, :]).ravel()
            self.steps = [
                (flat, np.tile(amp, trials), np.tile(first, trials), np.tile(end, trials))
            ]
            self.changes = {int(x) for x in first} | {int(x) for x in end}
        self.gap_nodes = None
        if gaps is not None and len(gaps.a):
            a, b = (_indices(x, "gap-junction neurons") for x in (gaps.a, gaps.b))
            c = np.asarray(gaps.coupling, dtype=np.float64)
            if not (a.shape == b.shape == c.shape) or a.ndim != 1:
                raise BadInput("gap junctions need equally long a, b and coupling arrays")
            if min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n or (a == b).any():
                raise BadInput("a gap junction names a neuron outside the network or itself")
            if (c < 0).any() or not np.isfinite(c).all():
                raise BadInput("gap-junction couplings must be finite and not negative")
            nodes, local = np.unique(np.concatenate([a, b]), return_inverse=True)
            m, la, lb = nodes.size, local[: a.size], local[a.size :]
            # every trial's coupled neurons side by side; each pair both ways (a sparse
            # product is far slower than a gather and an index_add at this size)
            rows = (np.arange(trials)[:, None] * m + np.concatenate([la, lb])[None, :]).ravel()
            cols = (np.arange(trials)[:, None] * m + np.concatenate([lb, la])[None, :]).ravel()
            self.rows = torch.as_tensor(rows, dtype=torch.long, device=dev)
            self.cols = torch.as_tensor(cols, dtype=torch.long, device=dev)
            self.coupling = torch.as_tensor(
                np.tile(np.concatenate([c, c]), trials), dtype=dtype, device=dev
            )
            degree = np.bincount(np.concatenate([la, lb]), np.concatenate([c, c]), minlength=m)
            self.degree = torch.as_tensor(np.tile(degree, trials), dtype=dtype, device=dev)
            self.gap_nodes = torch.as_tensor(
                (offsets[:, None] + nodes[None, :]).ravel(), dtype=torch.long, device=dev
            )

    def __bool__(self) -> bool:
        return bool(self.steps) or self.gap_nodes is not None

    def __call__(self, k: int, u: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Currents at step k, given u in a frame where the potentials are ``scale * u``."""
        parts_i: list[torch.Tensor] = []
        parts_a: list[torch.Tensor] = []
        if self.steps:
            if self.active is None or k in self.changes:
                flat, amp, first, end = self.steps[0]
                on = (first <= k) & (k < end)
                self.active = (
                    torch.as_tensor(flat[on], dtype=torch.long, device=self.dev),
                    torch.as_tensor(amp[on], dtype=self.dtype, device=self.dev),
                )
            parts_i.append(self.active[0])
            parts_a.append(self.active[1].clone())
        if self.gap_nodes is not None:
            x = u.index_select(0, self.gap_nodes).mul_(scale)
            parts_i.append(self.gap_nodes)
            inflow = torch.zeros_like(x).index_add_(
                0, self.rows, x.index_select(0, self.cols).mul_(self.coupling)
            )
            parts_a.append(inflow.sub_(self.degree * x))
        if len(parts_i) == 1:
            return parts_i[0], parts_a[0]
        return torch.cat(parts_i), torch.cat(parts_a)


def _indices(x: object, what: str) -> np.ndarray:
    """Whole numbers as int64 (floats with no fraction allowed)."""
    arr = np.asarray(x)
    whole = np.issubdtype(arr.dtype, np.integer) or (
        np.issubdtype(arr.dtype, np.floating) and bool((arr == np.round(arr)).all())
    )
    if arr.size and not whole:
        raise BadInput(f"{what} must be whole numbers")
    return arr.astype(np.int64)
