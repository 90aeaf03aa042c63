"""Load test: simulated users on a mixed workload against the FlyWire-scale dataset.

Starts ``connectomedb serve --workers N`` on a free port for each N of ``--workers`` in
turn (default 1 then 2; a count given again runs again), then runs ``--users`` simulated
users (default 32), each in a closed loop (one request at a time, no pause) for
``--duration`` seconds, picking every next request at random with the weights of
``OPERATIONS``. A user's session is one connection for ``--requests-per-connection``
requests (default 20), then a new one: the kernel gives each new connection to whichever
worker accepts it first, and a connection stays with its worker. The workload:

- reads of ``scale_flywire`` (139 000 neurons, 2.7 M connections, public): a neuron with
  its top-10 partners up and down, a page of 1000 neurons (at a random one of the first
  pages), ``/rest`` partners, the connections of one neuron, ``cellTypeConnectivity``,
  ``networkStatistics``, a count-only ``motifSearch`` of a filtered motif, the dataset list;
- writes on ``load_writes``, a small dataset of the bench's own lab (a user outside a
  dataset's owner lab may not write to it): an annotation of a neuron, a ``probe`` job
  (cheap) on the bench's own queue.

Every user signs in with one API token of the bench's user (lab ``loadtest``, editor),
created at the start and revoked at the end. Each request is timed from send to the
end of its answer; an error is counted under its code (GraphQL ``extensions.code``) and
HTTP status, or the client's exception. Only requests that start and end inside the
window count; users start over ``--ramp`` seconds before it, after one warm-up request
of each operation.

Prints ``name: value`` lines per run (``w1``, ``w2``, ``w1_2`` for a second run of one
worker, ...): requests,
errors by code, p50/p99 per operation, throughput, the resident memory (RSS) of every API
process at the window's start and end and its maximum (sampled every ``--sample-every``
s), how the users' connections fell on the workers, and
``ratio_throughput_w2_over_w1`` (of the mean throughputs when a count ran twice).

``--soak S``: one window of S seconds with ``--workers`` API workers (the largest given)
and one ``connectomedb worker`` on the bench's queue running the submitted jobs; RSS of
every process every ``--sample-every`` s (start, end, max, growth), requests and errors
per minute, the jobs' final states.

Usage: python bench/load.py [--duration 60] [--users 32] [--workers 1,2,2,1]
       python bench/load.py --soak 600 [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import free_port  # noqa: E402

DATASET = "scale_flywire"
WRITES = "load_writes"
LAB, USER = "loadtest", "loadtest_user"
QUEUE = "loadtest"
PAGES = 20  # the neurons page op reads one of the first PAGES pages of 1000
FINISH_S = 120  # how long requests in flight at a window's end may take to finish
DRAIN_S = 120  # how long the soak's job worker may take to run the jobs left queued

NEURON_TOP = """query($ds: ID!, $id: ID!) { neuron(dataset: $ds, id: $id) { id name type
  upstream(first: 10) { edges { node { synapseCount neuron { id type } } } }
  downstream(first: 10) { edges { node { synapseCount neuron { id type } } } } } }"""
NEURONS_PAGE = """query($ds: ID!, $after: String) { neurons(dataset: $ds, first: 1000,
  after: $after) { edges { node { id name type class side inDegree outDegree } }
  pageInfo { hasNextPage endCursor } } }"""
CONNECTIONS = """query($ds: ID!, $id: ID!) { connections(dataset: $ds, pre: [$id],
  first: 100) { edges { node { pre post synapseCount } } } }"""
TYPE_CONN = """query($ds: ID!, $level: Level!) { cellTypeConnectivity(dataset: $ds,
  level: $level) { entries { pre post synapses connectedPairs connectionProbability } } }"""
NETSTATS = """query($ds: ID!) { networkStatistics(dataset: $ds) { neurons connections density
  reciprocity reciprocityEnrichment clusteringCoefficient transitivity } }"""
#: reciprocal partners of one neuron (by id, an indexed lookup): a motif that stays small
#: on a graph with hubs of thousands of partners
MOTIF_COUNT = """query($ds: ID!, $motif: String!) { motifSearch(dataset: $ds, motif: $motif,
  countOnly: true) { count } }"""
MOTIF = 'A -> B [synapse_count >= 2]\nB -> A\nA.id = "{id}"'
DATASETS = """{ datasets { id neuronCount connectionCount } }"""
ANNOTATE = """mutation($ds: ID!, $id: ID!, $value: String!) { annotateNeuron(dataset: $ds,
  neuron: $id, key: "load_test", value: $value) { id current } }"""
SUBMIT = """mutation($ds: ID!, $queue: String!) { submitJob(dataset: $ds, kind: PROBE,
  params: {steps: 1}, queue: $queue) { id status } }"""


# -- aggregation ----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between the closest ranks
    (numpy's default method); NaN for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    xs = sorted(values)
    if not xs:
        return math.nan
    h = (len(xs) - 1) * q / 100
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


@dataclass(frozen=True)
class Record:
    """One answered request: operation, start and end (monotonic s), error code or None."""

    op: str
    start: float
    end: float
    error: str | None = None


@dataclass
class OpStats:
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    #: started in the window but answered after it (not in the other figures)
    late: int = 0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1e3

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1e3


@dataclass
class Summary:
    """Requests of a window [t0, t1]: per operation, the count, errors by code and the
    latencies (errors included: the time until the answer)."""

    seconds: float
    ops: dict[str, OpStats]

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.ops.values())

    @property
    def errors(self) -> int:
        return sum(sum(s.errors.values()) for s in self.ops.values())

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def ok_per_s(self) -> float:
        return (self.requests - self.errors) / self.seconds

    def lines(self, label: str) -> Iterator[str]:
        yield f"{label}_seconds: {self.seconds:.0f}"
        yield f"{label}_requests: {self.requests}"
        yield f"{label}_errors: {self.errors}"
        yield f"{label}_requests_per_s: {self.per_s:.1f}"
        yield f"{label}_ok_requests_per_s: {self.ok_per_s:.1f}"
        for name, s in sorted(self.ops.items()):
            yield f"{label}_{name}_requests: {s.requests}"
            yield f"{label}_{name}_errors: {sum(s.errors.values())}"
            for code, n in sorted(s.errors.items()):
                yield f"{label}_{name}_errors_{code}: {n}"
            yield f"{label}_{name}_p50_ms: {s.p50_ms:.1f}"
            yield f"{label}_{name}_p99_ms: {s.p99_ms:.1f}"
            if s.late:
                yield f"{label}_{name}_answered_after_the_window: {s.late}"


def summarize(records: Sequence[Record], t0: float, t1: float) -> Summary:
    """The requests that started at or after ``t0`` and ended by ``t1`` (and, apart, those
    started in the window but answered after it)."""
    ops: dict[str, OpStats] = defaultdict(OpStats)
    for r in records:
        if t0 <= r.start < t1 < r.end:
            ops[r.op].late += 1
        if r.start < t0 or r.end > t1:
            continue
        s = ops[r.op]
        s.requests += 1
        s.latencies.append(r.end - r.start)
        if r.error is not None:
            s.errors[r.error] += 1
    return Summary(t1 - t0, dict(ops))


def error_code(status: int, body: bytes) -> str | None:
    """None for a good answer, else ``CODE_STATUS``: the first GraphQL error's
    ``extensions.code`` (``NONE`` without one) and the HTTP status."""
    errors: Any = None
    if body[:1] == b"{":
        try:
            errors = json.loads(body).get("errors")
        except ValueError:
            errors = None
    if status == 200 and not errors:
        return None
    code = "NONE"
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = str((errors[0].get("extensions") or {}).get("code") or "NONE")
    return f"{code}_{status}"


# -- processes ----------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    """Resident memory of a live process in MiB (Linux /proc), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        return [
            int(c)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for c in (task / "children").read_text().split()
        ]
    except OSError:
        return []


def api_processes(server: int) -> dict[int, str]:
    """pid -> role of the API's processes: the server (one worker) or the supervisor and
    its spawned workers (multiprocessing's resource tracker is left out)."""
    found = {server: "api"}
    for c in children(server):
        try:
            cmd = Path(f"/proc/{c}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd:
            found[server] = "api_supervisor"
            found[c] = "api_worker"
    return found


def connections_by_process(pids: Sequence[int], port: int) -> dict[int, int]:
    """How many established TCP connections on ``port`` each process holds (server side)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":  # 01: ESTABLISHED
                inodes.add(f[9])
    held: dict[int, int] = {}
    for pid in pids:
        n = 0
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            fds = []
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            n += target.startswith("socket:[") and target[8:-1] in inodes
        held[pid] = n
    return held


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    log: Path


def start_api(port: int, workers: int, log: Path) -> Started:
    """``connectomedb serve --workers N`` in its own process, back once every worker has
    finished its startup (the log says so once per worker) and /health answers."""
    exe = Path(sys.executable).with_name("connectomedb")
    with log.open("wb") as f:
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL,
            stderr=f,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API stopped: {log.read_text()[-2000:]}")
        if log.read_text().count("Application startup complete") >= workers:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    return Started(proc, log)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"the API did not start: {log.read_text()[-2000:]}")


def start_job_worker(log: Path) -> Started:
    exe = Path(sys.executable).with_name("connectomedb")
    with log.open("wb") as f:
        proc = subprocess.Popen(
            [str(exe), "worker", "--queue", QUEUE, "--poll", "1"],
            stdout=subprocess.DEVNULL,
            stderr=f,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return Started(proc, log)


def stop(proc: subprocess.Popen[bytes], timeout: float = 90) -> int:
    """SIGTERM, then SIGKILL to it and its children if it has not exited in time."""
    kids = children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in [proc.pid, *kids]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return proc.wait(timeout=30)


# -- setup: the bench's lab, user, token and dataset ------------------------------------------


@dataclass
class Setup:
    token: str
    token_id: str
    read_ids: list[str]
    write_ids: list[str]


def setup() -> Setup:
    """The bench's lab, user (editor of the lab), a fresh token and its own small dataset
    for writes, loaded when missing; neuron ids to ask for on both datasets."""
    from connectomedb.errors import NotFound
    from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
    from connectomedb.loaders.writer import DatasetWriter
    from connectomedb.settings import Settings
    from connectomedb.store.access import SET_OWNER_IF_NONE, AccessRepository
    from connectomedb.store.driver import check_connectivity, init_schema, make_driver
    from connectomedb.store.graphdb import Store, make_async_driver

    s = Settings()
    d = make_driver(s)
    try:
        check_connectivity(d)
        recs, _, _ = d.execute_query(
            "MATCH (x:Dataset {id: $ds}) RETURN x.status AS status", ds=DATASET
        )
        if not recs or recs[0]["status"] != "ready":
            raise SystemExit(f"{DATASET} is not ready ({recs[0]['status'] if recs else 'none'})")

        async def access() -> dict[str, Any]:
            ad = make_async_driver(s)
            try:
                repo = AccessRepository(Store(ad, s.neo4j_database, 60))
                try:
                    await repo.user(USER)
                except NotFound:
                    await repo.create_user(None, USER, "load test")
                await repo.ensure_lab(LAB)
                await repo.add_member(None, LAB, USER, "editor")
                return await repo.create_token(None, "bench/load.py", USER)
            finally:
                await ad.close()

        token = asyncio.run(access())
        recs, _, _ = d.execute_query(
            "MATCH (x:Dataset {id: $ds}) RETURN x.status AS status", ds=WRITES
        )
        if not recs or recs[0]["status"] != "ready":
            init_schema(d, s.neo4j_database)
            src = SyntheticSource(
                SyntheticParams(n_neurons=2000, n_connections=20_000, n_types=20, seed=3), WRITES
            )
            DatasetWriter(d, s.neo4j_database).load(src)
        d.execute_query(SET_OWNER_IF_NONE, lab=LAB, dataset=WRITES)

        def sample(ds: str, n: int) -> list[str]:
            recs, _, _ = d.execute_query(
                """MATCH (n:Neuron {dataset: $ds}) WHERE n.in_degree > 0 AND n.out_degree > 0
                WITH n.id AS id, rand() AS r ORDER BY r LIMIT $n RETURN id""",
                ds=ds,
                n=n,
            )
            return [r["id"] for r in recs]

        return Setup(token["token"], token["id"], sample(DATASET, 2000), sample(WRITES, 500))
    finally:
        d.close()


def revoke(token_id: str) -> None:
    from connectomedb.settings import Settings
    from connectomedb.store.access import AccessRepository
    from connectomedb.store.graphdb import Store, make_async_driver

    s = Settings()

    async def run() -> None:
        ad = make_async_driver(s)
        try:
            await AccessRepository(Store(ad, s.neo4j_database, 60)).revoke_token(None, token_id)
        finally:
            await ad.close()

    asyncio.run(run())


def drain(job_ids: Sequence[str], timeout: float) -> None:
    """Wait until none of the jobs is queued or running, at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = settle_jobs(job_ids, cancel=False)
        if not states["queued"] and not states["running"]:
            return
        time.sleep(1)


def settle_jobs(job_ids: Sequence[str], cancel: bool) -> Counter[str]:
    """The states of the bench's jobs; with ``cancel``, queued ones are cancelled first
    (no worker ran them)."""
    from connectomedb.settings import Settings
    from connectomedb.store.driver import make_driver
    from connectomedb.store.jobs import JobQueue

    s = Settings()
    d = make_driver(s)
    try:
        q = """MATCH (j:Job) WHERE j.id IN $ids RETURN j.id AS id, j.status AS status"""
        recs, _, _ = d.execute_query(q, ids=list(job_ids))
        if cancel:
            jobs = JobQueue(d, s.neo4j_database)
            for r in recs:
                if r["status"] == "queued":
                    jobs.cancel(r["id"])
            recs, _, _ = d.execute_query(q, ids=list(job_ids))
        return Counter(r["status"] for r in recs)
    finally:
        d.close()


# -- the workload ---------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a request is built from: the setup, page cursors, and the jobs submitted."""

    s: Setup
    cursors: list[str | None]
    jobs: list[str] = field(default_factory=list)


Build = Callable[[httpx.AsyncClient, random.Random, Ctx], httpx.Request]


def gql(query: str, variables: Callable[[random.Random, Ctx], dict[str, Any]]) -> Build:
    def build(c: httpx.AsyncClient, rng: random.Random, ctx: Ctx) -> httpx.Request:
        return c.build_request(
            "POST", "/graphql", json={"query": query, "variables": variables(rng, ctx)}
        )

    return build


def rest_partners(c: httpx.AsyncClient, rng: random.Random, ctx: Ctx) -> httpx.Request:
    n, direction = rng.choice(ctx.s.read_ids), rng.choice(("upstream", "downstream"))
    return c.build_request("GET", f"/rest/datasets/{DATASET}/neurons/{n}/{direction}?first=10")


#: name -> (weight, request builder); weights are per cent of requests.
OPERATIONS: dict[str, tuple[int, Build]] = {
    "neuron_partners": (
        20,
        gql(NEURON_TOP, lambda rng, ctx: {"ds": DATASET, "id": rng.choice(ctx.s.read_ids)}),
    ),
    "rest_partners": (16, rest_partners),
    "connections": (
        14,
        gql(CONNECTIONS, lambda rng, ctx: {"ds": DATASET, "id": rng.choice(ctx.s.read_ids)}),
    ),
    "datasets": (14, gql(DATASETS, lambda rng, ctx: {})),
    "neurons_page": (
        8,
        gql(NEURONS_PAGE, lambda rng, ctx: {"ds": DATASET, "after": rng.choice(ctx.cursors)}),
    ),
    "motif_count": (
        6,
        gql(
            MOTIF_COUNT,
            lambda rng, ctx: {"ds": DATASET, "motif": MOTIF.format(id=rng.choice(ctx.s.read_ids))},
        ),
    ),
    "cell_type_connectivity": (
        5,
        gql(TYPE_CONN, lambda rng, ctx: {"ds": DATASET, "level": rng.choice(("CLASS", "TYPE"))}),
    ),
    "network_statistics": (3, gql(NETSTATS, lambda rng, ctx: {"ds": DATASET})),
    "annotate": (
        11,
        gql(
            ANNOTATE,
            lambda rng, ctx: {
                "ds": WRITES,
                "id": rng.choice(ctx.s.write_ids),
                "value": f"v{rng.randrange(1_000_000)}",
            },
        ),
    ),
    "submit_job": (3, gql(SUBMIT, lambda rng, ctx: {"ds": WRITES, "queue": QUEUE})),
}


async def send(
    client: httpx.AsyncClient, op: str, build: Build, rng: random.Random, ctx: Ctx
) -> Record:
    t = time.monotonic()
    try:
        r = await client.send(build(client, rng, ctx))
        body = r.content
        code = error_code(r.status_code, body)
    except httpx.HTTPError as e:
        return Record(op, t, time.monotonic(), f"CLIENT_{type(e).__name__}")
    end = time.monotonic()
    if op == "submit_job" and code is None:
        ctx.jobs.append(json.loads(body)["data"]["submitJob"]["id"])
    return Record(op, t, end, code)


def client_for(base: str, token: str) -> httpx.AsyncClient:
    """One user's client: one connection, kept alive, signed in."""
    return httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=120,
    )


async def collect_cursors(c: httpx.AsyncClient) -> list[str | None]:
    cursors: list[str | None] = [None]
    while len(cursors) < PAGES:
        r = await c.post(
            "/graphql",
            json={"query": NEURONS_PAGE, "variables": {"ds": DATASET, "after": cursors[-1]}},
        )
        info = r.json()["data"]["neurons"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        cursors.append(info["endCursor"])
    return cursors


@dataclass
class Window:
    summary: Summary
    records: list[Record]
    t0: float
    rss: dict[int, list[tuple[float, float]]]
    roles: dict[int, str]
    connections: dict[int, int]
    warmup: dict[str, Record]


async def run_window(
    base: str,
    port: int,
    s: Setup,
    users: int,
    seconds: float,
    ramp: float,
    sample_every: float,
    server_pid: int,
    extra: dict[int, str],
    seed: int,
    per_connection: int,
) -> tuple[Window, Ctx]:
    """Warm up, ramp the users up, record ``seconds`` of requests, stop the users."""
    async with client_for(base, s.token) as c:
        ctx = Ctx(s, await collect_cursors(c))
        rng = random.Random(seed)
        warmup = {op: await send(c, op, b, rng, ctx) for op, (_, b) in OPERATIONS.items()}
    names = list(OPERATIONS)
    weights = [OPERATIONS[n][0] for n in names]
    records: list[Record] = []
    t0 = time.monotonic() + ramp
    t1 = t0 + seconds

    async def user(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        await asyncio.sleep(ramp * i / users)
        while time.monotonic() < t1:
            # a user's session: a new connection, which the kernel hands to whichever
            # worker accepts it first, kept for per_connection requests
            async with client_for(base, s.token) as c:
                for _ in range(per_connection):
                    if time.monotonic() >= t1:
                        break
                    op = rng.choices(names, weights)[0]
                    records.append(await send(c, op, OPERATIONS[op][1], rng, ctx))

    rss: dict[int, list[tuple[float, float]]] = defaultdict(list)
    roles: dict[int, str] = {}
    connections: dict[int, int] = {}

    async def sampler() -> None:
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        while True:
            found = {**api_processes(server_pid), **extra}
            roles.update(found)
            for pid in found:
                m = rss_mb(pid)
                if m is not None:
                    rss[pid].append((time.monotonic() - t0, m))
            workers = [p for p, r in found.items() if r in ("api", "api_worker")]
            for pid, n in connections_by_process(workers, port).items():
                connections[pid] = connections.get(pid, 0) + n
            now = time.monotonic()
            if now >= t1:
                return
            await asyncio.sleep(min(sample_every, t1 - now))

    tasks = [asyncio.create_task(user(i)) for i in range(users)]
    await sampler()
    # requests still in flight at the window's end finish (a client that hangs up makes
    # the server log it) but are not counted
    _, late = await asyncio.wait(tasks, timeout=FINISH_S)
    for t in late:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return Window(
        summarize(records, t0, t1), records, t0, dict(rss), roles, connections, warmup
    ), ctx


def rss_lines(label: str, w: Window) -> Iterator[str]:
    for pid, series in sorted(w.rss.items(), key=lambda kv: (w.roles[kv[0]], kv[0])):
        mbs = [m for _, m in series]
        name = f"{label}_rss_{w.roles[pid]}_{pid}"
        yield f"{name}_start_mb: {mbs[0]:.0f}"
        yield f"{name}_end_mb: {mbs[-1]:.0f}"
        yield f"{name}_max_mb: {max(mbs):.0f}"
        yield f"{name}_growth_mb: {mbs[-1] - mbs[0]:+.0f}"
        yield f"{name}_samples: {len(mbs)} (last at {series[-1][0]:.0f} s)"
        if series[-1][0] >= 120:  # long windows: the last sample of each minute, to see a trend
            last: dict[int, float] = {}
            for at, m in series:
                last[int(at // 60)] = m
            yield f"{name}_by_minute_mb: {' '.join(f'{m:.0f}' for _, m in sorted(last.items()))}"


def log_problems(log: Path) -> int:
    """Lines of a server or worker log that report a failure or a replaced worker."""
    words = ("Traceback", "ERROR", "died", "hung", "Child process")
    return sum(any(w in line for w in words) for line in log.read_text().splitlines())


def machine_lines() -> Iterator[str]:
    yield f"date_utc: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}"
    yield f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    yield f"load_average_1_5_15: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def one_config(
    args: argparse.Namespace, s: Setup, workers: int, seconds: float, label: str, tmp: Path
) -> float:
    soak = label.startswith("soak")
    port = free_port()
    api = start_api(port, workers, tmp / f"api_{label}.log")
    job_worker = start_job_worker(tmp / "worker.log") if soak else None
    extra = {job_worker.proc.pid: "job_worker"} if job_worker else {}
    try:
        w, ctx = asyncio.run(
            run_window(
                f"http://127.0.0.1:{port}",
                port,
                s,
                args.users,
                seconds,
                args.ramp,
                args.sample_every,
                api.proc.pid,
                extra,
                args.seed,
                args.requests_per_connection,
            )
        )
    except BaseException:
        stop(api.proc)
        if job_worker:
            stop(job_worker.proc)
        raise
    api_rc = stop(api.proc)
    worker_rc = None
    if job_worker:
        drain(ctx.jobs, DRAIN_S)
        worker_rc = stop(job_worker.proc, timeout=120)
    print(f"{label}_users: {args.users}")
    for op, r in w.warmup.items():
        print(
            f"{label}_warmup_{op}_ms: {(r.end - r.start) * 1e3:.0f}"
            + (f" ({r.error})" if r.error else "")
        )
    for line in w.summary.lines(label):
        print(line)
    if len(w.connections) > 1:  # summed over the samples
        held = " ".join(f"{pid}:{n}" for pid, n in sorted(w.connections.items()))
        print(f"{label}_open_connections_per_worker: {held}")
    for line in rss_lines(label, w):
        print(line)
    if soak:
        minute = 60.0
        for k in range(math.ceil(w.summary.seconds / minute)):
            part = summarize(w.records, w.t0 + k * minute, w.t0 + min((k + 1) * minute, seconds))
            print(f"{label}_minute_{k + 1}_requests: {part.requests}")
            print(f"{label}_minute_{k + 1}_errors: {part.errors}")
    states = settle_jobs(ctx.jobs, cancel=True)  # the ones no worker ran are cancelled
    print(f"{label}_jobs_submitted: {len(ctx.jobs)}")
    for state, n in sorted(states.items()):
        print(f"{label}_jobs_{state}: {n}")
    # one worker: uvicorn ends by re-raising SIGTERM after its graceful shutdown (-15)
    shut = api.log.read_text().count("Application shutdown complete")
    print(f"{label}_api_exit_code: {api_rc}")
    print(f"{label}_api_workers_shut_down: {shut} of {workers}")
    print(f"{label}_api_log_problem_lines: {log_problems(api.log)}")
    if job_worker:
        print(f"{label}_job_worker_exit_code: {worker_rc}")
        print(f"{label}_job_worker_log_problem_lines: {log_problems(job_worker.log)}")
    sys.stdout.flush()
    return w.summary.per_s


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=float, default=60, help="seconds recorded per config")
    ap.add_argument("--users", type=int, default=32)
    ap.add_argument(
        "--workers",
        default="1,2",
        help="API worker counts in order, comma-separated (repeats run again)",
    )
    ap.add_argument("--soak", type=float, default=None, help="seconds of one soak window")
    ap.add_argument("--ramp", type=float, default=2.0, help="seconds over which users start")
    ap.add_argument("--sample-every", type=float, default=10.0, help="seconds between RSS samples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--requests-per-connection", type=int, default=20, help="requests of a user's session"
    )
    ap.add_argument("--keep-logs", type=Path, default=None, help="copy server logs here")
    args = ap.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    for line in machine_lines():
        print(line)
    s = setup()
    print(f"dataset: {DATASET}; writes: {WRITES} (lab {LAB}); users: {args.users}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.soak is not None:
                n = max(counts)
                one_config(args, s, n, args.soak, f"soak_w{n}", Path(tmp))
            else:
                # a count given twice (1,2,1) runs twice: w1, w2, w1_2; ratios of the means
                rates: dict[int, list[float]] = defaultdict(list)
                for n in counts:
                    label = f"w{n}" + (f"_{len(rates[n]) + 1}" if rates[n] else "")
                    rates[n].append(one_config(args, s, n, args.duration, label, Path(tmp)))
                if rates[1] and rates[2]:
                    ratio = statistics.mean(rates[2]) / statistics.mean(rates[1])
                    print(f"ratio_throughput_w2_over_w1: {ratio:.2f}")
            if args.keep_logs is not None:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for f in Path(tmp).iterdir():
                    (args.keep_logs / f.name).write_bytes(f.read_bytes())
            for line in machine_lines():
                print(f"end_{line}")
    finally:
        revoke(s.token_id)


if __name__ == "__main__":
    main()
