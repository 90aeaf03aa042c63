"""What the MCP layer costs: each tool called over the API's /mcp against the GraphQL
operation it wraps, sent straight to /graphql, on Cook 2019 (public, loaded when missing)
with one warm client; and the start of a stdio session (``connectomedb mcp --url``) up to
its first answer.

Prints ``name: value`` lines: p50 and p99 in ms per tool by both paths, and the ratio of
the p50s (MCP / GraphQL).

Usage: python bench/mcp_tools.py [--calls 200] [--sessions 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import httpx2
import numpy as np
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import free_port, start_server  # noqa: E402

from connectomedb.loaders.registry import make_source  # noqa: E402
from connectomedb.loaders.writer import DatasetWriter  # noqa: E402
from connectomedb.service.mcp import tools  # noqa: E402
from connectomedb.settings import Settings  # noqa: E402
from connectomedb.store.access import SET_OWNER_IF_NONE, SET_VISIBILITY  # noqa: E402
from connectomedb.store.driver import check_connectivity, init_schema, make_driver  # noqa: E402

DATASET = "bench_mcp_cook"

#: tool, its arguments, the GraphQL it runs and that operation's variables
CASES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("list_datasets", {}, tools.DATASETS, {}),
    (
        "find_neurons",
        {"dataset": DATASET, "filter": {"cell_class": "interneuron"}},
        tools.NEURONS,
        {"ds": DATASET, "f": {"class": "interneuron"}, "first": 20, "after": None},
    ),
    (
        "neuron_partners",
        {"dataset": DATASET, "neuron": "AVAL"},
        tools.PARTNERS,
        {"ds": DATASET, "id": "AVAL", "w": 1, "first": 10, "up": True, "down": True},
    ),
    (
        "cell_type_connectivity",
        {"dataset": DATASET},
        tools.CELL_TYPES,
        {"ds": DATASET, "level": "CLASS", "w": 1},
    ),
    (
        "motif_search",
        {"dataset": DATASET, "motif": "A -> B; B -> C; A -> C"},
        tools.MOTIF,
        {
            "ds": DATASET,
            "motif": "A -> B; B -> C; A -> C",
            "first": 0,
            "after": None,
            "countOnly": True,
            "auto": False,
        },
    ),
]


def ensure_dataset(settings: Settings) -> None:
    driver = make_driver(settings)
    try:
        check_connectivity(driver)
        init_schema(driver, settings.neo4j_database)
        src = make_source("cook2019", settings.data_cache)
        src.meta = src.meta.model_copy(update={"id": DATASET})
        DatasetWriter(driver, settings.neo4j_database).load(src)
        driver.execute_query(SET_OWNER_IF_NONE, lab=settings.default_lab, dataset=DATASET)
        driver.execute_query(SET_VISIBILITY, dataset=DATASET, visibility="public")
    finally:
        driver.close()


def ms(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q) * 1000)


async def per_call(base: str, calls: int) -> None:
    async with (
        httpx2.AsyncClient(timeout=60) as h2,
        Client(streamable_http_client(f"{base}/mcp", http_client=h2), cache=None) as mcp,
        httpx.AsyncClient(base_url=base, timeout=60) as http,
    ):
        for name, args, query, variables in CASES:
            times = {"mcp": np.zeros(calls), "graphql": np.zeros(calls)}
            for i in range(-5, calls):  # five warm-up calls of each
                t = time.perf_counter()
                r = await mcp.call_tool(name, args)
                dt_mcp = time.perf_counter() - t
                assert not r.is_error, r.content
                t = time.perf_counter()
                g = await http.post("/graphql", json={"query": query, "variables": variables})
                dt_gql = time.perf_counter() - t
                assert g.status_code == 200 and "errors" not in g.json(), g.text[:300]
                if i >= 0:
                    times["mcp"][i], times["graphql"][i] = dt_mcp, dt_gql
            for path, x in times.items():
                print(f"{name}_{path}_p50_ms: {ms(x, 50):.2f}")
                print(f"{name}_{path}_p99_ms: {ms(x, 99):.2f}")
            ratio = np.median(times["mcp"]) / np.median(times["graphql"])
            print(f"ratio_{name}_mcp_over_graphql_p50: {ratio:.2f}")


async def stdio_start(base: str, sessions: int) -> None:
    exe = str(Path(sys.executable).with_name("connectomedb"))
    params = StdioServerParameters(command=exe, args=["mcp", "--url", base], env=dict(os.environ))
    starts = np.zeros(sessions)
    for i in range(sessions):
        t = time.perf_counter()
        async with Client(params, cache=None) as c:
            r = await c.call_tool("list_datasets", {})
            starts[i] = time.perf_counter() - t
            assert not r.is_error
    print(f"stdio_session_to_first_answer_p50_ms: {ms(starts, 50):.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--sessions", type=int, default=5)
    args = ap.parse_args()
    settings = Settings()
    ensure_dataset(settings)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    port = free_port()
    proc = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(per_call(base, args.calls))
        asyncio.run(stdio_start(base, args.sessions))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
