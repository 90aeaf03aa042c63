"""Cell-type classification and planted-anomaly figures on real connectomes.

Runs ``celltype_gnn`` jobs (5 seeds, a worker in this process) on Cook 2019 (neuron
classes) and on both hemispheres of the larval mushroom body (K/P/O/I), loading those
datasets when they are missing, and prints each method's held-out accuracy and macro-F1
(mean and standard deviation over seeds). Then plants 10 merge errors (a neuron takes
over all of another's connections, the two of different classes) in Cook 2019 for
each of ``--plantings`` seeds and prints the AUROC of both anomaly scores.

Usage: python bench/celltypes.py [--seeds 5] [--epochs 200] [--plantings 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import uuid

import numpy as np
from sklearn.metrics import roc_auc_score

from connectomedb.analytics import learn
from connectomedb.analytics.features import labels
from connectomedb.analytics.planted import merge_neurons
from connectomedb.loaders.registry import make_source
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.driver import check_connectivity, init_schema, make_driver
from connectomedb.store.graph import Graph, read_graph
from connectomedb.store.jobs import JobQueue
from connectomedb.workers.worker import Worker

DATASETS = {  # dataset id -> (source, label level)
    "cook2019_herm": ("cook2019", "class"),
    "larva_mb_left": ("larva-mb-left", "type"),
    "larva_mb_right": ("larva-mb-right", "type"),
}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--plantings", type=int, default=10)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    settings = Settings()
    driver = make_driver(settings)
    check_connectivity(driver)
    init_schema(driver, settings.neo4j_database)
    db = settings.neo4j_database
    q = JobQueue(driver, db)
    for ds, (source, level) in DATASETS.items():
        if not driver.execute_query("MATCH (d:Dataset {id: $id}) RETURN d", id=ds).records:
            DatasetWriter(driver, db).load(make_source(source, settings.data_cache))
        queue = f"bench_{uuid.uuid4().hex[:8]}"
        params = {"label_level": level, "seeds": args.seeds, "epochs": args.epochs}
        job = q.submit(JobRequest(ds, "celltype_gnn", params, None, 1, queue))
        t = time.perf_counter()
        Worker(driver, db, "bench", 300, 0.1, queue).run_once()
        j = q.job(job["id"])
        assert j["status"] == "succeeded", j.get("error")
        metrics = json.loads(
            driver.execute_query(
                "MATCH (r:ModelRun {id: $id}) RETURN r.metrics AS m", id=j["run_id"]
            ).records[0]["m"]
        )
        print(f"celltype_job_s_{ds}: {time.perf_counter() - t:.1f}")
        print(f"labels_{ds}: {' '.join(metrics['labels'])} ({metrics['labelled']} labelled)")
        for name, s in metrics["scores"].items():
            print(
                f"{ds}_{name}: accuracy {s['accuracy_mean']:.3f} +- {s['accuracy_std']:.3f}, "
                f"macro_f1 {s['macro_f1_mean']:.3f} +- {s['macro_f1_std']:.3f}"
            )

    g = read_graph(driver, db, "cook2019_herm", level="class")
    aurocs: dict[str, list[float]] = {"type_profile": [], "isolation_forest": []}
    for seed in range(args.plantings):
        m = merge_neurons(g.n, g.pre, g.post, g.weight, g.groups, k=10, seed=seed)
        kept = Graph(
            g.dataset,
            [g.ids[i] for i in m.keep],
            m.pre,
            m.post,
            m.weight,
            {k: [v[i] for i in m.keep] for k, v in g.props.items()},
        )
        truth = np.zeros(len(kept.ids), dtype=bool)
        truth[m.merged] = True
        types, _ = labels(kept, "type")
        aurocs["type_profile"].append(
            roc_auc_score(
                truth, learn.type_profile_scores(kept.n, kept.pre, kept.post, kept.weight, types)
            )
        )
        emb = learn.spectral_embedding(kept.n, kept.pre, kept.post, kept.weight, 8, 0)
        deg = np.log1p(
            np.column_stack(
                [
                    np.bincount(kept.post, minlength=kept.n),
                    np.bincount(kept.pre, minlength=kept.n),
                ]
            )
        )
        aurocs["isolation_forest"].append(
            roc_auc_score(truth, learn.isolation_forest_scores(np.hstack([emb, deg]), 0))
        )
    for name, v in aurocs.items():
        print(
            f"planted_merge_auroc_{name}: {np.mean(v):.3f} +- {np.std(v):.3f} "
            f"(min {np.min(v):.3f}, {len(v)} plantings of 10 merges)"
        )
    driver.close()


if __name__ == "__main__":
    main()
