"""The masked RNN: the sparse step's gradients against finite differences, the whole
forward pass against a dense loop written here, the mask and Dale's signs kept through
training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from connectomedb.neuroai.masks import connectome_mask, random_mask
from connectomedb.neuroai.model import _CSR, MaskedRNN, _SparseStep


def test_sparse_step_gradients_match_finite_differences() -> None:
    mask = random_mask(30, 0.15, np.random.default_rng(1))
    pattern = _CSR(mask)
    w = torch.randn(mask.m, dtype=torch.float64, requires_grad=True)
    h = torch.randn(4, 30, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, h: _SparseStep.apply(w, h, pattern), (w, h))


def test_forward_equals_a_dense_masked_loop() -> None:
    mask = random_mask(40, 0.1, np.random.default_rng(2))
    net = MaskedRNN(3, 5, 40, mask, alpha=0.5, seed=4)
    dense = np.zeros((40, 40), dtype=np.float32)
    dense[mask.post, mask.pre] = net.w_rec.detach().numpy()
    w = torch.from_numpy(dense)
    x = torch.randn(6, 7, 3)
    h = torch.zeros(6, 40)
    for t in range(7):
        new = torch.tanh(x[:, t] @ net.w_in.weight.T + h @ w.T + net.bias)
        h = 0.5 * h + 0.5 * new
    expected = h @ net.w_out.weight.T + net.w_out.bias
    assert torch.allclose(net(x)[:, -1], expected, atol=1e-5)


def test_dale_network_after_training_equals_a_dense_loop_with_signed_columns() -> None:
    """The trained parameters read back by hand: W[post, pre] = |theta| * sign[pre] on the
    mask, zero elsewhere; the network's output equals a plain loop with that W, and its
    initial spectral radius is the gain (numpy's eigenvalues of the hand-built W)."""
    rng = np.random.default_rng(5)
    base = random_mask(25, 0.2, rng)
    sign = np.where(rng.random(25) < 0.3, -1.0, 1.0)
    mask = connectome_mask(25, base.pre, base.post, sign)

    def by_hand(net: MaskedRNN) -> torch.Tensor:
        w = np.zeros((25, 25), dtype=np.float32)
        theta = net.w_rec.detach().numpy()
        for k, (pre, post) in enumerate(zip(mask.pre, mask.post, strict=True)):
            w[post, pre] = abs(theta[k]) * sign[pre]
        return torch.from_numpy(w)

    net = MaskedRNN(2, 2, 25, mask, seed=0, gain=0.8)
    radius = np.abs(np.linalg.eigvals(by_hand(net).numpy().astype(np.float64))).max()
    assert radius == pytest.approx(0.8, rel=1e-4)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    for _ in range(20):
        loss = net(torch.randn(8, 5, 2)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    w = by_hand(net)
    x = torch.randn(4, 6, 2)
    h = torch.zeros(4, 25)
    for t in range(6):
        h = torch.tanh(x[:, t] @ net.w_in.weight.T + h @ w.T + net.bias)
    expected = h @ net.w_out.weight.T + net.w_out.bias
    assert torch.allclose(net(x)[:, -1], expected, atol=1e-5)
    assert net.trainable_recurrent == mask.m


def test_dense_network_has_n_squared_weights_and_identity_io_routes_units() -> None:
    assert MaskedRNN(3, 2, 10).trainable_recurrent == 100
    mask = random_mask(6, 0.3, np.random.default_rng(0))
    net = MaskedRNN(6, 6, 6, mask, identity_io=True)
    x = torch.zeros(1, 1, 6)
    x[0, 0, 2] = 1.0
    out = net(x)[0, 0]
    # one step from a zero state: only unit 2 is driven, tanh(1)
    assert out[2].item() == pytest.approx(np.tanh(1.0), abs=1e-6)
    assert torch.count_nonzero(out).item() == 1
