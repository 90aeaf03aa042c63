"""The LIF engine against closed-form solutions and hand-built circuits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from connectomedb.simulate.engine import Drive, LIFParams, simulate, weight_matrix

P = LIFParams()


def _v_closed(t: float, g0: float, p: LIFParams) -> float:
    """v(t) after a jump g(0) = g0 from rest (dv/dt = (v_rest - v + g) / tau_m)."""
    a, b = p.tau_syn, p.tau_m
    return p.v_rest + g0 * a / (a - b) * (math.exp(-t / a) - math.exp(-t / b))


def _alone() -> torch.Tensor:
    """W of one neuron with no connections."""
    return weight_matrix(
        1, np.array([], dtype=int), np.array([], dtype=int), np.array([]), np.ones(1), 1.0
    )


def _one_neuron(weights: list[float], steps: int = 400) -> tuple[torch.Tensor, Drive]:
    w = _alone()
    k = np.zeros(len(weights), dtype=int)
    return w, Drive(spikes=(k, np.zeros(len(weights), dtype=int), np.array(weights)), target="g")


@pytest.mark.parametrize("g0", [45.0, 60.0, 400.0])
def test_first_spike_step_matches_the_closed_form(g0: float) -> None:
    """One input event at step 0 (after that step's integration): the first spike is at
    the first step j >= 1 where the exact solution at t = j dt exceeds the threshold."""
    w, drive = _one_neuron([g0])
    r = simulate(w, P, 400, drive)
    want = next((j for j in range(1, 400) if _v_closed(j * P.dt, g0, P) > P.v_th), None)
    got = int(r.step[0]) if r.step.size else None
    assert got == want and want is not None


def test_a_weak_input_stays_below_threshold() -> None:
    peak = max(_v_closed(j * P.dt, 40.0, P) for j in range(1, 2000))
    assert peak < P.v_th  # checked by the closed form
    w, drive = _one_neuron([40.0])
    assert simulate(w, P, 2000, drive).step.size == 0


@pytest.mark.parametrize("delay", [1.5, 0.0, 500.0])
def test_refractory_period_and_delay_in_steps(delay: float) -> None:
    """Neuron 0 is kicked (into g) every step and keeps its refractory period (an option:
    Shiu et al. give driven neurons none). Input does not reach it while refractory, so after
    each spike it starts again from rest at the step it is free, and fires as long after
    that as its first spike came after step 0. Neuron 1 gets one strong synapse from 0 and spikes `delay` later (plus the
    one step its own integration takes)."""
    p = LIFParams(t_ref=2.0, delay=delay)
    w = weight_matrix(2, np.array([0]), np.array([1]), np.array([1.0]), np.ones(2), 400.0)
    steps = 300 + p.delay_steps  # a 500 ms delay is 5000 steps, 100 tau_syn (float32)
    # float input arrays are taken when they hold whole numbers
    drive = Drive(
        spikes=(np.arange(steps) * 1.0, np.zeros(steps), np.full(steps, 400.0)),
        target="g",
        refractory_driven=True,
    )
    r = simulate(w, p, steps, drive)
    t0 = r.step[r.neuron == 0]
    t1 = r.step[r.neuron == 1]
    assert (np.diff(t0) == p.ref_steps + t0[0]).all()  # free again ref_steps after a spike
    # a spike of 0 at step k reaches 1's g at step k + delay_steps; from there 1 rises as
    # the closed form says
    rise = next(j for j in range(1, 100) if _v_closed(j * p.dt, 400.0, p) > p.v_th)
    assert t1[0] == t0[0] + p.delay_steps + rise


@pytest.mark.parametrize("jump", [6.9, 7.1, 68.75])
def test_input_on_v_is_a_jump_of_the_potential(jump: float) -> None:
    """An input event of ``jump`` mV at step 0 lands after that step's integration: v
    decays from v_rest + jump over the 199 steps after it, and the neuron fires at step
    1 exactly when jump * exp(-dt / tau_m) crosses the threshold, and otherwise never."""
    w = _alone()
    r = simulate(w, P, 200, Drive(spikes=(np.array([0]), np.array([0]), np.array([jump]))))
    fires = jump * math.exp(-P.dt / P.tau_m) > P.v_th - P.v_rest
    assert r.step.tolist() == ([1] if fires else [])
    if not fires:
        assert r.v[0, 0] == pytest.approx(
            P.v_rest + jump * math.exp(-199 * P.dt / P.tau_m), rel=1e-5
        )


def test_a_poisson_driven_neuron_fires_at_the_input_rate_less_the_input_lost_in_spiking() -> None:
    """Shiu et al.'s drive: 150 Hz Poisson input of 68.75 mV into v, and no refractory
    period. Each input spike makes a spike in the next step, except one arriving in the
    step of a spike (a reset follows it): 150 / (1 + 150 dt) Hz, 147.78 Hz. Input into
    g (about 107 Hz) or a 2.2 ms refractory period (about 112 Hz) would not."""
    w = _alone()
    drive = Drive(rates=np.array([150.0]), weight=250 * P.w_syn)
    r = simulate(w, P, 5000, drive, trials=256, seed=4)
    p = 150 * P.dt / 1000
    assert r.rates.mean() == pytest.approx(150 / (1 + p), rel=0.02)
    for other in (
        Drive(drive.rates, drive.weight, target="g"),
        Drive(drive.rates, drive.weight, refractory_driven=True),
    ):
        rate = simulate(w, P, 5000, other, trials=256, seed=4).rates.mean()
        print(f"{other.target}, refractory {other.refractory_driven}: {rate:.1f} Hz")
        assert rate < 0.8 * 150 / (1 + p)


def test_trials_run_as_one_batch_with_their_own_noise() -> None:
    n = 50
    rng = np.random.default_rng(0)
    pre, post = rng.integers(0, n, 200), rng.integers(0, n, 200)
    w = weight_matrix(n, pre, post, np.ones(200), np.ones(n), P.w_syn)
    drive = Drive(rates=np.full(n, 150.0), weight=P.w_syn * 250)
    r = simulate(w, P, 2000, drive, trials=3, seed=1)
    assert r.rates.shape == (3, n)
    assert not np.array_equal(r.rates[0], r.rates[1])
    again = simulate(w, P, 2000, drive, trials=3, seed=1)
    assert np.array_equal(r.neuron, again.neuron) and np.array_equal(r.step, again.step)


def test_a_planted_chain_carries_activity_and_nothing_else_changes() -> None:
    """1000 neurons with weak random connections within neurons 8-499 and within
    500-999, and Poisson background everywhere; a planted chain 0 -> 1 -> ... -> 7 of
    strong links, whose tail projects onto neurons 100-109. Driving the head raises the rate of every chain
    neuron; neurons the head cannot reach fire exactly as without the extra drive (same
    seed, so the same background)."""
    n, chain = 1000, np.arange(8)
    rng = np.random.default_rng(3)
    half = rng.integers(0, 2, 5000) * 500
    pre = np.maximum(rng.integers(0, 500, 5000) + half, 8)
    post = np.maximum(rng.integers(0, 500, 5000) + half, 8)
    keep = pre != post
    pre = np.concatenate([pre[keep], chain[:-1], np.full(10, 7)])
    post = np.concatenate([post[keep], chain[1:], np.arange(100, 110)])
    strength = np.concatenate([np.ones(keep.sum()), np.full(7, 200.0), np.full(10, 60.0)])
    w = weight_matrix(n, pre, post, strength, np.ones(n), P.w_syn)
    background = Drive(rates=np.full(n, 40.0), weight=P.w_syn * 20)
    quiet = simulate(w, P, 5000, background, seed=9)
    head = np.arange(0, 5000, 50)  # a 100 mV kick to the head every 5 ms
    loud = simulate(
        w,
        P,
        5000,
        Drive(
            background.rates,
            background.weight,
            (head, np.zeros_like(head), np.full(head.size, 100.0)),
        ),
        seed=9,
    )
    print(f"chain rates {quiet.rates[0, chain]} -> {loud.rates[0, chain]} Hz")
    assert (loud.rates[0, chain] > quiet.rates[0, chain] + 20).all()
    reach = {int(v) for v in chain} | set(range(100, 110))
    frontier = set(range(100, 110))
    while frontier:  # everything downstream of the chain, through the random part
        nxt = {int(b) for a, b in zip(pre, post, strict=True) if int(a) in frontier} - reach
        reach |= nxt
        frontier = nxt
    unreached = np.setdiff1d(np.arange(n), sorted(reach))
    assert unreached.size >= 500  # the other half at least
    assert np.array_equal(loud.rates[0, unreached], quiet.rates[0, unreached])


@pytest.mark.parametrize("fraction", [0.001, 0.01, 0.5])
def test_synaptic_events_sum_to_the_product(fraction: float) -> None:
    from connectomedb.simulate.engine import Synapses

    rng = np.random.default_rng(2)
    n, m = 3000, 60_000
    pre, post = rng.integers(0, n, m), rng.integers(0, n, m)
    sign = np.where(rng.random(n) < 0.7, 1.0, -1.0)
    w = weight_matrix(n, pre, post, rng.integers(1, 9, m).astype(float), sign, 0.5)
    spiking = torch.from_numpy(rng.random((3, n)) < fraction)
    want = np.zeros((3, n))  # summed entry by entry from the coordinate list
    coo = w.to_sparse_coo().coalesce()
    (r, c), v = coo.indices().numpy(), coo.values().numpy()
    for t in range(3):
        s = spiking[t].numpy()
        np.add.at(want[t], r[s[c]], v[s[c]])
    flat = spiking.reshape(-1).nonzero().view(-1)
    step, target, value = Synapses(w)(flat, [flat.numel()], n)
    assert (step == 0).all()
    got = np.zeros(3 * n)
    np.add.at(got, target.numpy(), value.numpy())
    got = got.reshape(3, n)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_a_step_current_fires_at_the_closed_form_times() -> None:
    """A 10 mV current on steps 100..1999: u after j + 1 steps of it is 10 (1 - e^-(j+1)
    dt / tau_m); the first spike is at the first step where that exceeds v_th - v_rest,
    and after each spike the neuron is free again ref_steps later and rises the same
    way. Nothing fires before the current starts or after it ends."""
    w = _alone()
    amp, first, end = 10.0, 100, 2000
    rise = next(
        j
        for j in range(1000)
        if amp * (1 - math.exp(-(j + 1) * P.dt / P.tau_m)) > P.v_th - P.v_rest
    )
    drive = Drive(currents=(np.array([0]), np.array([amp]), np.array([first]), np.array([end])))
    got = simulate(w, P, 3000, drive, dtype=torch.float64).step
    want = np.arange(first + rise, end, P.ref_steps + rise)
    np.testing.assert_array_equal(got, want)


def test_gap_junctions_pull_potentials_together() -> None:
    """Two neurons coupled by a gap junction of coupling c, neuron 0 held by a 5 mV
    current (below threshold): at steady state u0 = 5 (1 + c) / (1 + 2c) and u1 = 5 c /
    (1 + 2c) (from u0 = 5 + c (u1 - u0), u1 = c (u0 - u1))."""
    from connectomedb.simulate.engine import GapJunctions

    w = weight_matrix(
        2, np.array([], dtype=int), np.array([], dtype=int), np.array([]), np.ones(2), 1.0
    )
    c = 0.5
    p = LIFParams(v_th=0.0)  # nothing fires
    drive = Drive(currents=(np.array([0]), np.array([5.0]), np.array([0]), np.array([40_000])))
    gaps = GapJunctions(np.array([0]), np.array([1]), np.array([c]))
    r = simulate(w, p, 20_000, drive, dtype=torch.float64, gaps=gaps)
    assert r.step.size == 0 and r.v is not None
    u0, u1 = 5 * (1 + c) / (1 + 2 * c), 5 * c / (1 + 2 * c)
    np.testing.assert_allclose(r.v[0] - P.v_rest, [u0, u1], rtol=1e-9)
    # and without the junction neuron 1 stays at rest, neuron 0 goes to 5 mV above it
    alone = simulate(w, p, 20_000, drive, dtype=torch.float64)
    assert alone.v is not None
    np.testing.assert_allclose(alone.v[0] - P.v_rest, [5.0, 0.0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("t_ref", "dt"), [(2.2, 0.1), (2.2, 0.4), (2.2, 0.6), (2.2, 0.15), (2.0, 0.5)]
)
def test_refractory_steps_are_counted_as_brian2_counts_them(t_ref: float, dt: float) -> None:
    from brian2.core.functions import timestep

    assert LIFParams(t_ref=t_ref, dt=dt).ref_steps == int(timestep(t_ref, dt))


def test_fractional_input_steps_are_refused() -> None:
    from connectomedb.errors import BadInput

    w, _ = _one_neuron([1.0])
    with pytest.raises(BadInput, match="whole numbers"):
        simulate(w, P, 10, Drive(spikes=(np.array([1.5]), np.array([0]), np.array([1.0]))))
