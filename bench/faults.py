"""Neo4j killed under API load: what clients see while it is down and how soon the API
recovers, without restarting the API.

A local Neo4j of its own (a temporary home, free ports; the jars linked from the main
home when built) is started and a dataset loaded (Cook 2019 by default, public). Then
``connectomedb serve`` (a process of its own, ``CONNECTOMEDB_QUERY_TIMEOUT_S`` set) is
read by ``--users`` clients in a closed loop (a neuron with its top partners over
GraphQL, a page of neurons over ``/rest``, ``/health``). After ``--before`` seconds Neo4j
is killed with SIGKILL (the
server's whole process group); ``--down`` seconds later it is started again; the clients go on
until every kind of request has succeeded again, and ``--after`` seconds more.

Prints ``name: value`` lines: requests and errors by phase (before, down, recovering,
after) and code, the longest request while Neo4j was down, and the time from the
restart (and from the kill) to the first success of each kind and of all kinds.

Usage: python bench/faults.py [--users 8] [--before 10] [--down 15] [--after 10]
       [--source cook2019] [--timeout 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connectomedb import localneo4j
from connectomedb.settings import Settings

#: what the clients ask: (kind, method, path, GraphQL body or None)
NEURON = """query($ds: ID!, $id: ID!) { neuron(dataset: $ds, id: $id) { id name type
  upstream(first: 10) { edges { node { synapseCount neuron { id } } } } } }"""
KINDS = ("graphql_neuron", "rest_neurons", "health")


@contextmanager
def own_server(base: Settings, home: Path) -> Iterator[Settings]:
    """A Neo4j of its own under ``home`` (512m heap and page cache), stopped after."""
    s = localneo4j.side_settings(base, home)
    try:
        localneo4j.start(s)
        yield s
    finally:
        localneo4j.stop(s)


def kill_server(s: Settings) -> float:
    """SIGKILL the server's whole process group (the launcher and its JVM); returns
    when, on the monotonic clock."""
    group = localneo4j.status(s)["pid"]
    t = time.monotonic()
    os.killpg(group, signal.SIGKILL)
    return t


def env_for(s: Settings, query_timeout_s: float) -> dict[str, str]:
    """The environment of a CLI process that uses the server ``s``."""
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOMEDB_NEO4J_URI"}
    env.update(
        {
            "CONNECTOMEDB_HOME": str(s.home),
            "CONNECTOMEDB_BOLT_PORT": str(s.bolt_port),
            "CONNECTOMEDB_HTTP_PORT": str(s.http_port),
            "CONNECTOMEDB_QUERY_TIMEOUT_S": str(query_timeout_s),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def cli(env: dict[str, str], *args: str) -> None:
    exe = Path(sys.executable).with_name("connectomedb")
    subprocess.run([str(exe), *args], env=env, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def api(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``connectomedb serve`` on a free port, until it answers /health; stopped after."""
    port = localneo4j.free_port()
    exe = Path(sys.executable).with_name("connectomedb")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the API exited with {proc.returncode}")
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:  # not killed already
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Answer:
    kind: str
    started: float
    seconds: float
    status: int | None  # None: no HTTP answer (the client gave up or lost the connection)
    code: str  # "OK", an error code, or how the client failed


@dataclass
class Drill:
    """What happened, with the times of the kill and the restart (monotonic clock)."""

    answers: list[Answer] = field(default_factory=list)
    killed: float = 0.0
    restarted: float = 0.0  # when the restart was begun
    up: float = 0.0  # when the restarted server answered
    lock: threading.Lock = field(default_factory=threading.Lock)

    def phase(self, a: Answer) -> str:
        """before: answered before the kill; down: in flight at some time between the
        kill and the restarted server's answering; after: started after that."""
        if a.started + a.seconds < self.killed:
            return "before"
        if a.started < self.up:
            return "down"
        return "after"

    def recovered(self) -> dict[str, float | None]:
        """Seconds from the server's answering again to the first success of each kind
        started after it (None: none)."""
        out: dict[str, float | None] = {}
        for k in KINDS:
            ok = [a.started + a.seconds for a in self.answers if a.kind == k and a.code == "OK"]
            ok = [t for t in ok if t >= self.up]
            out[k] = min(ok) - self.up if ok else None
        return out


def classify(kind: str, r: httpx.Response) -> str:
    """OK, or the error code a client reads off the answer (HTTP_<status> when none)."""
    if kind == "health":
        return "OK" if r.status_code == 200 else f"HTTP_{r.status_code}"
    try:
        body: Any = r.json()
    except ValueError:
        return f"HTTP_{r.status_code}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return str(errors[0].get("extensions", {}).get("code", "NO_CODE"))
    return "OK" if r.status_code == 200 else f"HTTP_{r.status_code}"


def user(url: str, ds: str, ids: list[str], i: int, stop: threading.Event, d: Drill) -> None:
    """One client in a closed loop over the kinds, with a 60 s client timeout."""
    with httpx.Client(base_url=url, timeout=60) as c:
        n = i
        while not stop.is_set():
            kind = KINDS[n % len(KINDS)]
            nid = ids[n % len(ids)]
            n += 1
            t = time.monotonic()
            try:
                if kind == "graphql_neuron":
                    body = {"query": NEURON, "variables": {"ds": ds, "id": nid}}
                    r = c.post("/graphql", json=body)
                elif kind == "rest_neurons":
                    r = c.get(f"/rest/datasets/{ds}/neurons", params={"first": 50})
                else:
                    r = c.get("/health")
                status: int | None = r.status_code
                code = classify(kind, r)
            except httpx.HTTPError as e:
                status, code = None, f"CLIENT_{type(e).__name__}"
            with d.lock:
                d.answers.append(Answer(kind, t, time.monotonic() - t, status, code))


def drill(
    s: Settings,
    url: str,
    ds: str,
    ids: list[str],
    users: int = 8,
    before_s: float = 10,
    down_s: float = 15,
    after_s: float = 10,
) -> Drill:
    """Run the clients, kill Neo4j (SIGKILL) after ``before_s``, start it again
    ``down_s`` later, and stop the clients ``after_s`` after every kind succeeded again
    (or 120 s after the restart)."""
    d = Drill()
    stop = threading.Event()
    threads = [
        threading.Thread(target=user, args=(url, ds, ids, i, stop, d), daemon=True)
        for i in range(users)
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(before_s)
        d.killed = kill_server(s)
        time.sleep(down_s)
        d.restarted = time.monotonic()
        localneo4j.start(s)
        d.up = time.monotonic()
        deadline = d.up + 120
        while time.monotonic() < deadline and None in d.recovered().values():
            time.sleep(0.5)
        time.sleep(after_s)
    finally:
        stop.set()
        for t in threads:
            t.join(90)
    return d


def report(d: Drill) -> list[str]:
    lines = []
    by_phase: dict[str, Counter[str]] = {}
    for a in d.answers:
        by_phase.setdefault(d.phase(a), Counter())[a.code] += 1
    for phase in ("before", "down", "after"):
        c = by_phase.get(phase, Counter())
        lines.append(f"{phase}_requests: {sum(c.values())}")
        lines.append(f"{phase}_errors: {sum(v for k, v in c.items() if k != 'OK')}")
        for code, v in sorted(c.items()):
            if code != "OK":
                lines.append(f"{phase}_errors_{code}: {v}")
    down = sorted(
        (a for a in d.answers if d.phase(a) == "down"), key=lambda a: a.seconds, reverse=True
    )
    for i, a in enumerate(down[:5]):
        name = "down_longest_request_s" if i == 0 else f"down_longest_{i + 1}_s"
        lines.append(
            f"{name}: {a.seconds:.2f} ({a.kind}, {a.code}, started {a.started - d.killed:+.1f} s"
            " from the kill)"
        )
    lines.append(f"server_down_s: {d.up - d.killed:.1f} (restart took {d.up - d.restarted:.1f})")
    rec = d.recovered()
    for k, v in rec.items():
        lines.append(f"recovered_{k}_s: {'never' if v is None else f'{v:.2f}'}")
    if None not in rec.values():
        lines.append(f"recovered_all_s: {max(v for v in rec.values() if v is not None):.2f}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--before", type=float, default=10)
    ap.add_argument("--down", type=float, default=15)
    ap.add_argument("--after", type=float, default=10)
    ap.add_argument("--source", default="cook2019")
    ap.add_argument("--timeout", type=float, default=20, help="CONNECTOMEDB_QUERY_TIMEOUT_S")
    a = ap.parse_args()
    base = Settings()
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp, own_server(base, Path(tmp)) as s:
        env = env_for(s, a.timeout)
        cli(env, "db", "init")
        cli(env, "load", a.source, "--public", "--no-warm")
        from connectomedb.store.driver import make_driver

        with make_driver(s) as drv:
            recs, _, _ = drv.execute_query(
                "MATCH (d:Dataset) WITH d LIMIT 1 MATCH (n:Neuron {dataset: d.id}) "
                "RETURN d.id AS ds, collect(n.id)[..50] AS ids",
                database_=s.neo4j_database,
            )
        ds, ids = recs[0]["ds"], recs[0]["ids"]
        print(f"dataset: {ds}; users: {a.users}; query_timeout_s: {a.timeout}")
        with api(env) as (url, _):
            d = drill(s, url, ds, ids, a.users, a.before, a.down, a.after)
        for line in report(d):
            print(line)


if __name__ == "__main__":
    main()
