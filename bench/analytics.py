"""Analytics throughput: the bulk subgraph pull against a plain driver query, and a
GraphSAGE epoch over the Neo4j remote backend against the in-memory Data.

Loads a synthetic connectome (1e5 neurons, 1e6 connections, 20 planted types; kept
between runs) when it is missing, then prints ``name: value`` lines:

- ``pull_edges_per_s``: :func:`connectomedb.store.graph.read_graph` (a node query and
  three edge queries side by side, each one record of flat columns, numpy on our side);
- ``plain_edges_per_s``: one row per connection through the driver, appended to Python
  lists; ``ratio_pull_over_plain``;
- ``epoch_s_in_memory`` / ``epoch_s_remote``: one epoch of mini-batch GraphSAGE training
  (NeighborLoader with the plain-torch sampler, [10, 5] neighbours, 1024 seeds per batch) over a training half of the
  neurons, same seed; ``ratio_remote_over_in_memory``. The remote feature store reads
  each batch's missing features from Neo4j and keeps them (each neuron is read once);
  ``remote_uncached`` reads every batch's features again.

Usage: python bench/analytics.py [--neurons 100000] [--connections 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import numpy as np
import torch
from torch_geometric.loader import NeighborLoader
from torch_geometric.nn import GraphSAGE

from connectomedb.analytics.features import to_pyg
from connectomedb.analytics.remote import remote_backend
from connectomedb.analytics.sampling import neighbor_loader
from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.driver import check_connectivity, init_schema, make_driver
from connectomedb.store.graph import read_graph

PLAIN = """
MATCH (a:Neuron {dataset: $dataset})-[r:CONNECTS_TO]->(b:Neuron)
RETURN a.id AS pre, b.id AS post, r.synapse_count AS n"""


def ensure(driver: Any, settings: Settings, n: int, m: int) -> str:
    ds = f"bench_analytics_{n}n_{m}e"
    recs, _, _ = driver.execute_query("MATCH (d:Dataset {id: $id}) RETURN d.status AS s", id=ds)
    if not recs or recs[0]["s"] != "ready":
        t = time.perf_counter()
        src = SyntheticSource(
            SyntheticParams(n_neurons=n, n_connections=m, n_types=20, seed=11), ds
        )
        DatasetWriter(driver, settings.neo4j_database).load(src)
        print(f"load_s: {time.perf_counter() - t:.1f}")
    return ds


def plain(driver: Any, settings: Settings, ds: str) -> int:
    pre: list[str] = []
    post: list[str] = []
    count: list[int] = []
    with driver.session(database=settings.neo4j_database) as s:
        for r in s.run(PLAIN, dataset=ds):
            pre.append(r["pre"])
            post.append(r["post"])
            count.append(r["n"])
    return len(pre)


def epoch(loader: NeighborLoader, model: GraphSAGE, opt: torch.optim.Optimizer) -> float:
    t = time.perf_counter()
    model.train()
    for batch in loader:
        opt.zero_grad()
        out = model(batch.x, batch.edge_index)[: batch.batch_size]
        y = batch.y[: batch.batch_size]
        loss = torch.nn.functional.cross_entropy(out[y >= 0], y[y >= 0])
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )
    settings = Settings()
    driver = make_driver(settings)
    check_connectivity(driver)
    init_schema(driver, settings.neo4j_database)
    db = settings.neo4j_database
    ds = ensure(driver, settings, args.neurons, args.connections)

    # each method timed back to back, best of --repeat (the plain query's garbage
    # would otherwise land in the next pull's time)
    best_pull, best_plain, g = float("inf"), float("inf"), None
    for _ in range(args.repeat):
        t = time.perf_counter()
        g = read_graph(driver, db, ds)
        best_pull = min(best_pull, time.perf_counter() - t)
    for _ in range(args.repeat):
        t = time.perf_counter()
        m_plain = plain(driver, settings, ds)
        best_plain = min(best_plain, time.perf_counter() - t)
    assert g is not None and m_plain == g.m, (m_plain, g.m)
    print(f"edges: {g.m}")
    print(f"pull_s: {best_pull:.3f}")
    print(f"pull_edges_per_s: {g.m / best_pull:.0f}")
    print(f"plain_s: {best_plain:.3f}")
    print(f"plain_edges_per_s: {g.m / best_plain:.0f}")
    print(f"ratio_pull_over_plain: {best_plain / best_pull:.2f}")

    data = to_pyg(g, "type")
    features, graph = remote_backend(driver, db, ds, label_level="type")
    uncached, _ = remote_backend(driver, db, ds, label_level="type", cache=False)
    assert graph.ids == g.ids
    train = torch.from_numpy(np.arange(g.n)[::2].copy())
    classes = int(data.y.max()) + 1
    times = {}
    for name, src in (
        ("in_memory", data),
        ("remote", (features, graph)),
        ("remote_uncached", (uncached, graph)),
    ):
        torch.manual_seed(0)
        loader = neighbor_loader(
            src,
            num_neighbors=[10, 5],
            batch_size=1024,
            input_nodes=train,
            shuffle=True,
        )
        model = GraphSAGE(data.x.shape[1], 64, num_layers=2, out_channels=classes)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        times[name] = epoch(loader, model, opt)
        print(f"epoch_s_{name}: {times[name]:.2f}")
    print(f"remote_feature_queries: {features.queries} ({features.rows_read} rows)")
    print(f"remote_uncached_feature_queries: {uncached.queries} ({uncached.rows_read} rows)")
    print(f"ratio_remote_over_in_memory: {times['remote'] / times['in_memory']:.2f}")
    print(
        f"ratio_remote_uncached_over_in_memory: {times['remote_uncached'] / times['in_memory']:.2f}"
    )
    driver.close()


if __name__ == "__main__":
    main()
