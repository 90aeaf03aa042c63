"""compareArchitecture through a running API: a connectome beside trained networks stored
by an rnn_experiment run (``store_weights``). Prints ``name: value`` lines per pair
(densities, reciprocity enrichments, KS distances with p-values, the triad profile
correlation with its permutation p-value) and the seconds each query took.

Usage: python bench/compare_architecture.py --url http://127.0.0.1:8000 --token cdb_...
       --a cook2019_herm --b rnn.JOB.pattern.connectome rnn.JOB.pattern.dense
       [--null DEGREE_PRESERVING] [--samples 100]
"""

from __future__ import annotations

import argparse
import time

import httpx

Q = """query($a: ID!, $b: ID!, $null: NullModel!, $n: Int!) {
  compareArchitecture(datasetA: $a, datasetB: $b, nullModel: $null, samples: $n, seed: 0) {
    datasetA { neurons connections density reciprocityEnrichment }
    datasetB { neurons connections density reciprocityEnrichment }
    degreeDistributions { degree ksDistance pValue }
    triadProfile { classesCompared correlation pValue classes { name zA zB } }
  } }"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--token", required=True)
    ap.add_argument("--a", default="cook2019_herm")
    ap.add_argument("--b", nargs="+", required=True)
    ap.add_argument("--null", default="DEGREE_PRESERVING")
    ap.add_argument("--samples", type=int, default=100)
    a = ap.parse_args()
    headers = {"Authorization": f"Bearer {a.token}"}
    for b in a.b:
        t0 = time.perf_counter()
        r = httpx.post(
            f"{a.url}/graphql",
            json={"query": Q, "variables": {"a": a.a, "b": b, "null": a.null, "n": a.samples}},
            headers=headers,
            timeout=600,
        ).json()
        dt = time.perf_counter() - t0
        if r.get("errors"):
            raise SystemExit(f"{b}: {r['errors']}")
        c = r["data"]["compareArchitecture"]
        tag = b.rsplit(".", 1)[-1]
        for side in ("datasetA", "datasetB"):
            s = c[side]
            name = a.a if side == "datasetA" else tag
            print(f"{tag}_{name}_neurons_connections: {s['neurons']} {s['connections']}")
            print(f"{tag}_{name}_density: {s['density']:.4f}")
            e = s["reciprocityEnrichment"]
            print(f"{tag}_{name}_reciprocity_enrichment: {'n/a' if e is None else f'{e:.2f}'}")
        for d in c["degreeDistributions"]:
            print(f"{tag}_ks_{d['degree'].lower()}: {d['ksDistance']:.3f} (p {d['pValue']:.2g})")
        t = c["triadProfile"]
        corr = "n/a" if t["correlation"] is None else f"{t['correlation']:.3f}"
        p = "n/a" if t["pValue"] is None else f"{t['pValue']:.3g}"
        print(f"{tag}_triad_profile_correlation: {corr} (p {p}, {t['classesCompared']} classes)")
        zs = ", ".join(
            f"{k['name']} {k['zA'] if k['zA'] is None else round(k['zA'], 1)}/"
            f"{k['zB'] if k['zB'] is None else round(k['zB'], 1)}"
            for k in t["classes"]
        )
        print(f"{tag}_triad_z_a_b: {zs}")
        print(f"{tag}_seconds: {dt:.1f}")


if __name__ == "__main__":
    main()
