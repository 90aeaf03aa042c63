"""The engine's model written for Brian2, the reference simulator the tests and the
benchmark compare with (Brian2 is a test and benchmark dependency, imported here only
when called)."""

from __future__ import annotations

from typing import Any

import numpy as np

from connectomedb.simulate.engine import GapJunctions, LIFParams

EQUATIONS = """
dv/dt = (v_rest - v + g{extra}) / tau_m : volt (unless refractory)
dg/dt = -g / tau_syn : volt (unless refractory)
"""


def brian2_network(
    n: int,
    pre: np.ndarray,
    post: np.ndarray,
    w_mv: np.ndarray,
    p: LIFParams,
    gaps: GapJunctions | None = None,
    currents: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    steps: int = 1,
) -> tuple[Any, ...]:
    """(neurons, synapses, ...) in the current Brian2 scope: the LIF group at rest and
    its connections ``pre -> post`` of ``w_mv`` mV each, with the engine's delay; then
    the gap junctions (a summed variable) when given. ``currents`` are step currents as
    the engine takes them (neuron, mV, first step, end step), through a TimedArray over
    ``steps`` steps."""
    import brian2 as b

    b.defaultclock.dt = p.dt * b.ms
    namespace = {
        "v_rest": p.v_rest * b.mV,
        "v_reset": p.v_reset * b.mV,
        "v_th": p.v_th * b.mV,
        "tau_m": p.tau_m * b.ms,
        "tau_syn": p.tau_syn * b.ms,
    }
    # the extra terms only where used: the benchmark's model stays the plain one
    extra, more = "", ""
    if gaps is not None and len(gaps.a):
        extra, more = " + I_gap", "I_gap : volt\n"
    if currents is not None:
        table = np.zeros((steps + 1, n))
        for nrn, amp, first, end in zip(*currents, strict=True):
            table[int(first) : int(end), int(nrn)] += amp
        namespace["step_current"] = b.TimedArray(table * b.mV, dt=p.dt * b.ms)
        extra += " + I_step"
        more += "I_step = step_current(t, i) : volt (constant over dt)\n"
    neurons = b.NeuronGroup(
        n,
        EQUATIONS.format(extra=extra) + more,
        threshold="v > v_th",
        reset="v = v_reset; g = 0*mV",
        refractory=p.t_ref * b.ms,
        method="exact",
        namespace=namespace,
    )
    neurons.v = p.v_rest * b.mV
    syn = b.Synapses(neurons, neurons, "w : volt", on_pre="g += w", delay=p.delay * b.ms)
    syn.connect(i=pre, j=post)
    syn.w = w_mv * b.mV
    if gaps is None or not len(gaps.a):
        return neurons, syn
    gap = b.Synapses(neurons, neurons, "c : 1\nI_gap_post = c * (v_pre - v_post) : volt (summed)")
    a, bb = np.asarray(gaps.a), np.asarray(gaps.b)
    gap.connect(i=np.concatenate([a, bb]), j=np.concatenate([bb, a]))
    gap.c = np.concatenate([gaps.coupling, gaps.coupling])
    return neurons, syn, gap
