"""Structure against function at connectome scale, on synthetic arrays (no Neo4j).

Prints ``name: value`` lines:

- ``pairwise_observed_s``: :func:`connectomedb.analytics.structure_function.pairwise`
  with no null samples (checks, A @ A, categories, odds ratios, rhos, CV R^2);
- ``pairwise_label_permutation_s``: the same with the label-permutation null and
  ``--samples`` samples; ``null_sample_s`` and ``ratio_null_sample_over_observed``;
- ``pairwise_degree_preserving_sample_s``: one degree-preserving null sample (the whole
  graph rewired), when ``--degree-preserving`` is given;
- ``like_to_like_scalar_s`` / ``like_to_like_vector_s``:
  :func:`~connectomedb.analytics.structure_function.like_to_like` with the default 1000
  permutations on ``--like-neurons`` neurons (orientation with period 180; 16-component
  response vectors), all of them measured.

Synthetic data (seed 1): a directed Erdős–Rényi graph with synapse counts 1 + Poisson(3),
gap junctions with counts 1 + Poisson(1), measured pairs uniform over ordered pairs but
5% of them chemical connections, functional with probability 0.3 on a chemical
connection and 0.05 otherwise, amplitudes with a count-dependent mean.

Usage: python bench/structure_function.py [--neurons 100000] [--connections 1000000]
    [--gap-junctions 200000] [--pairs 1000000] [--samples 100] [--like-neurons 10000]
    [--like-connections 1000000] [--degree-preserving]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from connectomedb.analytics.structure_function import like_to_like, pairwise


def distinct(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """k distinct keys i * n + j, i != j."""
    out = np.zeros(0, dtype=np.int64)
    while out.size < k:
        keys = rng.integers(0, n * n, size=int(1.1 * (k - out.size)) + 16)
        out = np.union1d(out, keys[keys // n != keys % n])
    return rng.choice(out, size=k, replace=False)


def connectome(n: int, m: int, g: int, p: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    chem = distinct(n, m, rng)
    pre, post = chem // n, chem % n
    count = 1.0 + rng.poisson(3, m)
    ends = distinct(n, g, rng)
    ga, gb = np.minimum(ends // n, ends % n), np.maximum(ends // n, ends % n)
    gap = np.unique(ga * n + gb)  # each unordered pair once
    ga, gb = gap // n, gap % n
    gc = 1.0 + rng.poisson(1, ga.size)
    on_wire = rng.choice(chem, size=p // 20, replace=False)
    rest = distinct(n, p, rng)
    pairs = np.concatenate([on_wire, rest[~np.isin(rest, on_wire)]])[:p]
    stim, resp = pairs // n, pairs % n
    wired = np.isin(pairs, chem)
    functional = rng.random(p) < np.where(wired, 0.3, 0.05)
    q = np.where(functional, rng.random(p) * 0.05, 0.05 + rng.random(p) * 0.95)
    amplitude = rng.normal(size=p) + wired * 0.5
    return [pre, post, count, ga, gb, gc, stim, resp, q, amplitude]


def timed(label: str, fn: object, *args: object, **kw: object) -> float:
    t = time.perf_counter()
    fn(*args, **kw)  # type: ignore[operator]
    seconds = time.perf_counter() - t
    print(f"{label}: {seconds:.2f}", flush=True)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=1_000_000)
    ap.add_argument("--gap-junctions", type=int, default=200_000)
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--like-neurons", type=int, default=10_000)
    ap.add_argument("--like-connections", type=int, default=1_000_000)
    ap.add_argument("--degree-preserving", action="store_true")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    n = args.neurons
    data = connectome(n, args.connections, args.gap_junctions, args.pairs, seed=1)
    print(f"neurons: {n}")
    print(f"connections: {data[0].size}")
    print(f"gap_junctions: {data[3].size}")
    print(f"pairs: {data[6].size}")

    observed = timed("pairwise_observed_s", pairwise, n, *data, null_samples=0)
    total = timed("pairwise_label_permutation_s", pairwise, n, *data, null_samples=args.samples)
    per_sample = (total - observed) / max(args.samples, 1)
    print(f"null_sample_s: {per_sample:.3f}")
    print(f"ratio_null_sample_over_observed: {per_sample / observed:.3f}")
    if args.degree_preserving:
        one = timed(
            "pairwise_degree_preserving_1_s",
            pairwise,
            n,
            *data,
            null="degree_preserving",
            null_samples=1,
        )
        print(f"pairwise_degree_preserving_sample_s: {one - observed:.2f}")

    m = args.like_neurons
    rng = np.random.default_rng(2)
    keys = distinct(m, args.like_connections, rng)
    pre, post = keys // m, keys % m
    timed(
        "like_to_like_scalar_s",
        like_to_like,
        m,
        pre,
        post,
        rng.random(m) * 180,
        circular_period=180,
    )
    timed("like_to_like_vector_s", like_to_like, m, pre, post, rng.normal(size=(m, 16)))


if __name__ == "__main__":
    main()
