"""The structure-function table on Cook 2019 and the signal propagation atlas (wild type
and unc-31), under both nulls: what the wiring predicts, whatever it says.

Loads ``cook2019`` and ``randi2023`` when missing, then computes the statistics the
``structure_function`` job computes (same function, same reads) and prints one
``name: value`` line per figure, prefixed by strain and null, plus the seconds each
took.

Usage: python bench/structure_function_cook.py [--samples 1000] [--q 0.05]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from connectomedb.analytics.params import StructureFunctionParams
from connectomedb.analytics.structure_function_job import analyse
from connectomedb.loaders.functional import RANDI_STRAINS, MeasurementLoader, RandiAtlasSource
from connectomedb.loaders.registry import make_source
from connectomedb.loaders.wheels import WORMNEUROATLAS, WORMNEUROATLAS_VERSION, fetch_wheel
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.settings import Settings
from connectomedb.store.driver import init_schema, make_driver
from connectomedb.store.graph import read_gap_junctions, read_graph
from connectomedb.store.measurements import read_pairs

DS = "cook2019_herm"


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--q", type=float, default=0.05)
    a = ap.parse_args()
    s = Settings()
    d = make_driver(s)
    try:
        init_schema(d, s.neo4j_database)
        DatasetWriter(d, s.neo4j_database).load(make_source("cook2019", s.data_cache))
        wheel = fetch_wheel(WORMNEUROATLAS, WORMNEUROATLAS_VERSION, s.data_cache)
        loader = MeasurementLoader(d, s.neo4j_database)
        for strain in RANDI_STRAINS:
            loader.load(RandiAtlasSource(wheel, strain), DS)
        g = read_graph(d, s.neo4j_database, DS)
        gaps = read_gap_junctions(d, s.neo4j_database, g)
        print(f"neurons: {g.n}")
        print(f"connections: {g.m}")
        print(f"gap_junctions: {len(gaps[0])}")
        for strain in RANDI_STRAINS:
            pairs = read_pairs(d, s.neo4j_database, g, f"randi2023_{strain}")
            print(f"{strain}.pairs_without_q: {int((~np.isfinite(pairs.q)).sum())}")
            for null in ("label_permutation", "degree_preserving"):
                p = StructureFunctionParams(
                    measurements=f"randi2023_{strain}",
                    q_threshold=a.q,
                    null=null,
                    null_samples=a.samples,
                )
                t0 = time.perf_counter()
                pw = analyse(g, gaps, p, pairs, {})["pairwise"]
                tag = f"{strain}.{null}"
                print(f"{tag}.seconds: {time.perf_counter() - t0:.1f}")
                for c in pw["categories"]:
                    print(
                        f"{tag}.p_functional.{c['category']}: {_fmt(c['probability'])} "
                        f"[{_fmt(c['ci_low'])}, {_fmt(c['ci_high'])}] "
                        f"({c['functional']}/{c['pairs']})"
                    )
                for o in [*pw["odds_ratios"], pw["direct_odds_ratio"]]:
                    print(
                        f"{tag}.odds_ratio.{o['category']}_vs_{o['reference']}: "
                        f"{_fmt(o['odds_ratio'])} [{_fmt(o['ci_low'])}, {_fmt(o['ci_high'])}]"
                    )
                for t in pw["tests"]:
                    print(
                        f"{tag}.{t['statistic']}: {_fmt(t['observed'])} "
                        f"(null mean {_fmt(t['null_mean'])}, p {_fmt(t['p_value'])})"
                    )
    finally:
        d.close()


if __name__ == "__main__":
    main()
