"""The planted-advantage control of the RNN experiments, repeated: on ``pair_echo`` (a
sign given to unit i alone must come back to it two steps later; inputs and outputs fixed
to units, no autapses, so only a reciprocal pair i <-> j can carry it), how often the
experiment finds a difference

- between two identical variants (random masks at the same density, own seeds): the
  false-positive rate, per metric and for any metric after Holm's correction, over
  ``--replicates`` experiments of ``--seeds`` seeds per variant;
- between 4x reciprocity and a random mask: the power to detect the planted advantage.

Prints ``name: value`` lines. Usage: python bench/rnn_control.py [--replicates 50]
[--seeds 10] [--units 60] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from connectomedb.neuroai.experiment import METRICS, Training, Variant, run_experiment
from connectomedb.neuroai.tasks import PairEchoTask

CFG = Training(steps=120, batch=32, lr=0.05, eval_every=20, eval_size=128)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=50)
    ap.add_argument("--power-replicates", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--units", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    n = a.units
    task = PairEchoTask(n)
    t0 = time.perf_counter()
    raw = {m: 0 for m in METRICS}
    adjusted_any = 0
    for r in range(a.replicates):
        exp = run_experiment(
            [task],
            [Variant("a", "random", n, 0.05), Variant("b", "random", n, 0.05)],
            a.seeds,
            CFG,
            base_seed=1000 + r,
        )
        cs = exp.comparisons["pair_echo"]
        for c in cs:
            if c.p is not None and c.p < 0.05:
                raw[c.metric] += 1
        adjusted_any += any(c.different for c in cs)
    print(f"identical_replicates: {a.replicates}")
    print(f"identical_seeds_per_variant: {a.seeds}")
    for m, k in raw.items():
        print(f"identical_uncorrected_rejections_{m}: {k}")
    print(f"identical_any_metric_holm_rejections: {adjusted_any}")
    print(f"identical_any_metric_holm_rate: {adjusted_any / a.replicates:.3f}")
    detected = 0
    diffs = []
    for r in range(a.power_replicates):
        exp = run_experiment(
            [task],
            [
                Variant("reciprocal", "reciprocal", n, 0.05, 4.0),
                Variant("random", "random", n, 0.05),
            ],
            a.seeds,
            CFG,
            base_seed=5000 + r,
        )
        c = next(x for x in exp.comparisons["pair_echo"] if x.metric == "final_accuracy")
        detected += c.different and (c.difference or 0) > 0
        diffs.append(c.difference)
    print(f"planted_replicates: {a.power_replicates}")
    print(f"planted_detected: {detected}")
    print(f"planted_mean_accuracy_difference: {float(np.mean(diffs)):.3f}")
    print(f"seconds: {time.perf_counter() - t0:.0f}")


if __name__ == "__main__":
    main()
