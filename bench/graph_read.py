"""The API's subgraph reads at 1e5 neurons / 1e6 connections, through a running server.

Uses the dataset of ``bench/analytics.py`` (synthetic, seed 11; loaded when missing,
made public here), starts ``connectomedb serve`` and prints ``name: value`` lines:

- ``network_statistics_s``: ``networkStatistics`` over the whole dataset (median of
  ``--repeat`` requests after one warm-up);
- ``network_statistics_by_type_s``: the same with ``groupLevel: TYPE`` (adds the
  reciprocity per type pair);
- ``reciprocity_by_group_s``: ``reciprocityByGroup(level: TYPE)``;
- ``connections``: the connections the statistics counted (a check that the whole graph
  was read).

Usage: python bench/graph_read.py [--neurons 100000] [--connections 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import httpx

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.driver import check_connectivity, init_schema, make_driver

sys.path.insert(0, str(Path(__file__).parent))
from api import free_port, start_server  # noqa: E402

STATS = """query($ds: ID!) { networkStatistics(dataset: $ds) { connections reciprocity } }"""
STATS_BY_TYPE = """query($ds: ID!) { networkStatistics(dataset: $ds, groupLevel: TYPE) {
  connections reciprocityByGroup { entries { __typename } } } }"""
RECIPROCITY = """query($ds: ID!) { reciprocityByGroup(dataset: $ds, level: TYPE) {
  entries { __typename } } }"""


def ensure(settings: Settings, n: int, m: int) -> str:
    ds = f"bench_analytics_{n}n_{m}e"
    driver = make_driver(settings)
    try:
        check_connectivity(driver)
        init_schema(driver, settings.neo4j_database)
        recs, _, _ = driver.execute_query("MATCH (d:Dataset {id: $id}) RETURN d.status AS s", id=ds)
        if not recs or recs[0]["s"] != "ready":
            src = SyntheticSource(
                SyntheticParams(n_neurons=n, n_connections=m, n_types=20, seed=11), ds
            )
            DatasetWriter(driver, settings.neo4j_database).load(src)
        driver.execute_query("MATCH (d:Dataset {id: $id}) SET d.visibility = 'public'", id=ds)
    finally:
        driver.close()
    return ds


def timed(client: httpx.Client, query: str, ds: str, repeat: int) -> tuple[float, dict]:
    def once() -> tuple[float, dict]:
        t = time.perf_counter()
        r = client.post("/graphql", json={"query": query, "variables": {"ds": ds}})
        dt = time.perf_counter() - t
        body = r.json()
        if r.status_code != 200 or body.get("errors"):
            raise SystemExit(f"request failed: {r.status_code} {r.text[:300]}")
        return dt, body["data"]

    once()
    runs = [once() for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    ds = ensure(Settings(), args.neurons, args.connections)
    port = free_port()
    server = start_server(port, CONNECTOMEDB_QUERY_TIMEOUT_S="120")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            t, data = timed(client, STATS, ds, args.repeat)
            print(f"network_statistics_s: {t:.2f}")
            print(f"connections: {data['networkStatistics']['connections']}")
            t, _ = timed(client, STATS_BY_TYPE, ds, args.repeat)
            print(f"network_statistics_by_type_s: {t:.2f}")
            t, _ = timed(client, RECIPROCITY, ds, args.repeat)
            print(f"reciprocity_by_group_s: {t:.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
