"""The first load of a FlyWire-size synthetic connectome by both paths, end to end.

On a Neo4j of its own (a home under ``--home`` or a temporary directory, free ports,
``--heap``/``--pagecache``; never the configured server), times, by the wall clock,
``connectomedb load synthetic ... --public`` run as a command:
- ``bulk``: with ``--bulk`` into the empty store (CSV files, the server's stop, the
  offline import, its start, schema and Dataset node: everything the command does),
- ``transactional``: without, into a freshly emptied store,
then reads each result's FULL fingerprint and compares them.

Prints ``name: value`` lines: ``bulk_s``, ``transactional_s``,
``ratio_bulk_over_transactional``, ``fingerprints_equal``, the fingerprint, the counts,
each run's phases as its progress bars timed them (whole seconds) and the machine's
load average around each run (other work shares the machine).

Usage: python bench/bulk_load.py [--neurons 139000] [--connections 2700000]
       [--degree-sigma 1.0] [--seed 17] [--heap 2g] [--pagecache 2g] [--home DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from connectomedb import localneo4j
from connectomedb.settings import Settings
from connectomedb.store.driver import make_driver
from connectomedb.store.fingerprint import FULL, dataset_fingerprint
from connectomedb.store.graphdb import Store, make_async_driver

CLI = str(Path(sys.executable).with_name("connectomedb"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def second_server(home: Path, heap: str, pagecache: str) -> Settings:
    """Settings of a server under ``home``; its jars are links to the configured home's
    when that one is built (no Maven run)."""
    main = Settings().model_copy(update={"neo4j_uri": None})
    home.mkdir(parents=True, exist_ok=True)
    if localneo4j.is_built(main):
        main_home = localneo4j.layout(main).home.resolve()
        for d in ("lib", "plugins"):
            if not (home / d).exists():
                (home / d).symlink_to(main_home / d)
    return main.model_copy(
        update={
            "home": home.resolve(),
            "bolt_port": free_port(),
            "http_port": free_port(),
            "heap_size": heap,
            "pagecache_size": pagecache,
        }
    )


def emptied(s: Settings, work: Path) -> None:
    """A fresh, empty database (an import of nothing), the server up again."""
    localneo4j.stop(s)
    localneo4j.empty_database(s, work)
    localneo4j.start(s)


def cli_env(s: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOMEDB_NEO4J_URI"}
    env.update(
        {
            "CONNECTOMEDB_HOME": str(s.home),
            "CONNECTOMEDB_BOLT_PORT": str(s.bolt_port),
            "CONNECTOMEDB_HTTP_PORT": str(s.http_port),
            "CONNECTOMEDB_HEAP_SIZE": s.heap_size,
            "CONNECTOMEDB_PAGECACHE_SIZE": s.pagecache_size,
        }
    )
    return env


#: a finished phase as the command's progress bar leaves it: name, bar, n/n, H:MM:SS
_PHASE = re.compile(r"^\s*(\w[\w ]*?)\s+━+\s+\S+\s+(\d+):(\d\d):(\d\d)\s*$")


def phases(output: str) -> dict[str, int]:
    """Seconds of each phase, from the command's progress bars."""
    out = {}
    for line in output.splitlines():
        m = _PHASE.match(line)
        if m is not None:
            h, mi, sec = (int(x) for x in m.group(2, 3, 4))
            out[m.group(1).replace(" ", "_")] = 3600 * h + 60 * mi + sec
    return out


def timed_load(s: Settings, args: list[str], name: str) -> float:
    print(f"{name}_loadavg_before: {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [CLI, "load", *args], env=cli_env(s), capture_output=True, text=True, check=False
    )
    dt = time.perf_counter() - t0
    print(f"{name}_loadavg_after: {os.getloadavg()[0]:.2f}", flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} load failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    for phase, sec in phases(proc.stdout).items():
        print(f"{name}_phase_{phase}_s: {sec}")
    return dt


def fingerprint(s: Settings, ds: str) -> str:
    async def go() -> str:
        d = make_async_driver(s)
        try:
            return await dataset_fingerprint(Store(d, s.neo4j_database, 3600), ds, FULL)
        finally:
            await d.close()

    return asyncio.run(go())


def counts(s: Settings, ds: str) -> dict[str, int]:
    with make_driver(s) as d:
        recs, _, _ = d.execute_query(
            "MATCH (d:Dataset {id: $ds}) RETURN d.neuron_count AS neurons, "
            "d.connection_count AS connections, d.chemical_synapse_total AS synapse_total, "
            "d.status AS status, d.visibility AS visibility",
            ds=ds,
        )
    return dict(recs[0]) if recs else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=139_000)
    ap.add_argument("--connections", type=int, default=2_700_000)
    ap.add_argument("--degree-sigma", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--id", default="scale_flywire")
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--pagecache", default="2g")
    ap.add_argument("--home", type=Path, help="the server's home (default: a temporary one)")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="connectomedb-bench-bulk-"))
    s = second_server(a.home or tmp / "neo4j", a.heap, a.pagecache)
    args = [
        "synthetic",
        *("--neurons", str(a.neurons), "--connections", str(a.connections)),
        *("--degree-sigma", str(a.degree_sigma), "--seed", str(a.seed)),
        *("--id", a.id, "--public"),
    ]
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs (shared with other work)")
    print(f"server: heap {s.heap_size}, page cache {s.pagecache_size}, home {s.home}")
    print(f"command: connectomedb load {' '.join(args)} [--bulk]")
    try:
        localneo4j.start(s)
        with make_driver(s) as d:
            recs, _, _ = d.execute_query("MATCH (n) RETURN count(n) AS n")
        if recs[0]["n"]:  # a --home used before
            emptied(s, tmp)
        bulk = timed_load(s, [*args, "--bulk"], "bulk")
        print(f"bulk_s: {bulk:.1f}", flush=True)
        bulk_fp, bulk_counts = fingerprint(s, a.id), counts(s, a.id)
        emptied(s, tmp)
        trans = timed_load(s, args, "transactional")
        print(f"transactional_s: {trans:.1f}", flush=True)
        trans_fp, trans_counts = fingerprint(s, a.id), counts(s, a.id)
    finally:
        localneo4j.stop(s)
        if a.home is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"ratio_bulk_over_transactional: {bulk / trans:.3f}")
    print(f"fingerprints_equal: {bulk_fp == trans_fp}")
    print(f"fingerprint_bulk: {bulk_fp}")
    print(f"fingerprint_transactional: {trans_fp}")
    print(f"counts_equal: {bulk_counts == trans_counts}")
    for k, v in bulk_counts.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
