"""One training step of the masked RNN's sparse recurrence against the dense one: a
sequence of ``--steps`` time steps, batch ``--batch``, forward, backward and an Adam
update, at 1 000 and 10 000 units and masks of 10% and 1% density (random masks; the
dense network has all ``n^2`` weights). The median of ``--reps`` timed steps after one
warm-up step.

Prints ``name: value`` lines: ``dense_<n>_s``, ``sparse_<n>_<pct>_s`` and
``ratio_<n>_<pct>`` (dense time over sparse time: above 1, the sparse step is faster).
``--device cuda`` times on a GPU where one exists.

Usage: python bench/rnn.py [--units 1000 10000] [--densities 0.1 0.01] [--steps 10]
       [--batch 32] [--reps 3] [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

from connectomedb.neuroai.masks import random_mask
from connectomedb.neuroai.model import MaskedRNN


def step_time(net: MaskedRNN, x: torch.Tensor, reps: int) -> float:
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def one() -> None:
        loss = net(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if x.is_cuda:
            torch.cuda.synchronize()

    one()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        one()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--densities", type=float, nargs="+", default=[0.1, 0.01])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}, device {dev}"
    )
    print(f"sequence_steps: {a.steps}")
    print(f"batch: {a.batch}")
    for n in a.units:
        x = torch.randn(a.batch, a.steps, 8, device=dev)
        dense = step_time(MaskedRNN(8, 4, n).to(dev), x, a.reps)
        print(f"dense_{n}_s: {dense:.4f}")
        for d in a.densities:
            mask = random_mask(n, d, np.random.default_rng(0))
            net = MaskedRNN(8, 4, n, mask).to(dev)
            sparse = step_time(net, x, a.reps)
            pct = f"{d * 100:g}pct"
            print(f"sparse_{n}_{pct}_s: {sparse:.4f}")
            print(f"ratio_{n}_{pct}: {dense / sparse:.2f}")


if __name__ == "__main__":
    main()
