"""Bulk reads through the Python client: every connection of a large dataset by
``fetch_adjacencies`` (GraphQL pages, split by presynaptic neuron, a few requests at a
time) against the Arrow export of the same connections (one streamed HTTP response).

Starts ``connectomedb serve`` in its own process on a free port against the configured
Neo4j and reads a public dataset that must be loaded already (by default the synthetic
1e5-neuron / 1e6-connection one of ``bench/analytics.py``). Checks that both paths
return every connection the store holds, with the same (pre, post, weight) content.
Prints ``name: value`` lines: rows, seconds and rows per second for each path, and the
ratio export / client (rows per second).

Usage: python bench/client.py [--dataset bench_analytics_100000n_1000000e]
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import free_port, start_server  # noqa: E402

from connectomedb.client import Client  # noqa: E402
from connectomedb.settings import Settings  # noqa: E402
from connectomedb.store.driver import make_driver  # noqa: E402


def digest(pre: np.ndarray, post: np.ndarray, weight: np.ndarray) -> str:
    """A hash of the (pre, post, weight) rows in sorted order."""
    order = np.lexsort((post, pre))
    h = hashlib.sha256()
    for col in (pre[order], post[order]):
        h.update("\n".join(col.tolist()).encode())
    h.update(np.asarray(weight)[order].astype(np.int64).tobytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="bench_analytics_100000n_1000000e")
    args = ap.parse_args()
    ds = args.dataset
    settings = Settings()
    driver = make_driver(settings)
    try:
        recs, _, _ = driver.execute_query(
            "MATCH (a:Cell {dataset: $ds})-[r:CONNECTS_TO]->() RETURN count(r) AS n", ds=ds
        )
        stored = int(recs[0]["n"])
    finally:
        driver.close()
    if stored == 0:
        raise SystemExit(f"dataset {ds!r} has no connections: load it first (bench/analytics.py)")
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}")
    print(f"dataset: {ds}")
    print(f"connections_stored: {stored}")
    port = free_port()
    proc = start_server(port)
    try:
        with Client(f"http://127.0.0.1:{port}", token="") as c:
            t = time.perf_counter()
            df = c.fetch_adjacencies(ds)
            t_client = time.perf_counter() - t
            print(f"client_rows: {len(df)}")
            print(f"client_s: {t_client:.1f}")
            print(f"client_rows_per_s: {len(df) / t_client:.0f}")
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "connections.arrow"
                t = time.perf_counter()
                c.export(ds, out, format="arrow", table="connections")
                with pa.memory_map(str(out)) as src:
                    table = ipc.open_stream(src).read_all()
                table = table.filter(pc.equal(table["kind"], "chemical"))
                t_export = time.perf_counter() - t
                print(f"export_bytes: {out.stat().st_size}")
            print(f"export_rows: {table.num_rows}")
            print(f"export_s: {t_export:.1f}")
            print(f"export_rows_per_s: {table.num_rows / t_export:.0f}")
            print(f"ratio_export_over_client: {t_client / t_export:.1f}")
            a = digest(df["pre"].to_numpy(str), df["post"].to_numpy(str), df["weight"].to_numpy())
            b = digest(
                np.asarray(table["pre"].to_pylist(), dtype=str),
                np.asarray(table["post"].to_pylist(), dtype=str),
                table["synapse_count"].to_numpy(),
            )
            print(f"same_content: {a == b}")
            print(f"every_connection: {len(df) == table.num_rows == stored}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
