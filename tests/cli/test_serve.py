"""``connectomedb serve`` (with uvicorn replaced, and as a real server with two worker
processes) and ``connectomedb schema export``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
import uvicorn

from connectomedb.settings import Settings
from connectomedb.store.access import SET_OWNER_IF_NONE, SET_VISIBILITY
from tests.cli.conftest import cli
from tests.world import free_port


def test_serve_prints_the_url_and_an_example(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    res = cli("serve", "--host", "127.0.0.1", "--port", "8765", "--example", "cook")
    assert res.exit_code == 0, res.output
    assert "GraphQL API on http://127.0.0.1:8765/graphql" in res.stdout
    assert "curl -s http://127.0.0.1:8765/graphql" in res.stdout
    assert 'neuron(dataset: \\"cook\\", id: \\"AVAL\\")' in res.stdout
    assert (started["host"], started["port"]) == ("127.0.0.1", 8765)
    assert started["app"] is not None


def test_serve_with_workers_hands_uvicorn_the_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    res = cli("serve", "--port", "8765", "--workers", "3")
    assert res.exit_code == 0, res.output
    # an import string, not an app: each worker builds its own settings and driver
    assert started["app"] == "connectomedb.service.app:create_app"
    assert (started["factory"], started["workers"], started["port"]) == (True, 3, 8765)


def test_serve_refuses_zero_workers() -> None:
    res = cli("serve", "--workers", "0")
    assert res.exit_code == 2


def test_schema_export_writes_the_sdl(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    res = cli("schema", "export", "--output", str(out))
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"wrote {out}"
    sdl = out.read_text(encoding="utf-8")
    assert "type Query {" in sdl
    assert "neuron(" in sdl


# -- several worker processes, as a real server --------------------------------------------

#: The four-neuron bundle of tests/factories.py: name and upstream partners (id, synapses).
UPSTREAM_OF = {
    "101": ("KC_a", [("301", 5)]),
    "102": ("KC_b", [("301", 4)]),
    "201": ("MBON_1", [("101", 12), ("102", 7)]),
    "301": ("APL", [("201", 3)]),
}
NEURON = """query($ds: ID!, $id: ID!) { neuron(dataset: $ds, id: $id) {
  name upstream { edges { node { synapseCount neuron { id } } } } } }"""
STATS = """query($ds: ID!) { networkStatistics(dataset: $ds) {
  neurons connections reciprocalPairs } }"""


def children(pid: int) -> set[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def established_on(port: int) -> set[str]:
    """Socket inodes of the server side of established TCP connections on ``port``."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":  # 01: ESTABLISHED
                inodes.add(f[9])
    return inodes


def owners(pids: set[int], inodes: set[str]) -> set[int]:
    """Those of ``pids`` holding one of the sockets ``inodes`` open."""
    held = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:  # closed since it was listed
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held.add(pid)
    return held


async def ask_over_many_connections(
    url: str, ds: str, n_clients: int
) -> tuple[list[tuple[str, httpx.Response]], list[httpx.AsyncClient]]:
    """Open ``n_clients`` connections one after another (each accept goes to whichever
    worker wins it), then send every neuron's query over each of them at once. Returns
    (neuron id, response) pairs and the clients, still connected (the caller closes them)."""
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(n_clients)]
    for c in clients:
        assert (await c.get("/health")).status_code == 200
    asks = [(c, n) for c in clients for n in sorted(UPSTREAM_OF)]
    answers = await asyncio.gather(
        *(
            c.post("/graphql", json={"query": NEURON, "variables": {"ds": ds, "id": n}})
            for c, n in asks
        )
    )
    return [(n, r) for (_, n), r in zip(asks, answers, strict=True)], clients


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the Linux process table")
def test_serve_with_two_workers_answers_from_both(
    driver: neo4j.Driver, settings: Settings, small_dataset: str
) -> None:
    driver.execute_query(SET_OWNER_IF_NONE, lab=settings.default_lab, dataset=small_dataset)
    driver.execute_query(SET_VISIBILITY, dataset=small_dataset, visibility="public")
    port = free_port()
    exe = Path(sys.executable).with_name("connectomedb")
    proc = subprocess.Popen(
        [str(exe), "serve", "--workers", "2", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    log: list[str] = []

    def read_log() -> None:
        for line in proc.stderr or ():
            log.append(line)

    threading.Thread(target=read_log, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    try:
        # both workers up (one line each), else all connections would go to the first
        deadline = time.monotonic() + 120  # two interpreters importing the app on a busy box
        while sum("Application startup complete" in line for line in log) < 2:
            assert proc.poll() is None, "".join(log)
            assert time.monotonic() < deadline, "".join(log)
            time.sleep(0.2)

        async def run() -> set[int]:
            answers, clients = await ask_over_many_connections(url, small_dataset, 24)
            try:
                for n, r in answers:
                    assert r.status_code == 200, r.text
                    got = r.json()["data"]["neuron"]
                    partners = [
                        (e["node"]["neuron"]["id"], e["node"]["synapseCount"])
                        for e in got["upstream"]["edges"]
                    ]
                    assert (got["name"], sorted(partners)) == UPSTREAM_OF[n]
                # a statistic asked of both workers at once: computed by each worker that
                # finds it missing, stored once (counted below)
                stats = await asyncio.gather(
                    *(
                        c.post(
                            "/graphql", json={"query": STATS, "variables": {"ds": small_dataset}}
                        )
                        for c in clients
                    )
                )
                for r in stats:
                    assert r.json() == {
                        "data": {
                            "networkStatistics": {
                                "neurons": 4,
                                "connections": 5,
                                "reciprocalPairs": 0,
                            }
                        }
                    }
                # the open connections are the workers' accepted sockets: who holds them
                return owners(children(proc.pid), established_on(port))
            finally:
                for c in clients:
                    await c.aclose()

        served_by = asyncio.run(run())
        assert len(served_by) == 2, (served_by, children(proc.pid))
        recs, _, _ = driver.execute_query(
            "MATCH (a:Aggregate {dataset: $ds}) RETURN a.kind AS kind", ds=small_dataset
        )
        assert [r["kind"] for r in recs] == ["network_statistics"]
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    assert rc == 0
    for pid in served_by:  # the supervisor waited for its workers
        assert not Path(f"/proc/{pid}").exists()
