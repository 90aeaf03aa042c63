"""The engine's model written for Brian2, the reference simulator the tests and the
benchmark compare with (Brian2 is a test and benchmark dependency, imported here only
when called)."""

from __future__ import annotations

from typing import Any

import numpy as np

from connectomedb.simulate.engine import LIFParams

EQUATIONS = """
dv/dt = (v_rest - v + g) / tau_m : volt (unless refractory)
dg/dt = -g / tau_syn : volt (unless refractory)
"""


def brian2_network(
    n: int, pre: np.ndarray, post: np.ndarray, w_mv: np.ndarray, p: LIFParams
) -> tuple[Any, Any]:
    """(neurons, synapses) in the current Brian2 scope: the LIF group at rest and its
    connections ``pre -> post`` of ``w_mv`` mV each, with the engine's delay."""
    import brian2 as b

    b.defaultclock.dt = p.dt * b.ms
    namespace = {
        "v_rest": p.v_rest * b.mV,
        "v_reset": p.v_reset * b.mV,
        "v_th": p.v_th * b.mV,
        "tau_m": p.tau_m * b.ms,
        "tau_syn": p.tau_syn * b.ms,
    }
    neurons = b.NeuronGroup(
        n,
        EQUATIONS,
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
    return neurons, syn
