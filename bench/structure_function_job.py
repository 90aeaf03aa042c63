"""A structure_function run at scale: the 1e5-neuron synthetic dataset of
``bench/analytics.py`` (seed 11; loaded when missing) with a synthetic measurement set
of 1e6 pairs, loaded through the CSV table loader, then one job run by a worker in this
process with the default parameters (label-permutation null, 100 samples).

The pairs: ``--stimulated`` neurons (1000) each measured against ``pairs / stimulated``
responders drawn at random, plus every connection leaving a stimulated neuron, so that
direct connections are among the pairs; q-values drawn so that a direct connection
doubles the odds of q < 0.05 (a planted effect, reported back as a check).

The set stays in the store: a second run finds it unchanged (same CSV, same digest) and
prints ``load_pairs_s`` of that check. Prints ``name: value`` lines: ``load_pairs_s``
(CSV to ready set), ``job_s`` (submit to
succeeded, as the worker runs it), ``pairs``, ``chemical_odds_ratio`` (planted 2.0).

Usage: python bench/structure_function_job.py [--pairs 1000000] [--stimulated 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from connectomedb.loaders.functional import MeasurementLoader, PairTable
from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.driver import make_driver
from connectomedb.store.graph import read_graph
from connectomedb.store.jobs import JobQueue
from connectomedb.workers.worker import Worker

sys.path.insert(0, str(Path(__file__).parent))
from graph_read import ensure  # noqa: E402

SET_ID = "bench_pairs"


def write_pairs(
    path: Path, ids: list[str], pre: np.ndarray, post: np.ndarray, k: int, s: int
) -> int:
    """A CSV of about ``k`` measured pairs from ``s`` stimulated neurons; returns its rows."""
    rng = np.random.default_rng(7)
    n = len(ids)
    stim = rng.choice(n, size=s, replace=False)
    per = k // s
    a = np.repeat(stim, per)
    b = rng.integers(0, n, size=a.size)
    wired = np.isin(pre, stim)
    a, b = np.concatenate([a, pre[wired]]), np.concatenate([b, post[wired]])
    keys = np.unique(a * n + b)
    a, b = keys // n, keys % n
    keep = a != b
    a, b = a[keep], b[keep]
    direct = np.isin(a * n + b, pre.astype(np.int64) * n + post)
    # P(q < 0.05) is 0.05 unwired, odds doubled when wired: p = 2*0.05/0.95 / (1 + that)
    p1 = (2 * 0.05 / 0.95) / (1 + 2 * 0.05 / 0.95)
    functional = rng.random(a.size) < np.where(direct, p1, 0.05)
    q = np.where(functional, rng.uniform(0, 0.05, a.size), rng.uniform(0.05, 1, a.size))
    amp = rng.normal(size=a.size)
    with open(path, "w") as f:
        f.write("stimulated,responder,amplitude,q,trials\n")
        for x, y, qq, aa in zip(a.tolist(), b.tolist(), q.tolist(), amp.tolist(), strict=True):
            f.write(f"{ids[x]},{ids[y]},{aa:.5g},{qq:.5g},3\n")
    return int(a.size)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--stimulated", type=int, default=1000)
    a = ap.parse_args()
    settings = Settings()
    ds = ensure(settings, a.neurons, a.connections)
    driver = make_driver(settings)
    try:
        g = read_graph(driver, settings.neo4j_database, ds)
        loader = MeasurementLoader(driver, settings.neo4j_database)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "pairs.csv"
            rows = write_pairs(path, g.ids, g.pre, g.post, a.pairs, a.stimulated)
            t0 = time.perf_counter()
            loaded = loader.load(PairTable(path, SET_ID), ds)
            load_s = time.perf_counter() - t0
        assert loaded.count == rows, (loaded.count, rows)
        queue = f"bench_{uuid.uuid4().hex[:6]}"
        q = JobQueue(driver, settings.neo4j_database)
        t0 = time.perf_counter()
        job = q.submit(
            JobRequest(ds, "structure_function", {"measurements": SET_ID}, None, 1, queue)
        )
        Worker(
            driver, settings.neo4j_database, "bench", 600, 1.0, queue, settings.artifacts
        ).run_once()
        job_s = time.perf_counter() - t0
        j = q.job(job["id"])
        if j["status"] != "succeeded":
            raise SystemExit(f"job {j['status']}: {j.get('error')}")
        recs, _, _ = driver.execute_query(
            "MATCH (r:ModelRun {id: $id}) RETURN r.metrics AS m", id=j["run_id"]
        )
        pw = json.loads(recs[0]["m"])["pairwise"]
        chem = next(o for o in pw["odds_ratios"] if o["category"] == "chemical")
        print(f"machine: {platform.machine()} {os.cpu_count()} cpus")
        print(f"neurons: {g.n}")
        print(f"connections: {g.m}")
        print(f"pairs: {rows}")
        print(f"load_pairs_s: {load_s:.1f} ({loaded.status})")
        print(f"job_s: {job_s:.1f}")
        print(
            f"chemical_odds_ratio: {chem['odds_ratio']:.3f} [{chem['ci_low']:.3f}, {chem['ci_high']:.3f}]"
        )
    finally:
        driver.close()


if __name__ == "__main__":
    main()
