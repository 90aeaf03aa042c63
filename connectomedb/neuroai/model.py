"""A recurrent network whose recurrence is dense or confined to a fixed mask.

The masked recurrence keeps one trainable value per mask edge and multiplies with a
sparse CSR matrix; its backward pass is a transposed sparse product for the state and a
sampled dense-dense product (SDDMM) for the edge values, so that a step costs work in
proportion to the edges, not ``n^2`` (``bench/rnn.py`` times it against the dense step).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from connectomedb.neuroai.masks import Mask

# torch notes on first use that CSR support is in beta
# (invariant checks are off on purpose: the patterns are built sorted and in range)
warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)


def spectral_radius(mask: Mask | None, values: np.ndarray) -> float | None:
    """The largest |eigenvalue| of the recurrent matrix: the dense ``values`` (no mask) or
    one value per mask edge; None when ARPACK does not converge."""
    n = values.shape[0] if mask is None else mask.n
    if mask is None:
        w = values.astype(np.float64)
    elif n <= 2000:
        w = np.zeros((n, n))
        w[mask.post, mask.pre] = values
    if n <= 2000:
        return float(np.abs(np.linalg.eigvals(w)).max())
    import scipy.sparse as sp
    from scipy.sparse.linalg import ArpackNoConvergence, eigs

    a = (
        sp.csr_array(w)
        if mask is None
        else sp.csr_array((values.astype(np.float64), (mask.post, mask.pre)), shape=(n, n))
    )
    try:
        val = eigs(a, k=1, which="LM", return_eigenvectors=False, maxiter=20 * n)
    except ArpackNoConvergence:
        return None
    return float(np.abs(val).max())


class _CSR:
    """A mask's pattern in CSR form, in both orientations (``y = W h`` and ``W^T g``)."""

    def __init__(self, mask: Mask) -> None:
        n = mask.n
        self.n = n
        counts = np.bincount(mask.post, minlength=n)
        self.crow = torch.from_numpy(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        self.col = torch.from_numpy(mask.pre.astype(np.int64))  # rows post, sorted by (post, pre)
        order = np.lexsort((mask.post, mask.pre))  # the transpose: rows pre, sorted by (pre, post)
        tcounts = np.bincount(mask.pre, minlength=n)
        self.tcrow = torch.from_numpy(np.concatenate([[0], np.cumsum(tcounts)]).astype(np.int64))
        self.tcol = torch.from_numpy(mask.post[order].astype(np.int64))
        self.perm = torch.from_numpy(order.astype(np.int64))

    def moved(self, fn: Any) -> _CSR:
        """The pattern with ``fn`` (a module's ``to``/``cuda``) applied to its tensors."""
        for name in ("crow", "col", "tcrow", "tcol", "perm"):
            setattr(self, name, fn(getattr(self, name)))
        return self

    def matrix(self, values: torch.Tensor) -> torch.Tensor:
        return torch.sparse_csr_tensor(
            self.crow, self.col, values, (self.n, self.n), check_invariants=False
        )

    def transposed(self, values: torch.Tensor) -> torch.Tensor:
        return torch.sparse_csr_tensor(
            self.tcrow, self.tcol, values[self.perm], (self.n, self.n), check_invariants=False
        )


class _SparseStep(torch.autograd.Function):
    """``h @ W^T`` for the masked ``W`` with values ``w``, batch first."""

    @staticmethod
    def forward(ctx: Any, w: torch.Tensor, h: torch.Tensor, pattern: _CSR) -> torch.Tensor:
        ctx.save_for_backward(w, h)
        ctx.pattern = pattern
        return (pattern.matrix(w) @ h.T.contiguous()).T

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        w, h = ctx.saved_tensors
        p: _CSR = ctx.pattern
        gt = g.T.contiguous()
        grad_h = (p.transposed(w) @ gt).T if ctx.needs_input_grad[1] else None
        grad_w = None
        if ctx.needs_input_grad[0]:
            # dL/dw_k = sum_b g[b, post_k] h[b, pre_k]: g^T h sampled on the mask
            grad_w = torch.sparse.sampled_addmm(p.matrix(w.detach()), gt, h, beta=0.0).values()
        return grad_w, grad_h, None


class MaskedRNN(nn.Module):
    """A leaky tanh RNN, ``h_t = (1 - alpha) h_{t-1} + alpha tanh(W_in x_t + W h_{t-1} + b)``,
    read out by ``W_out h_t``.

    Args:
        n_in: input channels; n_out: output channels.
        n: units.
        mask: the fixed recurrent mask; None for a dense all-to-all ``W`` (self-
            connections included, as in ``torch.nn.RNN``).
        alpha: the leak (1: a plain RNN).
        gain: the spectral radius of the initial recurrent weights (drawn with standard
            deviation ``1 / sqrt(k)``, ``k`` the mean inputs per unit, then scaled to it).
        identity_io: input channel i drives unit i alone and output i reads unit i alone
            (through one trained gain and bias): nothing but the recurrence is trained
            to route signals (the planted control task).
        seed: the initial weights' seed.

    Shapes:
        input x: (batch, time, n_in); output: (batch, time, n_out).
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        n: int,
        mask: Mask | None = None,
        *,
        alpha: float = 1.0,
        gain: float = 0.9,
        identity_io: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if mask is not None and mask.n != n:
            raise ValueError(f"the mask has {mask.n} units, the network {n}")
        if identity_io and not n_in == n_out == n:
            raise ValueError("identity input and output need n_in == n_out == n")
        self.n, self.alpha, self.gain, self.identity_io = n, alpha, gain, identity_io
        self.mask = mask
        self.seed = seed
        self._pattern = _CSR(mask) if mask is not None else None
        self.sign: torch.Tensor | None
        if mask is not None and mask.sign is not None:
            self.register_buffer("sign", torch.from_numpy(mask.sign[mask.pre]))
        else:
            self.sign = None
        if mask is None:
            self.w_rec = nn.Parameter(torch.empty(n, n))
        else:
            self.w_rec = nn.Parameter(torch.empty(mask.m))
        if identity_io:
            self.in_gain = nn.Parameter(torch.ones(()))
            self.out_gain = nn.Parameter(torch.ones(()))
            self.out_bias = nn.Parameter(torch.zeros(()))
        else:
            self.w_in = nn.Linear(n_in, n, bias=False)
            self.w_out = nn.Linear(n, n_out)
        self.bias = nn.Parameter(torch.zeros(n))
        self.reset_parameters()

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> MaskedRNN:
        super()._apply(fn, *args, **kwargs)
        if self._pattern is not None:  # index tensors follow the module to its device
            self._pattern = self._pattern.moved(fn)
        return self

    @property
    def trainable_recurrent(self) -> int:
        """The trainable recurrent weights (``n^2`` dense, the mask's edges otherwise)."""
        return int(self.w_rec.numel())

    def reset_parameters(self) -> None:
        gen = torch.Generator().manual_seed(self.seed)
        k = self.n if self.mask is None else max(self.mask.m / self.n, 1.0)
        with torch.no_grad():
            self.w_rec.normal_(0.0, self.gain / float(np.sqrt(k)), generator=gen)
            if self.sign is not None:
                self.w_rec.abs_()
            # gain / sqrt(k) gives a radius near gain for iid entries (the circular law),
            # not for a structured mask (a connectome's hubs, Dale's one sign per unit
            # raise it): scale to the exact radius, so every variant starts at gain. A
            # dense matrix past 2000 units is iid: the law holds and no eigensolve is paid.
            if self.mask is not None or self.n <= 2000:
                radius = spectral_radius(self.mask, self.recurrent_values().detach().numpy())
                if radius:
                    self.w_rec.mul_(self.gain / radius)
            if not self.identity_io:
                fan_in = self.w_in.in_features
                self.w_in.weight.normal_(0.0, 1.0 / float(np.sqrt(fan_in)), generator=gen)
                self.w_out.weight.normal_(0.0, 1.0 / float(np.sqrt(self.n)), generator=gen)
                self.w_out.bias.zero_()
            self.bias.zero_()

    def recurrent_values(self) -> torch.Tensor:
        """The effective recurrent weights: the dense matrix, or one value per mask edge
        (signed by the presynaptic unit under Dale's law)."""
        if self.sign is not None:
            return self.w_rec.abs() * self.sign
        return self.w_rec

    def radius(self) -> float | None:
        """The spectral radius of the recurrent weights now."""
        return spectral_radius(self.mask, self.recurrent_values().detach().cpu().numpy())

    def recurrent_matrix(self) -> np.ndarray:
        """The effective recurrent matrix ``W[post, pre]`` as a dense array."""
        v = self.recurrent_values().detach().cpu().numpy()
        if self.mask is None:
            return v.copy()
        out = np.zeros((self.n, self.n), dtype=v.dtype)
        out[self.mask.post, self.mask.pre] = v
        return out

    def step(self, h: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        w = self.recurrent_values()
        rec = h @ w.T if self._pattern is None else _SparseStep.apply(w, h, self._pattern)
        new = torch.tanh(drive + rec + self.bias)
        return new if self.alpha == 1.0 else (1 - self.alpha) * h + self.alpha * new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape
        drive = x * self.in_gain if self.identity_io else self.w_in(x)
        h = x.new_zeros(batch, self.n)
        states = []
        for t in range(steps):
            h = self.step(h, drive[:, t])
            states.append(h)
        hs = torch.stack(states, dim=1)
        if self.identity_io:
            return hs * self.out_gain + self.out_bias
        out: torch.Tensor = self.w_out(hs)
        return out
