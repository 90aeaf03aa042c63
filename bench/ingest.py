"""Ingest throughput: the batched writer against two baselines on the same synthetic data.

Prints ``name: value`` lines: rows per second per phase and size for
- ``writer``: connectomedb's DatasetWriter (batched UNWIND, resumable),
- ``load_csv``: ``LOAD CSV ... CALL {} IN TRANSACTIONS`` run inside Neo4j from CSV files,
- ``merge_per_row``: one MERGE per row in its own transaction (on a sample),
and the ratio writer / load_csv.

Usage: python bench/ingest.py [--sizes 5000:100000,20000:500000,50000:1500000]
       [--synapses-up-to 500000] [--batch-size 10000] [--merge-sample 2000]
"""

from __future__ import annotations

import argparse
import csv
import platform
import resource
import time
from pathlib import Path

import neo4j

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.datasets import delete_dataset
from connectomedb.store.driver import check_connectivity, init_schema, make_driver


class PhaseTimer:
    """A writer Progress that records when each phase starts and how many rows it had."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self.rows: dict[str, int] = {}
        self._cur: str | None = None

    def phase(self, name: str, total: int | None) -> None:
        self.marks.append((name, time.perf_counter()))
        self._cur = name
        self.rows.setdefault(name, 0)

    def advance(self, n: int) -> None:
        assert self._cur is not None
        self.rows[self._cur] += n

    def durations(self, end: float) -> dict[str, float]:
        out = {}
        for (name, t0), nxt in zip(self.marks, [*self.marks[1:], ("end", end)], strict=True):
            out[name] = nxt[1] - t0
        return out


def import_dir(driver: neo4j.Driver) -> Path:
    recs, _, _ = driver.execute_query(
        "SHOW SETTINGS YIELD name, value WHERE name = 'server.directories.import' RETURN value"
    )
    if not recs or not recs[0]["value"]:
        raise SystemExit("server.directories.import is not set: LOAD CSV baseline impossible")
    return Path(recs[0]["value"])


def write_csvs(src: SyntheticSource, out: Path, with_synapses: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "neurons.csv", "w", newline="") as f:
        w = csv.writer(f)
        cols = [
            "id",
            "name",
            "kind",
            "type",
            "class",
            "neurotransmitter",
            "sign",
            "side",
            "x",
            "y",
            "z",
        ]
        w.writerow(cols)
        for _, p in src.neurons():
            w.writerow([p[c] for c in cols])
    with open(out / "connections.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pre", "post", "n"])
        for _, p in src.connections():
            w.writerow([p["pre"], p["post"], p["synapse_count"]])
    if with_synapses:
        with open(out / "synapses.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "pre", "post", "x", "y", "z", "confidence"])
            for _, p in src.synapses():
                w.writerow([p["id"], p["pre"], p["post"], p["x"], p["y"], p["z"], p["confidence"]])


LOAD_CSV = {
    "neurons": """
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  CREATE (n:Cell:Neuron {dataset: $ds, id: row.id, name: row.name, kind: row.kind,
                         type: row.type, class: row.class, neurotransmitter: row.neurotransmitter,
                         sign: toInteger(row.sign), side: row.side, x: toFloat(row.x),
                         y: toFloat(row.y), z: toFloat(row.z)})
} IN TRANSACTIONS OF $batch ROWS""",
    "connections": """
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  MATCH (a:Cell {dataset: $ds, id: row.pre})
  MATCH (b:Cell {dataset: $ds, id: row.post})
  CREATE (a)-[:CONNECTS_TO {synapse_count: toInteger(row.n), weight: toInteger(row.n)}]->(b)
} IN TRANSACTIONS OF $batch ROWS""",
    "synapses": """
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  MATCH (a:Cell {dataset: $ds, id: row.pre})
  MATCH (b:Cell {dataset: $ds, id: row.post})
  CREATE (a)-[:PRESYNAPTIC]->(s:Synapse {dataset: $ds, id: row.id, kind: 'chemical',
          confidence: toFloat(row.confidence),
          location: point({x: toFloat(row.x), y: toFloat(row.y), z: toFloat(row.z)})})
         -[:POSTSYNAPTIC]->(b)
} IN TRANSACTIONS OF $batch ROWS""",
}

MERGE_ROW = {
    "neurons": "MERGE (n:Cell:Neuron {dataset: $ds, id: $p.id}) SET n.name = $p.name, "
    "n.type = $p.type, n.kind = 'neuron'",
    "connections": "MATCH (a:Cell {dataset: $ds, id: $p.pre}) MATCH (b:Cell {dataset: $ds, "
    "id: $p.post}) MERGE (a)-[r:CONNECTS_TO]->(b) SET r.synapse_count = "
    "$p.synapse_count",
    "synapses": "MATCH (a:Cell {dataset: $ds, id: $p.pre}) MATCH (b:Cell {dataset: $ds, "
    "id: $p.post}) MERGE (s:Synapse {dataset: $ds, id: $p.id}) "
    "SET s.location = point({x: $p.x, y: $p.y, z: $p.z}) "
    "MERGE (a)-[:PRESYNAPTIC]->(s) MERGE (s)-[:POSTSYNAPTIC]->(b)",
}


def run_load_csv(
    driver: neo4j.Driver, ds: str, rel: str, phases: list[str], batch: int
) -> dict[str, float]:
    out = {}
    driver.execute_query("CREATE (:Dataset {id: $ds, status: 'loading'})", ds=ds)
    with driver.session() as s:
        for ph in phases:
            t0 = time.perf_counter()
            s.run(LOAD_CSV[ph], url=f"file:///{rel}/{ph}.csv", ds=ds, batch=batch).consume()
            out[ph] = time.perf_counter() - t0
    return out


def run_merge_sample(
    driver: neo4j.Driver, ds: str, src: SyntheticSource, phases: list[str], sample: int
) -> dict[str, float]:
    out = {}
    driver.execute_query("CREATE (:Dataset {id: $ds, status: 'loading'})", ds=ds)
    gens = {"neurons": src.neurons, "connections": src.connections, "synapses": src.synapses}
    with driver.session() as s:
        for ph in phases:
            rows = []
            for _, p in gens[ph]():
                rows.append(p)
                if len(rows) >= sample:
                    break
            t0 = time.perf_counter()
            for p in rows:
                s.execute_write(lambda tx, p=p, ph=ph: tx.run(MERGE_ROW[ph], ds=ds, p=p).consume())
            out[ph] = len(rows) / (time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000:100000,20000:500000,50000:1500000")
    ap.add_argument(
        "--synapses-up-to",
        type=int,
        default=2_000_000,
        help="create synapse nodes for sizes with at most this many synapses",
    )
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--writers", type=int, default=3, help="concurrent write transactions")
    ap.add_argument("--merge-sample", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    settings = Settings()
    driver = make_driver(settings)
    check_connectivity(driver)
    init_schema(driver, settings.neo4j_database)
    imp = import_dir(driver)
    # Warm the server's JIT and caches so the first size is not penalised.
    warm = SyntheticSource(
        SyntheticParams(n_neurons=2000, n_connections=40_000, synapses=True), "bench_warmup"
    )
    delete_dataset(driver, "bench_warmup")
    DatasetWriter(driver, settings.neo4j_database, args.batch_size, None, args.writers).load(warm)
    delete_dataset(driver, "bench_warmup")
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus="
        f"{len(__import__('os').sched_getaffinity(0))}"
    )
    for spec in args.sizes.split(","):
        n, m = (int(x) for x in spec.split(":"))
        probe = SyntheticSource(SyntheticParams(n_neurons=n, n_connections=m, seed=args.seed))
        with_syn = probe.summary()["synapses"] <= args.synapses_up_to
        params = SyntheticParams(n_neurons=n, n_connections=m, seed=args.seed, synapses=with_syn)
        tag = f"{n}n_{m}c"
        phases = ["neurons", "connections"] + (["synapses"] if with_syn else [])
        ds_w, ds_c, ds_m = f"bench_w_{tag}", f"bench_csv_{tag}", f"bench_merge_{tag}"
        for ds in (ds_w, ds_c, ds_m):
            delete_dataset(driver, ds)
        src = SyntheticSource(params, ds_w)
        summary = src.summary()
        print(
            f"size_{tag}_rows: neurons={summary['neurons']} connections="
            f"{summary['connections']} synapses={summary['synapses'] if with_syn else 0}"
        )
        _ = src.graph  # generate before timing
        timer = PhaseTimer()
        t0 = time.perf_counter()
        DatasetWriter(driver, settings.neo4j_database, args.batch_size, timer, args.writers).load(
            src
        )
        t_end = time.perf_counter()
        dur = timer.durations(t_end)
        ours = {ph: timer.rows[ph] / dur[ph] for ph in phases}
        print(f"writer_total_s_{tag}: {t_end - t0:.1f}")
        rel = f"bench_{tag}"
        write_csvs(src, imp / rel, with_syn)
        csv_dur = run_load_csv(driver, ds_c, rel, phases, args.batch_size)
        merge = run_merge_sample(driver, ds_m, src, phases, args.merge_sample)
        for ph in phases:
            base = timer.rows[ph] / csv_dur[ph]
            print(f"writer_{ph}_rows_per_s_{tag}: {ours[ph]:.0f}")
            print(f"load_csv_{ph}_rows_per_s_{tag}: {base:.0f}")
            print(f"merge_per_row_{ph}_rows_per_s_{tag}: {merge[ph]:.0f}")
            print(f"ratio_writer_over_load_csv_{ph}_{tag}: {ours[ph] / base:.2f}")
            print(f"ratio_writer_over_merge_per_row_{ph}_{tag}: {ours[ph] / merge[ph]:.1f}")
        print(f"writer_finishing_s_{tag}: {dur.get('finishing', 0.0):.1f}")
        t0 = time.perf_counter()
        delete_dataset(driver, ds_w)
        print(f"delete_dataset_s_{tag}: {time.perf_counter() - t0:.1f}")
        for ds in (ds_c, ds_m):
            delete_dataset(driver, ds)
        for f in (imp / rel).glob("*.csv"):
            f.unlink()
        (imp / rel).rmdir()
    print(f"peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    driver.close()


if __name__ == "__main__":
    main()
