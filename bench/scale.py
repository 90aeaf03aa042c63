"""Every query at whole-brain size: a synthetic FlyWire-scale connectome (139 000 neurons,
2.7 M connections, heavy-tailed degrees, cell types) in the configured Neo4j, each GraphQL
query and ``/rest`` route timed on it by one client, warm, in sequence.

Loads the dataset first when it is missing (``connectomedb load synthetic --public``,
timed: the transactional first load), starts ``connectomedb serve`` on a free port and
times each case ``--repeat`` times after one warm-up request (the slow aggregate cases
fewer times). Lists (neurons, connections, adjacency, partners, motif matches) are timed
at page 1 and after walking ``--depth`` pages of 1000: "deep" is the page reached by
following cursors as a client does. A case whose request answers an error is recorded
with its code (``TIMEOUT``, ``TOO_EXPENSIVE``, ...) and the time until the answer.

The triad census is also timed outside the API on the same graph against igraph's
``Graph.triad_census`` (the ratio is census / igraph).

Prints ``name: value`` lines (``CASE_p50_ms``, ``CASE_p99_ms``, ``CASE_error``) and, with
``--save F``, writes them as JSON; ``--baseline F`` (a saved earlier run, e.g. of the code
before a change) adds ``CASE_ratio_p50`` = this / baseline.

Usage: python bench/scale.py [--save after.json] [--baseline before.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import free_port, start_server  # noqa: E402

from connectomedb.settings import Settings  # noqa: E402
from connectomedb.store.driver import make_driver  # noqa: E402

DATASET = "scale_flywire"
NEURONS, CONNECTIONS, TYPES, SIGMA, SEED = 139_000, 2_700_000, 20, 1.0, 17

NEURON_TOP = """query($ds: ID!, $id: ID!) { neuron(dataset: $ds, id: $id) { id name type
  upstream(first: 10) { edges { node { synapseCount neuron { id type } } } }
  downstream(first: 10) { edges { node { synapseCount neuron { id type } } } } } }"""
NEURONS_PAGE = """query($ds: ID!, $after: String) { neurons(dataset: $ds, first: 1000,
  after: $after) { edges { node { id name type class side inDegree outDegree } }
  pageInfo { hasNextPage endCursor } } }"""
CONNECTIONS_PAGE = """query($ds: ID!, $after: String) { connections(dataset: $ds,
  first: 1000, after: $after) { edges { node { pre post synapseCount } }
  pageInfo { hasNextPage endCursor } } }"""
ADJACENCY_PAGE = """query($ds: ID!, $after: String) { adjacency(dataset: $ds,
  first: 10000, after: $after) { pre post synapseCount hasNextPage endCursor } }"""
PARTNERS_PAGE = """query($ds: ID!, $id: ID!, $after: String) { neuron(dataset: $ds, id: $id) {
  upstream(first: 100, after: $after) { edges { node { synapseCount neuron { id } } }
  pageInfo { hasNextPage endCursor } } } }"""
MOTIF_PAGE = """query($ds: ID!, $after: String) { motifSearch(dataset: $ds,
  motif: "A -> B\\nB -> C\\nA -> C", first: 100, after: $after) {
  matches { bindings { variable neuron } } pageInfo { hasNextPage endCursor } } }"""
FFL_COUNT = """query($ds: ID!) { motifSearch(dataset: $ds, motif: "A -> B\\nB -> C\\nA -> C",
  countOnly: true) { count } }"""
PATHS = """query($ds: ID!, $a: ID!, $b: ID!) { paths(dataset: $ds, source: $a, target: $b,
  maxHops: 2, first: 100) { neurons synapseCounts } }"""
TYPE_CONN = """query($ds: ID!, $level: Level!) { cellTypeConnectivity(dataset: $ds,
  level: $level) { entries { pre post synapses connectedPairs connectionProbability } } }"""
NETSTATS = """query($ds: ID!) { networkStatistics(dataset: $ds) { neurons connections density
  reciprocity reciprocityEnrichment clusteringCoefficient transitivity } }"""
RECIPROCITY = """query($ds: ID!) { reciprocityByGroup(dataset: $ds, level: TYPE) {
  entries { groupA groupB reciprocalPairs expected } } }"""
CENSUS = """query($ds: ID!) { motifCensus(dataset: $ds, nullModel: ERDOS_RENYI, samples: 2) {
  classes { name observed z } } }"""
DATASETS = """{ datasets { id neuronCount connectionCount } }"""


def ensure_dataset(settings: Settings) -> float | None:
    """Load the dataset with the CLI when it is missing; the load's seconds, or None."""
    driver = make_driver(settings)
    try:
        recs, _, _ = driver.execute_query(
            "MATCH (d:Dataset {id: $ds, status: 'ready'}) RETURN count(d) AS n", ds=DATASET
        )
    finally:
        driver.close()
    if recs[0]["n"]:
        return None
    exe = Path(sys.executable).with_name("connectomedb")
    cmd = [str(exe), "load", "synthetic", "--id", DATASET, "--public", "--neurons",
           str(NEURONS), "--connections", str(CONNECTIONS), "--types", str(TYPES),
           "--degree-sigma", str(SIGMA), "--seed", str(SEED)]  # fmt: skip
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def sample_ids(settings: Settings) -> dict[str, Any]:
    driver = make_driver(settings)
    try:
        recs, _, _ = driver.execute_query(
            "MATCH (n:Neuron {dataset: $ds}) RETURN n.id AS id, n.in_degree AS d ORDER BY d DESC",
            ds=DATASET,
        )
    finally:
        driver.close()
    ids = [r["id"] for r in recs]
    hub = ids[0]
    rng = np.random.default_rng(0)
    return {
        "hub": hub,
        "hub_in_degree": int(recs[0]["d"]),
        "random": [ids[i] for i in rng.choice(len(ids), size=200, replace=False)],
    }


class Bench:
    def __init__(self, client: httpx.Client, repeat: int) -> None:
        self.client = client
        self.repeat = repeat
        self.out: dict[str, Any] = {}

    def gql(self, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        r = self.client.post("/graphql", json={"query": query, "variables": variables})
        body = r.json()
        if body.get("errors"):
            e = body["errors"][0]
            return None, str((e.get("extensions") or {}).get("code") or e.get("message"))[:60]
        return body["data"], ""

    def record(self, name: str, times: list[float], error: str = "") -> None:
        a = np.asarray(times) * 1e3
        self.out[f"{name}_p50_ms"] = round(float(np.percentile(a, 50)), 1)
        self.out[f"{name}_p99_ms"] = round(float(np.percentile(a, 99)), 1)
        self.out[f"{name}_n"] = len(times)
        if error:
            self.out[f"{name}_error"] = error
        for k in (f"{name}_p50_ms", f"{name}_p99_ms") + ((f"{name}_error",) if error else ()):
            print(f"{k}: {self.out[k]}", flush=True)

    def case(self, name: str, call: Callable[[int], tuple[Any, str]], repeat: int) -> Any:
        call(0)  # warm-up
        times, err, data = [], "", None
        for i in range(repeat):
            t = time.perf_counter()
            data, e = call(i)
            times.append(time.perf_counter() - t)
            err = err or e
        self.record(name, times, err)
        return data

    def walk(
        self,
        name: str,
        query: str,
        variables: dict[str, Any],
        page_of: Callable[[dict[str, Any]], dict[str, Any]],
        depth: int,
    ) -> None:
        """Follow cursors ``depth`` pages; record the first pages and the deepest ones."""
        after: str | None = None
        times: list[float] = []
        for _ in range(depth):
            t = time.perf_counter()
            data, err = self.gql(query, {**variables, "after": after})
            times.append(time.perf_counter() - t)
            if data is None:
                self.record(f"{name}_page", times, err)
                return
            page = page_of(data)
            info = page.get("pageInfo") or page
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        k = max(1, min(5, len(times) // 2))
        self.record(f"{name}_first{k}pages", times[:k])
        self.record(f"{name}_last{k}pages_of_{len(times)}", times[-k:])
        deep = {**variables, "after": after}
        self.case(f"{name}_deep_repeat", lambda i: self.gql(query, deep), self.repeat // 5 or 1)


def census_vs_igraph(settings: Settings) -> dict[str, Any]:
    """The census of the whole dataset against igraph's triad census, outside the API."""
    import igraph

    from connectomedb.motifs.census import TRIAD_CLASSES, triad_census
    from connectomedb.store.graph import read_graph

    driver = make_driver(settings)
    try:
        g = read_graph(driver, settings.neo4j_database, DATASET)
    finally:
        driver.close()
    out: dict[str, Any] = {}
    t = time.perf_counter()
    ours = triad_census(g.n, g.pre, g.post)
    out["census_ours_s"] = round(time.perf_counter() - t, 2)
    ig = igraph.Graph(n=g.n, edges=np.column_stack([g.pre, g.post]).tolist(), directed=True)
    ig.simplify(multiple=True, loops=True)
    t = time.perf_counter()
    ref = ig.triad_census()
    out["census_igraph_s"] = round(time.perf_counter() - t, 2)
    out["ratio_census_over_igraph"] = round(out["census_ours_s"] / out["census_igraph_s"], 2)
    names = TRIAD_CLASSES
    out["census_equal_igraph"] = all(int(ours[k]) == int(ref[i]) for i, k in enumerate(names))
    for k, v in out.items():
        print(f"{k}: {v}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=50, help="requests per fast case")
    ap.add_argument("--slow-repeat", type=int, default=5, help="requests per aggregate case")
    ap.add_argument("--depth", type=int, default=100, help="pages walked for the deep page")
    ap.add_argument("--motif-depth", type=int, default=10, help="pages of 100 motif matches")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--skip", default="", help="comma-separated case names to leave out")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    settings = Settings()
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, {platform.node()}")
    load_s = ensure_dataset(settings)
    out: dict[str, Any] = {}
    if load_s is not None:
        out["load_transactional_s"] = round(load_s, 1)
        print(f"load_transactional_s: {out['load_transactional_s']}")
    ids = sample_ids(settings)
    print(f"dataset: {DATASET}; hub in-degree {ids['hub_in_degree']}")
    port = free_port()
    server = start_server(port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            b = Bench(client, args.repeat)
            ds = {"ds": DATASET}
            rnd = ids["random"]
            cases: list[tuple[str, Callable[[], None]]] = [
                ("datasets", lambda: b.case("datasets", lambda i: b.gql(DATASETS, {}), 10)),
                ("neuron_top10", lambda: b.case(
                    "neuron_top10",
                    lambda i: b.gql(NEURON_TOP, {**ds, "id": rnd[i % len(rnd)]}), args.repeat)),
                ("hub_top10", lambda: b.case(
                    "hub_top10", lambda i: b.gql(NEURON_TOP, {**ds, "id": ids["hub"]}),
                    args.repeat)),
                ("rest_upstream", lambda: b.case(
                    "rest_upstream",
                    lambda i: _rest(client, f"/rest/datasets/{DATASET}/neurons/"
                                    f"{rnd[i % len(rnd)]}/upstream?first=10"), args.repeat)),
                ("rest_neurons_page", lambda: b.case(
                    "rest_neurons_page",
                    lambda i: _rest(client, f"/rest/datasets/{DATASET}/neurons?first=1000"),
                    args.repeat // 5)),
                ("paths", lambda: b.case(
                    "paths", lambda i: b.gql(PATHS, {**ds, "a": rnd[i % 50], "b": ids["hub"]}),
                    args.repeat // 5)),
                ("neurons", lambda: b.walk(
                    "neurons", NEURONS_PAGE, ds, lambda d: d["neurons"], args.depth)),
                ("connections", lambda: b.walk(
                    "connections", CONNECTIONS_PAGE, ds, lambda d: d["connections"], args.depth)),
                ("adjacency", lambda: b.walk(
                    "adjacency", ADJACENCY_PAGE, ds, lambda d: d["adjacency"], args.depth)),
                ("hub_upstream", lambda: b.walk(
                    "hub_upstream", PARTNERS_PAGE, {**ds, "id": ids["hub"]},
                    lambda d: d["neuron"]["upstream"], args.depth)),
                ("motif_matches", lambda: b.walk(
                    "motif_matches", MOTIF_PAGE, ds, lambda d: d["motifSearch"],
                    args.motif_depth)),
                ("cell_type_connectivity_type", lambda: b.case(
                    "cell_type_connectivity_type",
                    lambda i: b.gql(TYPE_CONN, {**ds, "level": "TYPE"}), args.slow_repeat)),
                ("cell_type_connectivity_class", lambda: b.case(
                    "cell_type_connectivity_class",
                    lambda i: b.gql(TYPE_CONN, {**ds, "level": "CLASS"}), args.slow_repeat)),
                ("network_statistics", lambda: b.case(
                    "network_statistics", lambda i: b.gql(NETSTATS, ds), args.slow_repeat)),
                ("reciprocity_by_type", lambda: b.case(
                    "reciprocity_by_type", lambda i: b.gql(RECIPROCITY, ds), args.slow_repeat)),
                ("ffl_count", lambda: b.case(
                    "ffl_count", lambda i: b.gql(FFL_COUNT, ds), args.slow_repeat)),
                ("census_er_2", lambda: b.case(
                    "census_er_2", lambda i: b.gql(CENSUS, ds), args.slow_repeat)),
            ]  # fmt: skip
            for name, run in cases:
                if name not in skip:
                    run()
            out.update(b.out)
        if "census_vs_igraph" not in skip:
            out.update(census_vs_igraph(settings))
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.baseline:
        base = json.loads(args.baseline.read_text())
        for k, v in out.items():
            if k.endswith("_p50_ms") and isinstance(base.get(k), int | float) and base[k] > 0:
                name = k.removesuffix("_p50_ms")
                print(f"{name}_ratio_p50: {v / base[k]:.3f}")
    if args.save:
        args.save.write_text(json.dumps(out, indent=1, sort_keys=True))


def _rest(client: httpx.Client, path: str) -> tuple[Any, str]:
    r = client.get(path)
    if r.status_code != 200:
        return None, f"HTTP {r.status_code}"
    return r.json(), ""


if __name__ == "__main__":
    main()
