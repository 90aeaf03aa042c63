"""A routing URI (``neo4j://``, as for a cluster or Aura) against the local server: the
loader, the graph reader, a worker's job and the API all run through it unchanged; and
every statement that only reads goes out as a read, which a cluster sends to a
secondary."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import httpx
import neo4j
import numpy as np
import pytest

from connectomedb.errors import NotFound
from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource
from connectomedb.loaders.writer import DatasetWriter
from connectomedb.schema.jobs import JobRequest
from connectomedb.settings import Settings
from connectomedb.store.access import SET_VISIBILITY
from connectomedb.store.datasets import DatasetRepository, delete_dataset
from connectomedb.store.driver import make_driver, missing_schema
from connectomedb.store.graph import dataset_size, read_gap_junctions, read_graph
from connectomedb.store.jobs import JobQueue
from connectomedb.store.measurements import MeasurementWriter, ready_set
from connectomedb.store.runs import run_scores
from connectomedb.store.schedules import ScheduleQueue
from connectomedb.workers.worker import Worker
from tests.world import Client, LiveServer, World


def routed(settings: Settings) -> Settings:
    scheme, sep, rest = settings.uri.partition("://")
    assert sep and scheme in ("bolt", "neo4j"), settings.uri
    return settings.model_copy(update={"neo4j_uri": f"neo4j://{rest}"})


def test_everything_runs_through_a_routing_uri(
    driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    r = routed(settings)
    assert r.uri.startswith("neo4j://")
    d = make_driver(r)
    try:
        d.verify_connectivity()
        # a routing table came back from the server: the driver routes by it
        assert (
            d.execute_query("RETURN 1 AS one", routing_=neo4j.RoutingControl.READ).records[0]["one"]
            == 1
        )
        src = SyntheticSource(SyntheticParams(n_neurons=60, n_connections=400, seed=3), dataset_id)
        DatasetWriter(d, r.neo4j_database).load(src)
        d.execute_query(SET_VISIBILITY, dataset=dataset_id, visibility="public")
        g = read_graph(d, r.neo4j_database, dataset_id)
        # the same graph as through the plain bolt driver
        plain = read_graph(driver, settings.neo4j_database, dataset_id)
        assert g.ids == plain.ids and len(g.ids) == 60
        assert np.array_equal(g.pre, plain.pre) and np.array_equal(g.post, plain.post)

        queue = f"q_route_{dataset_id}"
        q = JobQueue(d, r.neo4j_database)
        job = q.submit(JobRequest(dataset_id, "probe", {}, None, 1, queue))
        Worker(d, r.neo4j_database, "routing-test", 60, 0.1, queue).run(exit_when_idle=True)
        done = q.job(job["id"])
        assert done["status"] == "succeeded", done
    finally:
        d.close()

    with LiveServer(r) as url:
        c = Client(url)
        got = c(
            """query($ds: ID!) { dataset(id: $ds) { neuronCount connectionCount }
            networkStatistics(dataset: $ds) { neurons connections } }""",
            ds=dataset_id,
        )
    assert got["dataset"]["neuronCount"] == got["networkStatistics"]["neurons"] == 60
    assert got["networkStatistics"]["connections"] == int((g.pre != g.post).sum())


# -- every read goes out as a read --------------------------------------------------------
#
# Drivers that record each statement they send and whether it went as a read (routing
# READ, a read session or execute_read); the server's own EXPLAIN then says which of the
# statements only read (query type "r"). Every one of those sent on its own (execute_query,
# session.run) must have gone as a read, or a cluster would send it to the leader. A
# transaction function given to execute_write is a write by its author's choice (it
# locks, then reads, then writes, or writes only when it finds something to do): its
# reads are not counted.


@dataclass
class Sent:
    text: str
    params: dict[str, Any]
    read: bool
    #: inside a transaction function given to execute_write
    in_write_tx: bool = False


class Recorder(list[Sent]):
    def add(
        self, query: Any, params: dict[str, Any] | None, read: bool, in_write_tx: bool = False
    ) -> None:
        text = query.text if isinstance(query, neo4j.Query) else str(query)
        self.append(Sent(text, dict(params or {}), read, in_write_tx))


def _params(parameters: dict[str, Any] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Query parameters: the dict and the keywords that are not driver options (``x_``)."""
    return {**(parameters or {}), **{k: v for k, v in kwargs.items() if not k.endswith("_")}}


class _Proxy:
    def __init__(self, inner: Any, rec: Recorder) -> None:
        self._inner, self._rec = inner, rec

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class RecordingTx(_Proxy):
    def __init__(self, inner: Any, rec: Recorder, read: bool) -> None:
        super().__init__(inner, rec)
        self._read = read

    def run(self, query: Any, parameters: dict[str, Any] | None = None, **kw: Any) -> Any:
        self._rec.add(query, _params(parameters, kw), self._read, not self._read)
        return self._inner.run(query, parameters, **kw)


class AsyncRecordingTx(RecordingTx):
    async def run(self, query: Any, parameters: dict[str, Any] | None = None, **kw: Any) -> Any:  # type: ignore[override]
        self._rec.add(query, _params(parameters, kw), self._read, not self._read)
        return await self._inner.run(query, parameters, **kw)


class RecordingSession(_Proxy):
    def __init__(self, inner: Any, rec: Recorder, read: bool) -> None:
        super().__init__(inner, rec)
        self._read = read

    def __enter__(self) -> RecordingSession:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._inner.__exit__(*exc)

    def run(self, query: Any, parameters: dict[str, Any] | None = None, **kw: Any) -> Any:
        self._rec.add(query, _params(parameters, kw), self._read)
        return self._inner.run(query, parameters, **kw)

    def _wrap(self, fn: Any, read: bool) -> Any:
        @functools.wraps(fn)  # keeps unit_of_work's timeout
        def work(tx: Any, *a: Any, **k: Any) -> Any:
            return fn(RecordingTx(tx, self._rec, read), *a, **k)

        return work

    def execute_read(self, fn: Any, *a: Any, **k: Any) -> Any:
        return self._inner.execute_read(self._wrap(fn, True), *a, **k)

    def execute_write(self, fn: Any, *a: Any, **k: Any) -> Any:
        return self._inner.execute_write(self._wrap(fn, False), *a, **k)


class AsyncRecordingSession(RecordingSession):
    async def __aenter__(self) -> AsyncRecordingSession:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._inner.__aexit__(*exc)

    async def run(self, query: Any, parameters: dict[str, Any] | None = None, **kw: Any) -> Any:  # type: ignore[override]
        self._rec.add(query, _params(parameters, kw), self._read)
        return await self._inner.run(query, parameters, **kw)

    def _wrap(self, fn: Any, read: bool) -> Any:
        @functools.wraps(fn)
        async def work(tx: Any, *a: Any, **k: Any) -> Any:
            return await fn(AsyncRecordingTx(tx, self._rec, read), *a, **k)

        return work

    async def execute_read(self, fn: Any, *a: Any, **k: Any) -> Any:  # type: ignore[override]
        return await self._inner.execute_read(self._wrap(fn, True), *a, **k)

    async def execute_write(self, fn: Any, *a: Any, **k: Any) -> Any:  # type: ignore[override]
        return await self._inner.execute_write(self._wrap(fn, False), *a, **k)


def _routing_read(routing: Any) -> bool:
    return routing in (neo4j.RoutingControl.READ, "r")


class RecordingDriver(_Proxy):
    def execute_query(
        self, query: Any, parameters_: dict[str, Any] | None = None, **kw: Any
    ) -> Any:
        self._rec.add(query, _params(parameters_, kw), _routing_read(kw.get("routing_")))
        return self._inner.execute_query(query, parameters_, **kw)

    def session(self, **config: Any) -> RecordingSession:
        read = config.get("default_access_mode") == neo4j.READ_ACCESS
        return RecordingSession(self._inner.session(**config), self._rec, read)


class AsyncRecordingDriver(_Proxy):
    async def execute_query(
        self, query: Any, parameters_: dict[str, Any] | None = None, **kw: Any
    ) -> Any:
        self._rec.add(query, _params(parameters_, kw), _routing_read(kw.get("routing_")))
        return await self._inner.execute_query(query, parameters_, **kw)

    def session(self, **config: Any) -> AsyncRecordingSession:
        read = config.get("default_access_mode") == neo4j.READ_ACCESS
        return AsyncRecordingSession(self._inner.session(**config), self._rec, read)


def query_type(driver: neo4j.Driver, settings: Settings, sent: Sent) -> str:
    """What the server says a statement does: r (only reads), rw, w or s (schema)."""
    if sent.text.lstrip().upper().startswith("SHOW "):
        return "r"  # SHOW commands cannot be EXPLAINed; they only read
    with driver.session(database=settings.neo4j_database) as s:
        return s.run("EXPLAIN " + sent.text, sent.params).consume().query_type or "?"


def reads_sent_as_writes(
    driver: neo4j.Driver, settings: Settings, rec: Recorder
) -> tuple[list[str], int, int]:
    """(texts of read-only statements sent as writes, read-only statements, writes)."""
    wrong: list[str] = []
    reads = writes = 0
    kinds: dict[str, str] = {}  # a text's query type does not depend on its parameters
    for sent in rec:
        if sent.text not in kinds:
            kinds[sent.text] = query_type(driver, settings, sent)
        kind = kinds[sent.text]
        if kind == "r":
            reads += 1
            if not sent.read and not sent.in_write_tx:
                wrong.append(" ".join(sent.text.split())[:160])
        else:
            writes += 1
            assert not sent.read, f"a {kind} statement went as a read: {sent.text[:160]}"
    return sorted(set(wrong)), reads, writes


def test_library_reads_go_as_reads(
    driver: neo4j.Driver, settings: Settings, dataset_id: str
) -> None:
    """A load, the dataset catalogue, the graph reader, a worker's job and the schema
    check through a recording driver: each statement that only reads went as a read."""
    rec = Recorder()
    d: Any = RecordingDriver(driver, rec)
    db = settings.neo4j_database
    src = SyntheticParams(n_neurons=40, n_connections=200, seed=5, synapses=True)
    DatasetWriter(d, db).load(SyntheticSource(src, dataset_id))
    repo = DatasetRepository(d, db)
    assert dataset_id in [x.id for x in repo.list()]
    assert repo.get(dataset_id).id == dataset_id and repo.exists(dataset_id)
    g = read_graph(d, db, dataset_id)
    assert len(g.ids) == 40
    read_gap_junctions(d, db, g)
    assert dataset_size(d, db, dataset_id)[0] == 40
    assert run_scores(d, db, dataset_id, "no-such-run") is None
    with pytest.raises(NotFound):
        ready_set(d, db, dataset_id, "no-such-set")
    w = MeasurementWriter(d, db)
    assert w.dataset_status(dataset_id) == "ready" and w.get(dataset_id, "none") is None
    assert len(w.neurons(dataset_id).eid) == 40
    queue = f"q_read_{dataset_id}"
    q = JobQueue(d, db)
    job = q.submit(JobRequest(dataset_id, "probe", {}, None, 1, queue))
    Worker(d, db, "routing-read-test", 60, 0.1, queue).run(exit_when_idle=True)
    assert q.job(job["id"])["status"] == "succeeded"
    ScheduleQueue(d, db).due_ids()
    assert not missing_schema(d, db)
    assert delete_dataset(d, dataset_id, db)

    wrong, reads, writes = reads_sent_as_writes(driver, settings, rec)
    assert wrong == []
    assert reads >= 15 and writes >= 10, (reads, writes)


API_READS = [
    ("{ datasets { id neuronCount } }", {}),
    (
        """query($ds: ID!) { dataset(id: $ds) { id measurementSets { id } }
        neurons(dataset: $ds, first: 3, filter: {nameStartsWith: "AV"}) { totalCount
          edges { node { id upstream(first: 2) { edges { cursor node { synapseCount } } }
            downstream(first: 2) { pageInfo { endCursor } }
            gapJunctions(first: 2) { edges { count } }
            synapses(first: 2) { edges { node { id } } }
            annotations { key } predictions { label } embedding { vector }
            anomalyScore { score } } } } }""",
        {},
    ),
    (
        """query($ds: ID!) { connections(dataset: $ds, pre: ["AVAL"], first: 3) {
          edges { node { post } } }
        all: connections(dataset: $ds, first: 3) { edges { node { post } } }
        adjacency(dataset: $ds, first: 5) { pre }
        paths(dataset: $ds, source: "ASHL", target: "AVAL", maxHops: 2) { hops }
        cellTypeConnectivity(dataset: $ds) { entries { synapses } }
        networkStatistics(dataset: $ds) { neurons reciprocity }
        reciprocityByGroup(dataset: $ds) { entries { pairs } }
        jobs(dataset: $ds) { edges { node { id } } }
        modelRuns(dataset: $ds) { edges { node { id } } }
        schedules(dataset: $ds) { id } me { id labs { lab } } }""",
        {},
    ),
]


def test_api_reads_go_as_reads(
    world: World, driver: neo4j.Driver, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's reads (GraphQL, /rest, /health) through a recording async driver: each
    statement that only reads went as a read; an annotation, a write, as a write."""
    from connectomedb.service import app as app_module

    rec = Recorder()
    real = app_module.make_async_driver
    monkeypatch.setattr(
        app_module, "make_async_driver", lambda s: AsyncRecordingDriver(real(s), rec)
    )
    with LiveServer(settings) as url:
        c = Client(url, world.tokens["victor"])
        for query, variables in API_READS:
            c(query, ds=world.cook, **variables)
        h = {"Authorization": f"Bearer {world.tokens['victor']}"}
        base = f"{url}/rest/datasets/{world.cook}/neurons"
        for path in ("?first=3", "/AVAL", "/AVAL/upstream?first=3"):
            assert httpx.get(base + path, headers=h).status_code == 200, path
        assert httpx.get(f"{url}/health").status_code == 200
        Client(url, world.tokens["carol"])(
            """mutation($ds: ID!) { annotateNeuron(dataset: $ds, neuron: "AVAL",
            key: "routing_test", value: "x") { id } }""",
            ds=world.cook,
        )
    wrong, reads, writes = reads_sent_as_writes(driver, settings, rec)
    assert wrong == []
    assert reads >= 20 and writes >= 1, (reads, writes)
