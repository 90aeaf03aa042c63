"""API throughput: GraphQL against a plain JSON endpoint running the same Cypher.

Starts ``connectomedb serve`` in its own process on a free port, loads a public synthetic
dataset when it is missing, then drives three reads with a concurrent client (16
connections, a fixed number of requests each): one neuron by id, its top-10 upstream
partners, a page of 1000 neurons. Prints ``name: value`` lines: requests per second,
p50 and p99 latency in ms for GraphQL and for /rest, and the ratio GraphQL / plain
(requests per second).

Usage: python bench/api.py [--requests 2000] [--page-requests 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.access import SET_OWNER_IF_NONE, SET_VISIBILITY
from connectomedb.store.driver import check_connectivity, init_schema, make_driver

DATASET = "bench_api_5000n"

NEURON = """query($ds: ID!, $id: ID!) { neuron(dataset: $ds, id: $id) {
  id name type class superclass side region neurotransmitter sign
  inDegree outDegree preSynapses postSynapses gapJunctionDegree } }"""

UPSTREAM = """query($ds: ID!, $id: ID!) { neuron(dataset: $ds, id: $id) {
  upstream(first: 10) { edges { node { synapseCount weight neuron {
    id name type class superclass side region neurotransmitter sign
    inDegree outDegree preSynapses postSynapses gapJunctionDegree } } } } } }"""

PAGE = """query($ds: ID!) { neurons(dataset: $ds, first: 1000) { edges { node {
  id name type class superclass side region neurotransmitter sign
  inDegree outDegree preSynapses postSynapses gapJunctionDegree } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_dataset(settings: Settings) -> list[str]:
    driver = make_driver(settings)
    try:
        check_connectivity(driver)
        init_schema(driver, settings.neo4j_database)
        src = SyntheticSource(
            SyntheticParams(n_neurons=5000, n_connections=100_000, n_types=20, seed=7), DATASET
        )
        DatasetWriter(driver, settings.neo4j_database).load(src)
        driver.execute_query(SET_OWNER_IF_NONE, lab=settings.default_lab, dataset=DATASET)
        driver.execute_query(SET_VISIBILITY, dataset=DATASET, visibility="public")
        recs, _, _ = driver.execute_query(
            "MATCH (n:Neuron {dataset: $ds}) WHERE n.in_degree >= 10 RETURN n.id AS id LIMIT 500",
            ds=DATASET,
        )
        return [r["id"] for r in recs]
    finally:
        driver.close()


def start_server(port: int, **env: str) -> subprocess.Popen[bytes]:
    """``connectomedb serve`` on ``port`` in its own process (``env``: more variables)."""
    exe = Path(sys.executable).with_name("connectomedb")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the API did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


async def drive(
    client: httpx.AsyncClient,
    make: Callable[[int], httpx.Request],
    requests: int,
    concurrency: int,
) -> tuple[float, np.ndarray]:
    latencies = np.zeros(requests)
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            t = time.perf_counter()
            r = await client.send(make(i))
            latencies[i] = time.perf_counter() - t
            if r.status_code != 200 or b'"errors"' in r.content[:200]:
                raise SystemExit(f"request failed: {r.status_code} {r.text[:300]}")

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, latencies


async def run(args: argparse.Namespace, base: str, ids: list[str]) -> None:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        def gql(query: str, by_id: bool) -> Callable[[int], httpx.Request]:
            def make(i: int) -> httpx.Request:
                variables: dict[str, Any] = {"ds": DATASET}
                if by_id:
                    variables["id"] = ids[i % len(ids)]
                return client.build_request(
                    "POST", "/graphql", json={"query": query, "variables": variables}
                )

            return make

        def rest(path: Callable[[str], str]) -> Callable[[int], httpx.Request]:
            return lambda i: client.build_request("GET", path(ids[i % len(ids)]))

        cases = {
            "neuron": (
                gql(NEURON, True),
                rest(lambda n: f"/rest/datasets/{DATASET}/neurons/{n}"),
                args.requests,
                0.7,
            ),
            "upstream_top10": (
                gql(UPSTREAM, True),
                rest(lambda n: f"/rest/datasets/{DATASET}/neurons/{n}/upstream?first=10"),
                args.requests,
                0.7,
            ),
            "page_1000": (
                gql(PAGE, False),
                rest(lambda n: f"/rest/datasets/{DATASET}/neurons?first=1000"),
                args.page_requests,
                0.5,
            ),
        }
        for name, (g, p, n, target) in cases.items():
            # warm both paths (JIT in Neo4j, caches in the app) before timing
            await drive(client, g, min(n, 100), args.concurrency)
            await drive(client, p, min(n, 100), args.concurrency)
            rps = {}
            for kind, make in (("graphql", g), ("plain", p)):
                wall, lat = await drive(client, make, n, args.concurrency)
                rps[kind] = n / wall
                print(f"{kind}_{name}_requests_per_s: {rps[kind]:.0f}")
                print(f"{kind}_{name}_p50_ms: {np.percentile(lat, 50) * 1e3:.1f}")
                print(f"{kind}_{name}_p99_ms: {np.percentile(lat, 99) * 1e3:.1f}")
            print(f"ratio_graphql_over_plain_{name}: {rps['graphql'] / rps['plain']:.2f}")
            print(f"target_ratio_{name}: {target}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--page-requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    settings = Settings()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    ids = ensure_dataset(settings)
    print(f"dataset: {DATASET} (5000 neurons, 100000 connections); concurrency: {args.concurrency}")
    port = free_port()
    server = start_server(port)
    try:
        asyncio.run(run(args, f"http://127.0.0.1:{port}", ids))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
