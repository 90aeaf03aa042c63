"""Motif statistics: triad census time against igraph and networkx on the same graphs,
a 1000-sample degree-preserving null census on Cook 2019, and a weighted
feed-forward-loop search (Cypher on the local Neo4j) against DotMotif's GrandIso
executor on the same graph.

Prints ``name: value`` lines: seconds per census for connectomedb, igraph
(``Graph.triad_census``, C) and networkx (``triadic_census``, Python), the ratios
connectomedb / igraph and networkx / connectomedb, and the wall time of the null census.
Every census is checked against igraph's before it counts.

Graphs: Cook 2019 (neurons, chemical connections, from the local Neo4j when the
dataset `cook2019_herm` is loaded, else skipped) and directed Erdős–Rényi graphs of
1e4 nodes / 1e5 edges and 1e5 nodes / 1e6 edges (seed 1).

Usage: python bench/motifs.py [--samples 1000] [--skip-networkx-above 200000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import igraph
import networkx as nx
import numpy as np

from connectomedb.motifs.census import (
    TRIAD_CLASSES,
    census_against_null,
    motif_census,
    triad_census,
)
from connectomedb.motifs.nulls import erdos_renyi
from connectomedb.settings import Settings
from connectomedb.store.driver import make_driver


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def cook() -> tuple[int, np.ndarray, np.ndarray] | None:
    s = Settings()
    d = make_driver(s)
    try:
        recs, _, _ = d.execute_query(
            "MATCH (a:Neuron {dataset: 'cook2019_herm'})-[r:CONNECTS_TO]->(b:Neuron) "
            "WHERE a <> b RETURN a.id AS a, b.id AS b"
        )
    except Exception:  # no server: the synthetic graphs still run
        return None
    finally:
        d.close()
    if not recs:
        return None
    ids = sorted({r["a"] for r in recs} | {r["b"] for r in recs})
    ix = {k: i for i, k in enumerate(ids)}
    return (
        len(ids),
        np.array([ix[r["a"]] for r in recs], dtype=np.int64),
        np.array([ix[r["b"]] for r in recs], dtype=np.int64),
    )


FFL = "A -> B [weight >= 3]\nB -> C [weight >= 3]\nA -> C [weight >= 3]"


def search_against_grandiso(repeat: int = 3) -> None:
    """All matches of a weighted feed-forward loop on Cook 2019: our Cypher query on the
    local Neo4j against DotMotif's GrandIso executor on the same graph in memory."""
    from dotmotif import Motif
    from dotmotif.executors import GrandIsoExecutor

    from connectomedb.motifs.language import parse_motif
    from connectomedb.store.motifs import motif_query

    s = Settings()
    d = make_driver(s)
    try:
        text, params = motif_query(parse_motif(FFL), count_only=False)

        def ours() -> list[tuple[str, ...]]:
            recs, _, _ = d.execute_query(
                text, dataset="cook2019_herm", skip=0, limit=10_000_000, **params
            )
            return [tuple(m) for m in recs[0]["matches"]]

        recs, _, _ = d.execute_query(
            "MATCH (a:Neuron {dataset: 'cook2019_herm'})-[r:CONNECTS_TO]->(b:Neuron) "
            "WHERE a <> b RETURN a.id AS a, b.id AS b, r.weight AS w"
        )
        g = nx.DiGraph()
        g.add_edges_from((r["a"], r["b"], {"weight": r["w"]}) for r in recs)
        t_ours, got = best_of(ours, repeat)
        motif = Motif(FFL)
        t_gi, found = best_of(lambda: GrandIsoExecutor(graph=g).find(motif), repeat)
        want = sorted(tuple(m[v] for v in sorted(m)) for m in found)
        if sorted(got) != want:
            raise SystemExit("weighted FFL: matches differ from GrandIso's")
        print(f"ffl_search_matches_cook2019: {len(want)}")
        print(f"ffl_search_s_connectomedb_cook2019: {t_ours:.3f}")
        print(f"ffl_search_s_grandiso_cook2019: {t_gi:.3f}")
        print(f"ratio_grandiso_over_connectomedb_ffl_search: {t_gi / t_ours:.2f}")
    finally:
        d.close()


def compare(name: str, n: int, pre: np.ndarray, post: np.ndarray, nx_limit: int) -> None:
    repeat = 5 if pre.size < 200_000 else 2
    t_ours, ours = best_of(lambda: triad_census(n, pre, post), repeat)
    g = igraph.Graph(n=n, edges=np.column_stack([pre, post]).tolist(), directed=True)
    t_ig, census = best_of(lambda: list(g.triad_census()), repeat)
    if [ours[k] for k in TRIAD_CLASSES] != census:
        raise SystemExit(f"{name}: census differs from igraph's")
    print(f"census_s_connectomedb_{name}: {t_ours:.4f}")
    print(f"census_s_igraph_{name}: {t_ig:.4f}")
    print(f"ratio_connectomedb_over_igraph_{name}: {t_ours / t_ig:.2f}")
    if pre.size <= nx_limit:
        h = nx.DiGraph()
        h.add_nodes_from(range(n))
        h.add_edges_from(zip(pre.tolist(), post.tolist(), strict=True))
        t_nx, want = best_of(lambda: nx.triadic_census(h), 1)
        if want != ours:
            raise SystemExit(f"{name}: census differs from networkx's")
        print(f"census_s_networkx_{name}: {t_nx:.4f}")
        print(f"ratio_networkx_over_connectomedb_{name}: {t_nx / t_ours:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--skip-networkx-above", type=int, default=2_000_000)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    c = cook()
    if c is not None:
        compare("cook2019", *c, args.skip_networkx_above)
        t = time.perf_counter()
        r = census_against_null(*c, null_model="degree_preserving", samples=args.samples, seed=1)
        print(
            f"null_census_s_cook2019_degree_preserving_{args.samples}: {time.perf_counter() - t:.1f}"
        )
        ffl = {x.name: x for x in r.classes}["030T"]
        print(f"ffl_z_cook2019_degree_preserving: {ffl.z:.1f}")
        t4, _ = best_of(lambda: motif_census(4, *c), 3)
        print(f"census4_s_cook2019: {t4:.3f}")
        search_against_grandiso()
    else:
        print("cook2019: skipped (load it with `connectomedb load cook2019`)")
    rng = np.random.default_rng(1)
    for n, m in ((10_000, 100_000), (100_000, 1_000_000)):
        pre, post = erdos_renyi(n, m, rng)
        compare(f"er_{n}n_{m}e", n, pre, post, args.skip_networkx_above)


if __name__ == "__main__":
    main()
