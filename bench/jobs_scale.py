"""The learning jobs at whole-brain size: ``celltype_gnn``, ``embedding`` and ``anomaly``
on the synthetic FlyWire-scale connectome (bench/scale.py's ``scale_flywire``: 139 000
neurons, 2.7 M connections, heavy-tailed degrees, 20 types, 5 classes), each with its
default parameters, as a user runs them: submitted to a queue of its own and run by
``connectomedb worker --exit-when-idle`` (a process of its own, under
``/usr/bin/time``), which reads the graph, computes and writes the run and its 139 000
outputs back. Prints ``name: value`` lines per job: wall seconds, the worker's peak
RSS (MB), and its figures: each method's held-out accuracy and macro-F1 (celltype_gnn);
the held-out accuracy of a logistic regression reading the cell type off the written
vectors against the majority type (embedding); the top and median scores and the
median score's distance from 1 (anomaly).

``--params KIND=JSON`` overrides a kind's parameters (e.g. a fraction of the defaults'
work); ``--worker CMD`` runs another worker command (e.g. one on an older checkout).

Usage: python bench/jobs_scale.py [--jobs celltype_gnn,embedding,anomaly]
       [--params 'celltype_gnn={"label_level": "type"}'] [--dataset scale_flywire]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import DATASET, ensure_dataset  # noqa: E402

from connectomedb.schema.jobs import JobRequest  # noqa: E402
from connectomedb.settings import Settings  # noqa: E402
from connectomedb.store.driver import make_driver  # noqa: E402
from connectomedb.store.jobs import JobQueue  # noqa: E402

KINDS = ("celltype_gnn", "embedding", "anomaly")


def run_job(
    settings: Settings, dataset: str, kind: str, params: dict[str, Any], worker: list[str]
) -> dict[str, Any]:
    """Submit, run one worker until the queue is empty, and return the job, its run's
    metrics and outputs, the wall seconds and the worker's peak RSS."""
    driver = make_driver(settings)
    try:
        q = JobQueue(driver, settings.neo4j_database)
        queue = f"bench_{uuid.uuid4().hex[:8]}"
        job = q.submit(JobRequest(dataset, kind, params, None, 1, queue))
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            cmd = ["/usr/bin/time", "-o", tf.name, "-f", "%M %e", *worker]
            t = time.perf_counter()
            subprocess.run([*cmd, "--exit-when-idle", "--queue", queue], check=True)
            seconds = time.perf_counter() - t
            kb = int(tf.read().split()[0])
        j = q.job(job["id"])
        if j["status"] != "succeeded":
            raise SystemExit(f"{kind} {j['status']}: {j.get('error')}")
        recs, _, _ = driver.execute_query(
            "MATCH (r:ModelRun {id: $id}) OPTIONAL MATCH (r)-[o:OUTPUT]->(n:Neuron) "
            "RETURN r.metrics AS metrics, collect([n.id, n.type, o.score, o.vector]) AS out",
            id=j["run_id"],
            database_=settings.neo4j_database,
        )
        return {
            "seconds": seconds,
            "peak_mb": kb / 1024,
            "metrics": json.loads(recs[0]["metrics"]),
            "outputs": recs[0]["out"],
        }
    finally:
        driver.close()


def vectors_tell_types(outputs: list[list[Any]]) -> tuple[float, float]:
    """Held-out accuracy (30 %, stratified, seed 0) of a logistic regression reading each
    neuron's type off its written vector, and of the majority type."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    rows = [o for o in outputs if o[0] is not None and o[3] is not None]
    x = np.array([o[3] for o in rows])
    y = np.array([o[1] for o in rows])
    xa, xb, ya, yb = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    scale = StandardScaler().fit(xa)
    clf = LogisticRegression(max_iter=1000).fit(scale.transform(xa), ya)
    values, counts = np.unique(ya, return_counts=True)
    return float(clf.score(scale.transform(xb), yb)), float(np.mean(yb == values[counts.argmax()]))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", default=DATASET)
    ap.add_argument("--jobs", default=",".join(KINDS))
    ap.add_argument("--params", action="append", default=[], help="KIND=JSON")
    ap.add_argument(
        "--worker",
        default=f"{Path(sys.executable).with_name('connectomedb')} worker",
        help="the worker command",
    )
    a = ap.parse_args()
    settings = Settings()
    if a.dataset == DATASET:
        loaded = ensure_dataset(settings)
        if loaded is not None:
            print(f"load_s: {loaded:.1f}")
    overrides = {k: json.loads(v) for k, _, v in (p.partition("=") for p in a.params)}
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    print(f"load_average_before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for kind in a.jobs.split(","):
        params = overrides.get(kind, {})
        r = run_job(settings, a.dataset, kind, params, shlex.split(a.worker))
        m = r["metrics"]
        print(f"{kind}_params: {json.dumps(params)}")
        print(f"{kind}_seconds: {r['seconds']:.1f}")
        print(f"{kind}_peak_rss_mb: {r['peak_mb']:.0f}")
        if kind == "celltype_gnn":
            for method, s in m["scores"].items():
                print(
                    f"{kind}_{method}_accuracy: {s['accuracy_mean']:.3f} +- {s['accuracy_std']:.3f}"
                )
                print(
                    f"{kind}_{method}_macro_f1: {s['macro_f1_mean']:.3f} +- {s['macro_f1_std']:.3f}"
                )
            print(f"{kind}_predictions_from: {m['predictions_from']}")
            if "training" in m:
                print(f"{kind}_training: {json.dumps(m['training'])}")
        elif kind == "embedding":
            acc, majority = vectors_tell_types(r["outputs"])
            print(f"{kind}_width: {m['width']}")
            print(f"{kind}_type_from_vectors_accuracy: {acc:.3f}")
            print(f"{kind}_type_majority_accuracy: {majority:.3f}")
            if "final_loss" in m:
                print(f"{kind}_final_loss: {m['final_loss']:.4f}")
        else:
            scores = np.array([o[2] for o in r["outputs"] if o[2] is not None])
            print(f"{kind}_top_score: {m['top'][0]['score']:.3f}")
            print(f"{kind}_median_score: {np.median(scores):.3f}")
        load = os.getloadavg()
        print(f"{kind}_load_average_after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
