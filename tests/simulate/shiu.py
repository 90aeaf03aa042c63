"""Runs of Shiu et al.'s model in Brian2 (``connectomedb.simulate.reference``) shared by
the engine's and the job's tests, and the four-type network they run on."""

from __future__ import annotations

from typing import Any

import numpy as np

from connectomedb.simulate import reference as ref

DT_MS = 0.1  # Brian2's default clock, which their code runs on


def scope(seed: int | None = None) -> None:
    import brian2 as b

    b.start_scope()
    b.prefs.codegen.target = "numpy"
    b.defaultclock.dt = DT_MS * b.ms
    if seed is not None:
        b.seed(seed)


def run(objects: list[Any], mon: Any, steps: int) -> dict[int, np.ndarray]:
    """Run their network for ``steps`` steps: spike steps per neuron."""
    import brian2 as b

    net = b.Network(*objects)
    net.run(steps * DT_MS * b.ms)
    return {
        int(k): np.round(np.asarray(v / b.ms) / DT_MS).astype(np.int64)
        for k, v in mon.spike_trains().items()
        if len(v)
    }


def _random_network(
    rng: np.random.Generator, n: int, k: int, mu: float, excitatory: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``k`` connections per neuron on average from random sources onto skewed
    in-degrees (so that rates differ widely between neurons), duplicates and autapses
    dropped, log-normal synapse counts; the sign of each neuron's synapses."""
    post = (n * rng.random(n * k) ** 1.5).astype(np.int64)
    keys = np.unique(rng.integers(0, n, post.size) * n + post)
    pre, post = keys // n, keys % n
    keep = pre != post
    pre, post = pre[keep], post[keep]
    strength = np.maximum(1, np.round(rng.lognormal(mu, 1.0, pre.size)))
    return pre, post, strength, np.where(excitatory, 1.0, -1.0)


def mixed(seed: int, n: int = 1000, isolated: bool = True) -> tuple[np.ndarray, ...]:
    """A network of four types: A and B cholinergic (excitatory), C GABAergic and D
    glutamatergic (inhibitory, as in Shiu et al.); 20 neurons of type A to drive, with
    no input of their own when ``isolated``."""
    rng = np.random.default_rng(seed)
    types = np.repeat(np.arange(4), [300, 300, 200, 200])
    pre, post, strength, sign = _random_network(rng, n, 50, 1.75, types < 2)
    driven = np.sort(rng.choice(np.flatnonzero(types == 0), 20, replace=False))
    keep = ~np.isin(post, driven) if isolated else np.ones(post.size, dtype=bool)
    return types, pre[keep], post[keep], strength[keep], sign, driven


def their_poisson_rates(
    n: int,
    pre: np.ndarray,
    post: np.ndarray,
    strength: np.ndarray,
    sign: np.ndarray,
    driven: np.ndarray,
    trials: int,
    seed: int,
    steps: int = 10_000,
) -> np.ndarray:
    """Rates (trials, n) in their model under their 150 Hz Poisson input into
    ``driven``. The trials run as copies of the network side by side, the driven
    neurons of every copy first (one ``PoissonInput`` over all of them: Brian2 draws
    each target's input independently)."""
    rest = np.setdiff1d(np.arange(n), driven)
    where = np.empty(n, dtype=np.int64)
    where[np.concatenate([driven, rest])] = np.arange(n)

    def index(nrn: np.ndarray, copies: np.ndarray) -> np.ndarray:
        w = where[nrn]
        return np.where(
            w < driven.size,
            copies * driven.size + w,
            trials * driven.size + copies * rest.size + (w - driven.size),
        )

    copy = np.repeat(np.arange(trials), pre.size)
    scope(seed=seed)
    params = ref.default_params()
    neu, syn, mon = ref.create_model(
        trials * n,
        index(np.tile(pre, trials), copy),
        index(np.tile(post, trials), copy),
        np.tile(sign[pre] * strength, trials),
        params,
    )
    pois = ref.poi_block(neu, 0, trials * driven.size, params)
    run([neu, syn, mon, pois], mon, steps)
    counts = np.bincount(np.asarray(mon.i), minlength=trials * n)
    seconds = steps * DT_MS / 1000
    return np.stack([counts[index(np.arange(n), np.full(n, t))] for t in range(trials)]) / seconds


def agree(ours: np.ndarray, theirs: np.ndarray, types: np.ndarray, driven: np.ndarray) -> None:
    """Rates (trials, n) of the engine and of their model: undriven neurons' mean rates
    correlate at 0.99 or more, driven neurons fire within 2 % of 147.75 Hz (150 Hz less
    the input lost in the step of a spike), each type's mean lies within two standard
    errors of the difference."""
    trials = ours.shape[0]
    rest = np.setdiff1d(np.arange(types.size), driven)
    r = np.corrcoef(ours[:, rest].mean(0), theirs[:, rest].mean(0))[0, 1]
    print(f"undriven rate correlation {r:.4f}")
    assert theirs[:, rest].mean(0).std() > 2  # rates differ widely between neurons
    assert r >= 0.99
    expected = 150 * (1 - 150 * DT_MS / 1000)
    for mine in (ours, theirs):
        print(f"driven {mine[:, driven].mean():.2f} Hz")
        assert abs(mine[:, driven].mean() / expected - 1) < 0.02
    for t in range(4):
        sel = np.setdiff1d(np.flatnonzero(types == t), driven)
        a, b = ours[:, sel].mean(1), theirs[:, sel].mean(1)  # per trial
        se_a, se_b = a.std(ddof=1) / np.sqrt(trials), b.std(ddof=1) / np.sqrt(trials)
        se = np.hypot(se_a, se_b)  # of the difference
        print(
            f"type {'ABCD'[t]}: {a.mean():.3f} +- {se_a:.3f} vs {b.mean():.3f} +- {se_b:.3f} "
            f"Hz, difference {(a.mean() - b.mean()) / se:+.2f} SE"
        )
        assert b.mean() > 0.5
        assert abs(a.mean() - b.mean()) < 2 * se
