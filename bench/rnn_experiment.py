"""The rnn_experiment results table: the four default variants (dense, sparse random,
sparse with 4x reciprocity, the connectome's mask) on the three default tasks, 10 seeds
each, on Cook 2019's hermaphrodite (302 neurons: the sparse variants at its density), run
as one job by a worker in this process. Optionally stores seed 0's trained networks of
``--store-task`` as datasets and prints their ids.

Prints ``name: value`` lines (``job_s``, ``runs``) and a markdown table per task: mean
and 95% bootstrap interval of each metric per variant, then the comparisons that differ
after Holm's correction.

Usage: python bench/rnn_experiment.py [--dataset cook2019_herm] [--seeds 10] [--steps 400]
       [--threads 1] [--store-task pattern] [--store-density 0.02] [--tasks pattern ...]
       [--out run.json] [--from-json run.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.driver import make_driver
from connectomedb.store.jobs import JobQueue
from connectomedb.workers.worker import Worker

SHOWN = (
    "examples_to_criterion",
    "final_accuracy",
    "held_out_accuracy",
    "generalisation_gap",
    "grad_spikes",
    "spectral_radius",
    "perturbation_drop",
)


def cell(s: dict[str, Any], digits: int) -> str:
    if s["mean"] is None:
        return "n/a"
    return f"{s['mean']:.{digits}f} [{s['ci_low']:.{digits}f}, {s['ci_high']:.{digits}f}]"


def table(m: dict[str, Any]) -> str:
    lines = []
    for t in m["tasks"]:
        name = t["name"]
        lines.append(
            f"\n**{name}** ({t['description']}; criterion {t['criterion']}, chance "
            f"{t['chance']:.3g})\n"
        )
        lines.append("| variant | " + " | ".join(SHOWN) + " | reached |")
        lines.append("|---" * (len(SHOWN) + 2) + "|")
        for v in [x["name"] for x in m["variants"]]:
            by_metric = m["summary"][name][v]
            cells = [cell(by_metric[k], 0 if k == "examples_to_criterion" else 3) for k in SHOWN]
            reached = m["reached_criterion"][name][v]
            if reached < by_metric["final_accuracy"]["n"] and cells[0] != "n/a":
                cells[0] = ">= " + cells[0]  # censored runs count as the budget: a lower bound
            lines.append(f"| {v} | " + " | ".join(cells) + f" | {reached} |")
        diff = [c for c in m["comparisons"][name] if c["different"]]
        lines.append("")
        if not diff:
            lines.append("No difference after Holm's correction.")
        for c in diff:
            lines.append(
                f"- {c['a']} vs {c['b']}, {c['metric']}: difference {c['difference']:.3g}, "
                f"p {c['p']:.2g}, Holm-adjusted {c['p_adjusted']:.2g}"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="cook2019_herm")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--store-task", default=None)
    ap.add_argument("--store-density", type=float, default=None)
    ap.add_argument("--tasks", nargs="+", default=None)
    ap.add_argument("--out", default=None, help="write the run's metrics as JSON here")
    ap.add_argument("--from-json", default=None, help="print the table of a saved run")
    a = ap.parse_args()
    if a.from_json:
        print(table(json.loads(Path(a.from_json).read_text())))
        return
    s = Settings()
    d = make_driver(s)
    params: dict[str, Any] = {"seeds": a.seeds, "steps": a.steps, "threads": a.threads}
    if a.store_task:
        params.update(store_weights=True, store_task=a.store_task)
    if a.store_density:
        params["store_density"] = a.store_density
    if a.tasks:
        params["tasks"] = a.tasks
    q = JobQueue(d, s.neo4j_database)
    queue = f"bench_{uuid.uuid4().hex[:8]}"
    artifacts = Path(tempfile.mkdtemp(prefix="rnn_bench_"))
    t0 = time.perf_counter()
    job = q.submit(JobRequest(a.dataset, "rnn_experiment", params, None, 1, queue))
    Worker(d, s.neo4j_database, "bench", 600, 1.0, queue, artifacts).run_once()
    dt = time.perf_counter() - t0
    j = q.job(job["id"])
    if j["status"] != "succeeded":
        raise SystemExit(f"job {j['status']}: {j.get('error')}")
    recs, _, _ = d.execute_query(
        "MATCH (r:ModelRun {id: $id}) RETURN r.metrics AS m", id=j["run_id"]
    )
    m = json.loads(recs[0]["m"])
    print(f"machine: {platform.machine()} {os.cpu_count()} cores")
    print(f"job_s: {dt:.1f}")
    print(f"runs: {a.seeds * len(m['tasks']) * len(m['variants'])}")
    print(f"run_id: {j['run_id']}")
    for v in m["variants"]:
        print(f"variant_{v['name']}: {v['matched']}")
    for st in m["stored_datasets"]:
        print(f"stored_{st['variant']}: {st['dataset']}")
    print(table(m))
    print("\nCaveats: " + " ".join(m["caveats"]))
    if a.out:
        Path(a.out).write_text(json.dumps(m, indent=1))
    d.close()


if __name__ == "__main__":
    main()
