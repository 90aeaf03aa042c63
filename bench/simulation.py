"""Simulation speed: this engine against Shiu et al.'s own model (``create_model`` and
``poi``, reproduced in ``connectomedb.simulate.reference``) in Brian2's C++ standalone
mode, on the same synthetic network and input.

A FlyWire-scale network by default (139 000 neurons, 15 M connections, heavy-tailed
out-degrees, log-normal synapse counts, 30 % inhibitory neurons), their parameters
(dt 0.1 ms), a few hundred neurons driven by their 150 Hz Poisson input (68.75 mV jumps
of v, no refractory period for the driven neurons).
Each engine runs in its own process; prints ``name: value`` lines: seconds per
simulated second (build and compile times apart), peak resident memory, mean rate, and
the ratio of the two times. On a CUDA machine the engine also runs on the GPU.

Usage: python bench/simulation.py [--neurons 139000] [--connections 15000000]
                                  [--driven 300] [--seconds 1.0] [--skip-brian2]
                                  [--departures]
                                  [--brian2-openmp 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def network(n: int, m: int, driven: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out_weight = rng.pareto(1.5, n) + 1
    pre = rng.choice(n, m, p=out_weight / out_weight.sum())
    post = rng.integers(0, n, m)
    keys = np.unique(pre * n + post)
    pre, post = keys // n, keys % n
    keep = pre != post
    pre, post = pre[keep], post[keep]
    strength = np.maximum(1, np.round(rng.lognormal(0.7, 0.9, pre.size)))
    sign = np.where(rng.random(n) < 0.7, 1.0, -1.0)
    return {
        "n": np.array(n),
        "pre": pre,
        "post": post,
        "strength": strength,
        "sign": sign,
        "driven": rng.choice(n, driven, replace=False),
    }


def run_ours(path: str, seconds: float, device: str, departures: bool) -> dict[str, float]:
    import torch

    from connectomedb.simulate.engine import (
        Drive,
        LIFParams,
        Synapses,
        simulate,
        weight_matrix,
    )
    from connectomedb.simulate.params import F_POI

    net = dict(np.load(path))
    n = int(net["n"])
    p = LIFParams()
    t = time.perf_counter()
    w = Synapses(
        weight_matrix(n, net["pre"], net["post"], net["strength"], net["sign"], p.w_syn, device)
    )
    build = time.perf_counter() - t
    rates = np.zeros(n)
    rates[net["driven"]] = 150.0
    steps = int(round(seconds * 1000 / p.dt))
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    # with departures: the engine's two options that depart from Shiu et al.'s model
    drive = Drive(
        rates=rates,
        weight=F_POI * p.w_syn,
        target="g" if departures else "v",
        refractory_driven=departures,
    )
    r = simulate(w, p, steps, drive)
    if device == "cuda":
        torch.cuda.synchronize()
    return {
        "build_s": build,
        "run_s": time.perf_counter() - t,
        "rate_hz": float(r.rates.mean()),
        "driven_rate_hz": float(r.rates[0, net["driven"]].mean()),
    }


def run_brian2(path: str, seconds: float, threads: int) -> dict[str, float]:
    import brian2 as b

    from connectomedb.simulate import reference as ref

    net = dict(np.load(path))
    n = int(net["n"])
    out = tempfile.mkdtemp(prefix="brian2_bench_")
    b.set_device("cpp_standalone", directory=out)
    # Brian2's default `make -j` starts one compiler per file at once (one per
    # PoissonInput here): enough to run a 24 GB machine out of memory
    b.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    if threads > 1:
        b.prefs.devices.cpp_standalone.openmp_threads = threads
    params = ref.default_params()
    neu, syn, spk_mon = ref.create_model(
        n, net["pre"], net["post"], net["sign"][net["pre"]] * net["strength"], params
    )
    pois, neu = ref.poi(neu, [int(i) for i in net["driven"]], [], params)
    # their run_trial: Network(neu, syn, spk_mon, *poi_inp)
    net_ = b.Network(neu, syn, spk_mon, *pois)
    t = time.perf_counter()
    net_.run(seconds * b.second)
    total = time.perf_counter() - t
    run = float(b.device._last_run_time)
    counts = np.bincount(np.asarray(spk_mon.i), minlength=n)
    return {
        "build_s": total - run,
        "run_s": run,
        "rate_hz": float(counts.mean() / seconds),
        "driven_rate_hz": float(counts[net["driven"]].mean() / seconds),
    }


def child(engine: str, path: str, seconds: float) -> None:
    if engine.startswith("brian2"):
        out = run_brian2(path, seconds, int(engine.split(":")[1]) if ":" in engine else 1)
    else:
        out = run_ours(path, seconds, engine.split(":")[1], engine.endswith(":departures"))
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kb_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["peak_rss_mb"] = max(kb, kb_children) / 1024
    print("RESULT " + json.dumps(out), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--neurons", type=int, default=139_000)
    ap.add_argument("--connections", type=int, default=15_000_000)
    ap.add_argument("--driven", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--skip-brian2", action="store_true")
    ap.add_argument(
        "--departures",
        action="store_true",
        help="also run the engine with input into g and refractory driven neurons",
    )
    ap.add_argument(
        "--brian2-openmp",
        type=int,
        default=0,
        help="also run Brian2 with this many OpenMP threads (its default is one)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--net", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.net, args.seconds)
        return
    import torch

    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}")
    t = time.perf_counter()
    net = network(args.neurons, args.connections, args.driven)
    path = str(Path(tempfile.mkdtemp()) / "net.npz")
    np.savez(path, **net)
    print(
        f"network: {args.neurons} neurons, {net['pre'].size} connections ({time.perf_counter() - t:.1f} s)"
    )
    engines = ["ours:cpu"] + (["ours:cuda"] if torch.cuda.is_available() else [])
    if args.departures:
        engines.append("ours:cpu:departures")
    if not args.skip_brian2:
        engines.append("brian2")
        if args.brian2_openmp > 1:
            engines.append(f"brian2:{args.brian2_openmp}")
    results = {}
    for e in engines:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", e, "--net", path, "--seconds", str(args.seconds)],
            capture_output=True,
            text=True,
        )
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"{e}: failed\n{proc.stderr[-2000:]}")
            continue
        r = json.loads(line[7:])
        results[e] = r
        name = e.replace(":", "_")
        print(f"{name}_s_per_simulated_s: {r['run_s'] / args.seconds:.2f}")
        print(f"{name}_build_s: {r['build_s']:.1f}")
        print(f"{name}_peak_rss_mb: {r['peak_rss_mb']:.0f}")
        print(f"{name}_mean_rate_hz: {r['rate_hz']:.2f}")
        print(f"{name}_driven_rate_hz: {r['driven_rate_hz']:.1f}")
    for ref in [e for e in results if e.startswith("brian2")]:
        if "ours:cpu" in results:
            ratio = results["ours:cpu"]["run_s"] / results[ref]["run_s"]
            print(f"ratio_ours_cpu_over_{ref.replace(':', '_')}: {ratio:.2f}")
    if "ours:cpu" in results and "ours:cpu:departures" in results:
        ratio = results["ours:cpu"]["run_s"] / results["ours:cpu:departures"]["run_s"]
        print(f"ratio_ours_cpu_over_ours_cpu_departures: {ratio:.2f}")


if __name__ == "__main__":
    main()
