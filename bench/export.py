"""Bulk export throughput: Arrow over HTTP against the store's keyset pages alone.

Uses the public synthetic dataset of bench/analytics.py (100 000 neurons, about 1 000 000
connections; loaded when missing), starts ``connectomedb serve`` in its own process and
measures, in this order:

- ``store_pages``: the connection pages read through the async driver, nothing encoded
  (the baseline);
- ``http_arrow_connections``: ``GET /export/datasets/{id}?format=arrow&table=connections``,
  the IPC stream read incrementally with pyarrow as it arrives;
- ``http_arrow_zip``: the whole Arrow archive (neurons and connections), bytes counted.

Prints ``name: value`` lines: seconds, rows per second, MB, and the ratio of the HTTP
export's rate to the store's.

Usage: python bench/export.py [--neurons 100000] [--connections 1000000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path

import httpx
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import free_port, start_server  # noqa: E402

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource  # noqa: E402
from connectomedb.loaders.writer import DatasetWriter  # noqa: E402
from connectomedb.settings import Settings  # noqa: E402
from connectomedb.store.access import SET_OWNER_IF_NONE, SET_VISIBILITY  # noqa: E402
from connectomedb.store.driver import check_connectivity, init_schema, make_driver  # noqa: E402
from connectomedb.store.export import ExportRepository  # noqa: E402
from connectomedb.store.graphdb import Store, make_async_driver  # noqa: E402


def ensure_dataset(settings: Settings, n: int, m: int) -> str:
    """The public synthetic dataset of bench/analytics.py (same parameters, same id)."""
    ds = f"bench_analytics_{n}n_{m}e"
    driver = make_driver(settings)
    try:
        check_connectivity(driver)
        init_schema(driver, settings.neo4j_database)
        src = SyntheticSource(
            SyntheticParams(n_neurons=n, n_connections=m, n_types=20, seed=11), ds
        )
        DatasetWriter(driver, settings.neo4j_database).load(src)
        driver.execute_query(SET_OWNER_IF_NONE, lab=settings.default_lab, dataset=ds)
        driver.execute_query(SET_VISIBILITY, dataset=ds, visibility="public")
    finally:
        driver.close()
    return ds


async def store_pages(settings: Settings, ds: str) -> tuple[float, int]:
    driver = make_async_driver(settings)
    try:
        repo = ExportRepository(Store(driver, settings.neo4j_database, 600), ds)
        t = time.perf_counter()
        rows = 0
        async for b in repo.chemical():
            rows += len(b["pre"])
        return time.perf_counter() - t, rows
    finally:
        await driver.close()


class _Response:
    """A file-like view of a streamed HTTP body, for pyarrow's incremental reader."""

    def __init__(self, r: httpx.Response) -> None:
        self.it = r.iter_bytes(1 << 20)
        self.buf = b""
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            try:
                self.buf += next(self.it)
            except StopIteration:
                break
        if n < 0:
            out, self.buf = self.buf, b""
        else:
            out, self.buf = self.buf[:n], self.buf[n:]
        return out


def http_connections(base: str, ds: str) -> tuple[float, int]:
    t = time.perf_counter()
    rows = 0
    with httpx.stream(
        "GET",
        f"{base}/export/datasets/{ds}",
        params={"format": "arrow", "table": "connections"},
        timeout=600,
    ) as r:
        if r.status_code != 200:
            raise SystemExit(f"export failed: {r.status_code} {r.read()[:300]!r}")
        reader = pa.ipc.open_stream(pa.PythonFile(_Response(r), mode="r"))
        for batch in reader:
            rows += batch.num_rows
    return time.perf_counter() - t, rows


def http_zip(base: str, ds: str) -> tuple[float, int]:
    t = time.perf_counter()
    size = 0
    with httpx.stream(
        "GET", f"{base}/export/datasets/{ds}", params={"format": "arrow"}, timeout=600
    ) as r:
        if r.status_code != 200:
            raise SystemExit(f"export failed: {r.status_code}")
        for chunk in r.iter_bytes(1 << 20):
            size += len(chunk)
    return time.perf_counter() - t, size


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    settings = Settings()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    ds = ensure_dataset(settings, args.neurons, args.connections)
    print(f"dataset: {ds}")
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(args.repeat):
            s_time, s_rows = asyncio.run(store_pages(settings, ds))
            h_time, h_rows = http_connections(base, ds)
            z_time, z_size = http_zip(base, ds)
            if h_rows != s_rows:
                raise SystemExit(f"the HTTP export gave {h_rows} rows, the store {s_rows}")
            print(f"connections: {s_rows}")
            print(f"store_pages_s: {s_time:.2f}")
            print(f"store_pages_rows_per_s: {s_rows / s_time:.0f}")
            print(f"http_arrow_connections_s: {h_time:.2f}")
            print(f"http_arrow_connections_rows_per_s: {h_rows / h_time:.0f}")
            print(f"http_arrow_zip_s: {z_time:.2f}")
            print(f"http_arrow_zip_mb: {z_size / 1e6:.1f}")
            print(f"ratio_http_over_store_rate: {(h_rows / h_time) / (s_rows / s_time):.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
