"""The planted-advantage control. ``pair_echo`` is built so that reciprocal pairs help:
inputs and outputs are fixed to units and the mask has no autapses, so a sign given to
unit i can come back to i two steps later only through a pair i <-> j. A mask with 4x
reciprocity must beat a random one, and two identical variants must not differ."""

from __future__ import annotations

import numpy as np

from connectomedb.neuroai.experiment import Training, Variant, run_experiment
from connectomedb.neuroai.tasks import PairEchoTask

CFG = Training(steps=120, batch=32, lr=0.05, eval_every=20, eval_size=128)


def test_the_experiment_detects_the_planted_advantage_of_reciprocal_pairs() -> None:
    n = 60
    exp = run_experiment(
        [PairEchoTask(n)],
        [Variant("reciprocal", "reciprocal", n, 0.05, 4.0), Variant("random", "random", n, 0.05)],
        10,
        CFG,
    )
    acc = exp.summaries["pair_echo"]
    assert acc["reciprocal"]["final_accuracy"].mean > acc["random"]["final_accuracy"].mean
    tests = {c.metric: c for c in exp.comparisons["pair_echo"]}
    assert tests["final_accuracy"].different
    assert tests["final_accuracy"].difference > 0.05
    # the mechanism: accuracy above chance comes from the units in reciprocal pairs
    for r in exp.runs:
        paired = 2 * r.mask["reciprocal_pairs"] / n
        assert r.metrics["final_accuracy"] < 0.5 + 0.5 * paired + 0.05


def test_two_identical_variants_do_not_differ_over_fifty_seeds() -> None:
    n = 60
    exp = run_experiment(
        [PairEchoTask(n)],
        [Variant("random_a", "random", n, 0.05), Variant("random_b", "random", n, 0.05)],
        50,
        CFG,
        base_seed=1,
    )
    tested = [c for c in exp.comparisons["pair_echo"] if c.p is not None]
    assert len(tested) >= 6  # the accuracies, gap, spectral radius, ... were all tested
    assert not any(c.different for c in tested), tested
    # seeds differ between the variants: the runs are not copies of each other
    a = [r.metrics["final_accuracy"] for r in exp.runs if r.variant == "random_a"]
    b = [r.metrics["final_accuracy"] for r in exp.runs if r.variant == "random_b"]
    assert a != b and len(a) == len(b) == 50
    assert np.std(a) > 0
