"""Schema-driven fuzzing of the GraphQL API: operations generated from the schema by
hypothesis-graphql (queries and mutations, valid ones and ones with one violation), sent
over HTTP anonymously and with the tokens of two signed-in users who are not site
admins. Every answer must be coded: no HTTP 500, every error with ``extensions.code``
among the client codes, none ``INTERNAL``.

The operations name real things as often as junk: the ID scalar draws from the ids of two
small datasets (one public, of the users' own lab; one private, of another lab), their
neurons, the labs, the users, a queued job and spare tokens; strings from motif texts,
cron lines and filter values; JSON job parameters from the parameter names of the job
kinds. Mutations change only what this run made: jobs and schedules go to a queue of the
run's own (no worker serves it), and the memberships and visibility that a lab admin may
change are put back before each operation. Everything is deleted afterwards.

The generator is shared with ``tests/service/test_fuzz.py`` (which runs a bounded number
of operations in CI); this script runs the full count against ``connectomedb serve`` in a
process of its own, on the Neo4j of ``Settings()``.

Prints ``name: value`` lines: operations, answers without errors, errors by code, the
operations by caller and kind, and each failure with its operation text.

Usage: python bench/fuzz.py [--operations 10000] [--seed 0] [--negative 0.2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
import httpx
import neo4j
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from connectomedb.service.errors import CLIENT_CODES
from connectomedb.service.schema import schema_sdl
from connectomedb.settings import Settings

#: who sends an operation: anonymous, an editor and an admin of the public dataset's lab
CALLERS = ("anonymous", "editor", "manager")

#: strings that mean something to some argument (motif text, cron, filter values, keys)
STRINGS = (
    "A -> B",
    "A -> B [synapse_count >= 2]\nB -> C\nA !> C",
    'A -> B; A.type = "KC"; A.type != B.type',
    "A -> B\nB -> A",
    "A -> B\nB -> C\nC -> D\nD -> A",
    "A -> B [weight > 1000000]",
    "0 3 * * *",
    "*/5 * * * *",
    "0 0 1 1 * 30",
    "KC",
    "MBON",
    "APL",
    "acetylcholine",
    "note",
    "",
    " ",
)

#: keys of job parameters (the kinds' parameter names and a few near misses)
PARAM_KEYS = (
    "seed",
    "samples",
    "size",
    "seconds",
    "steps",
    "epochs",
    "dim",
    "min_weight",
    "null_model",
    "level",
    "measurements",
    "filter",
    "type",
    "hidden",
    "lr",
)


@dataclass(frozen=True)
class Cast:
    """What one fuzzing run made: two datasets (public of the home lab, private of the
    other), two labs, two signed-in users (editor and admin of the home lab, strangers to
    the other), a viewer of the other lab, a site admin (whom the fuzzing never signs in
    as), a queued job on each dataset, spare tokens, and the queue its jobs go to."""

    tag: str
    public: str
    private: str
    home_lab: str
    other_lab: str
    users: dict[str, str]
    tokens: dict[str, str]
    spare_tokens: tuple[str, ...]
    jobs: tuple[str, ...]
    neurons: tuple[str, ...]
    queue: str

    def ids(self) -> list[str]:
        return [
            self.public,
            self.private,
            self.home_lab,
            self.other_lab,
            *self.users.values(),
            *self.spare_tokens,
            *self.jobs,
            *self.neurons,
        ]


# -- the datasets, labs and users ------------------------------------------------------

#: the small dataset's neurons: (bodyId, instance, type, predictedNt)
NEURONS = [(100 + i, f"n{i:02d}", t, nt) for i, (t, nt) in enumerate(
    [("KC", "acetylcholine")] * 6 + [("MBON", "glutamate")] * 4 + [("APL", "gaba")] * 2
    + [("PN", "acetylcholine")] * 4
)]  # fmt: skip


def write_bundle(root: Path, rng: random.Random) -> Path:
    """A small neuPrint bundle: 16 neurons of 4 types, about 60 connections, synapses of
    the first dozen."""
    import csv

    root.mkdir(parents=True, exist_ok=True)
    ids = [n[0] for n in NEURONS]
    pairs = sorted({(a, b) for a in ids for b in ids if rng.random() < 0.25})
    conns = [(a, b, rng.randint(1, 12)) for a, b in pairs]
    files: dict[str, tuple[list[str], list[Any]]] = {
        "neurons.csv": (["bodyId", "instance", "type", "predictedNt"], NEURONS),
        "connections.csv": (["bodyId_pre", "bodyId_post", "weight"], conns),
        "synapses.csv": (
            ["bodyId_pre", "bodyId_post", "x", "y", "z", "confidence"],
            [(a, b, float(k), 1.0, 2.0, 0.9) for k, (a, b, _) in enumerate(conns[:12])],
        ),
    }
    for name, (header, rows) in files.items():
        with open(root / name, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    return root


RESET = """
MATCH (home:Lab {id: $home}), (e:User {id: $editor}), (m:User {id: $manager}),
      (d:Dataset {id: $public})
MERGE (e)-[re:MEMBER_OF]->(home) SET re.role = 'editor'
MERGE (m)-[rm:MEMBER_OF]->(home) SET rm.role = 'admin'
SET d.visibility = 'public'
WITH home, d
CALL (home) { MATCH (u:User)-[r:MEMBER_OF]->(home) WHERE NOT u.id IN [$editor, $manager]
              DELETE r }
CALL (d) { MATCH (d)-[s:SHARED_WITH]->() DELETE s }
"""


def reset(driver: neo4j.Driver, cast: Cast, database: str = "neo4j") -> None:
    """Puts back what a lab admin's mutations may have changed: both users' roles in the
    home lab, nobody else in it, the public dataset public and shared with no lab."""
    driver.execute_query(
        RESET,
        home=cast.home_lab,
        editor=cast.users["editor"],
        manager=cast.users["manager"],
        public=cast.public,
        database_=database,
    )


@contextlib.contextmanager
def prepared(driver: neo4j.Driver, settings: Settings, tag: str | None = None) -> Iterator[Cast]:
    """A :class:`Cast` loaded into the store, and deleted afterwards (its datasets with their
    jobs, schedules, annotations and cached aggregates; its users, tokens and labs, and the
    audit events of its users)."""
    import asyncio

    from connectomedb.loaders.csvbundle import NeuprintBundle
    from connectomedb.loaders.writer import DatasetWriter
    from connectomedb.schema.jobs import JobRequest
    from connectomedb.store.access import SET_OWNER_IF_NONE, AccessRepository
    from connectomedb.store.datasets import delete_dataset
    from connectomedb.store.graphdb import Store, make_async_driver
    from connectomedb.store.jobs import JobQueue

    tag = tag or uuid.uuid4().hex[:8]
    db = settings.neo4j_database
    public, private = f"t_fuzz_pub_{tag}", f"t_fuzz_priv_{tag}"
    home, other = f"t_fuzz_home_{tag}", f"t_fuzz_other_{tag}"
    users = {r: f"t_fuzz_{r}_{tag}" for r in ("editor", "manager", "stranger", "admin")}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bundle = write_bundle(Path(tmp) / "bundle", random.Random(7))
            writer = DatasetWriter(driver, db)
            for ds, lab in ((public, home), (private, other)):
                writer.load(NeuprintBundle(bundle, ds))
                driver.execute_query(SET_OWNER_IF_NONE, lab=lab, dataset=ds, database_=db)

        async def cast_users(repo: AccessRepository) -> tuple[dict[str, str], list[str]]:
            for who, uid in users.items():
                await repo.create_user(None, uid, who, admin=who == "admin")
            await repo.add_member(None, home, users["editor"], "editor")
            await repo.add_member(None, home, users["manager"], "admin")
            await repo.add_member(None, other, users["stranger"], "viewer")
            tokens = {w: (await repo.create_token(None, "fuzz", users[w]))["token"]
                      for w in ("editor", "manager", "admin")}  # fmt: skip
            spare = [(await repo.create_token(None, "spare", users[w]))["id"]
                     for w in ("editor", "manager", "stranger")]  # fmt: skip
            return tokens, spare

        async def go() -> tuple[dict[str, str], list[str]]:
            d = make_async_driver(settings)
            try:
                return await cast_users(AccessRepository(Store(d, db, 30)))
            finally:
                await d.close()

        tokens, spare = asyncio.run(go())
        queue = f"q_fuzz_{tag}"
        jobs = JobQueue(driver, db)
        job = jobs.submit(JobRequest(public, "probe", {}, None, 1, queue))
        private_job = jobs.submit(JobRequest(private, "probe", {}, None, 1, queue))
        cast = Cast(
            tag=tag,
            public=public,
            private=private,
            home_lab=home,
            other_lab=other,
            users=users,
            tokens=tokens,
            spare_tokens=tuple(spare),
            jobs=(job["id"], private_job["id"]),
            neurons=tuple(str(n[0]) for n in NEURONS[:8]) + ("999",),
            queue=queue,
        )
        reset(driver, cast, db)
        yield cast
    finally:
        for ds in (public, private):
            delete_dataset(driver, ds, db)
        driver.execute_query(
            "MATCH (n) WHERE (n:User OR n:Lab) AND n.id STARTS WITH 't_fuzz_' "
            "AND n.id ENDS WITH $tag OPTIONAL MATCH (n)-[:HAS_TOKEN]->(t) DETACH DELETE n, t",
            tag=tag,
            database_=db,
        )
        # The audit log outlives datasets and users on purpose; these users were the run's.
        driver.execute_query(
            "MATCH (e:AuditEvent) WHERE e.user STARTS WITH 't_fuzz_' AND e.user ENDS WITH $tag "
            "DETACH DELETE e",
            tag=tag,
            database_=db,
        )


# -- the generator ---------------------------------------------------------------------


def _json_node(value: Any) -> graphql.ValueNode:
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_json_node(v) for v in value])
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_json_node(v))
            for k, v in value.items()
        ]  # fmt: skip
    )


def cursors(cast: Cast) -> list[str]:
    """Cursors of each kind the lists use, well formed and not."""
    from connectomedb.service import pagination as p

    n = cast.neurons
    return [
        p.encode_cursor(p.NEURON, n[2]),
        p.encode_cursor(p.OFFSET, 0),
        p.encode_cursor(p.OFFSET, 2),
        p.encode_pair(n[0], n[3]),
        p.encode_key("u", [n[1], 3]),
        p.encode_key("d", [3, n[1]]),
        p.encode_key(p.PAIR, [2**70, "x"]),
        p.encode_cursor(p.NEURON, "' OR 1=1 //"),
        p.encode_cursor(p.OFFSET, "-1"),
    ]


def scalars(cast: Cast) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Value strategies for the scalars: real ids, cursors and meaningful strings as often
    as junk; small integers twice as often as any."""
    text = st.text(max_size=40)
    ints = st.one_of(st.integers(0, 10), st.integers(-3, 120), st.integers(-(2**31), 2**31 - 1))
    leaf = st.one_of(st.none(), st.booleans(), ints, st.floats(allow_nan=False,
                     allow_infinity=False), st.sampled_from([*cast.ids(), *STRINGS]), text)  # fmt: skip
    json_value = st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(PARAM_KEYS), text), inner, max_size=5),
        ),
        max_leaves=12,
    )
    params = st.one_of(st.dictionaries(st.sampled_from(PARAM_KEYS), leaf, max_size=4), json_value)
    return {
        "ID": st.one_of(st.sampled_from(cast.neurons), st.sampled_from(cast.ids()), text).map(
            nodes.String
        ),
        "String": st.one_of(
            st.sampled_from([*STRINGS, *cast.ids()]), st.sampled_from(cursors(cast)), text
        ).map(nodes.String),
        "Int": ints.map(nodes.Int),
        "Float": st.one_of(st.floats(0, 1), st.floats(allow_nan=False, allow_infinity=False))
        .map(nodes.Float),
        "JSON": params.map(_json_node),
    }  # fmt: skip


class Aim(graphql.Visitor):
    """Points a generated operation at the run's things: every dataset argument at
    ``dataset`` (when not None), every job and schedule at the run's own queue."""

    def __init__(self, dataset: str | None, queue: str) -> None:
        super().__init__()
        self.dataset = dataset
        self.queue = queue

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> graphql.ArgumentNode | None:
        name = node.name.value
        if name == "queue":
            return graphql.ArgumentNode(name=node.name, value=nodes.String(self.queue))
        if self.dataset is not None and (name == "dataset" or name.startswith("datasetA")
                                         or name.startswith("datasetB")):  # fmt: skip
            return graphql.ArgumentNode(name=node.name, value=nodes.String(self.dataset))
        return None


@dataclass(frozen=True)
class Request:
    caller: str
    kind: str  # "query" or "mutation"
    field: str  # the one root field asked for, or "*" for any subset of them
    valid: bool  # False: generated with one schema violation
    text: str


def root_fields(schema: graphql.GraphQLSchema) -> dict[str, dict[str, graphql.GraphQLField]]:
    """Root fields by operation kind."""
    assert schema.query_type is not None and schema.mutation_type is not None
    return {"query": schema.query_type.fields, "mutation": schema.mutation_type.fields}


def requests(cast: Cast, negative: float = 0.2) -> st.SearchStrategy[Request]:
    """Operations over the whole schema, each with a caller: mostly one root field (each
    field as likely as any other), sometimes any subset of them; a ``negative`` share
    carries one schema violation (hypothesis-graphql's negative mode). Dataset arguments
    name the public dataset half the time and the private one a sixth of the time."""
    schema = graphql.build_schema(schema_sdl())
    custom = scalars(cast)
    makers = {"query": queries, "mutation": mutations}
    roots = root_fields(schema)
    targets = [(k, f) for k, fields in roots.items() for f in fields]
    targets += [("query", "*"), ("mutation", "*")] * 3
    cache: dict[tuple[str, str, bool], st.SearchStrategy[graphql.DocumentNode]] = {}

    def documents(kind: str, name: str, valid: bool) -> st.SearchStrategy[graphql.DocumentNode]:
        key = (kind, name, valid)
        if key not in cache:
            cache[key] = makers[kind](
                schema,
                fields=None if name == "*" else [name],
                custom_scalars=custom,
                print_ast=lambda doc: doc,
                mode=Mode.POSITIVE if valid else Mode.NEGATIVE,
            )
        return cache[key]

    shares = [True] * round(100 * (1 - negative)) + [False] * round(100 * negative)
    datasets = st.sampled_from([cast.public] * 3 + [cast.private, None, None])

    @st.composite
    def one(draw: st.DrawFn) -> Request:
        kind, name = draw(st.sampled_from(targets))
        # A violation needs an argument to break.
        valid = draw(st.sampled_from(shares)) or (name != "*" and not roots[kind][name].args)
        caller = draw(st.sampled_from(CALLERS))
        doc = draw(documents(kind, name, valid))
        aimed = graphql.visit(doc, Aim(draw(datasets), cast.queue))
        return Request(caller, kind, name, valid, graphql.print_ast(aimed))

    return one()


# -- what an answer must be ------------------------------------------------------------


@dataclass
class Answer:
    status: int
    codes: list[str]
    problems: list[str]
    seconds: float
    data: bool  # some root field answered with a value


def judge(status: int, body: Any) -> tuple[list[str], list[str]]:
    """(error codes, problems) of one HTTP answer: a problem is HTTP 500, a body that is not
    a GraphQL answer, an error without a code, or a code that is not a client code
    (INTERNAL among them)."""
    problems: list[str] = []
    codes: list[str] = []
    if status == 500:
        problems.append("HTTP 500")
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        problems.append(f"HTTP {status} without a GraphQL answer: {str(body)[:200]}")
        return codes, problems
    for e in body.get("errors") or []:
        code = (e.get("extensions") or {}).get("code") if isinstance(e, dict) else None
        if code is None:
            problems.append(f"an error without a code: {str(e)[:300]}")
            continue
        codes.append(code)
        if code not in CLIENT_CODES:
            problems.append(f"{code}: {e.get('message')!r} at {e.get('path')}")
    if status >= 500 and not codes:
        problems.append(f"HTTP {status} without an error code")
    return codes, problems


def send(client: httpx.Client, url: str, cast: Cast, req: Request) -> Answer:
    headers = {}
    if req.caller != "anonymous":
        headers["Authorization"] = f"Bearer {cast.tokens[req.caller]}"
    t0 = time.perf_counter()
    r = client.post(f"{url}/graphql", json={"query": req.text}, headers=headers, timeout=120)
    seconds = time.perf_counter() - t0
    try:
        body: Any = r.json()
    except ValueError:
        body = r.text
    codes, problems = judge(r.status_code, body)
    data = isinstance(body, dict) and any(v is not None for v in (body.get("data") or {}).values())
    return Answer(r.status_code, codes, problems, seconds, data)


@dataclass
class Tally:
    operations: int = 0
    answered_ok: int = 0
    with_data: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    by_request: Counter[str] = field(default_factory=Counter)
    #: root field -> operations that asked for it alone, and those answered with data
    fields: Counter[str] = field(default_factory=Counter)
    fields_with_data: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[Request, Answer]] = field(default_factory=list)
    slowest: float = 0.0

    def add(self, req: Request, answer: Answer) -> None:
        self.operations += 1
        self.answered_ok += not answer.codes
        self.with_data += answer.data
        self.fields[req.field] += 1
        self.fields_with_data[req.field] += answer.data
        self.codes.update(answer.codes)
        self.by_request[f"{req.caller}_{req.kind}_{'valid' if req.valid else 'invalid'}"] += 1
        self.slowest = max(self.slowest, answer.seconds)
        if answer.problems:
            self.failures.append((req, answer))

    def data_fields(self) -> set[str]:
        return {f for f, n in self.fields_with_data.items() if n and f != "*"}

    def lines(self) -> list[str]:
        out = [
            f"operations: {self.operations}",
            f"answers_without_errors: {self.answered_ok}",
            f"answers_with_data: {self.with_data}",
            f"root_fields_asked: {len(set(self.fields) - {'*'})}",
            f"root_fields_answered_with_data: {len(self.data_fields())}",
            "root_fields_never_with_data: "
            + ", ".join(sorted(set(self.fields) - self.data_fields() - {"*"})),
            *(f"errors_{c}: {n}" for c, n in sorted(self.codes.items())),
            *(f"operations_{k}: {n}" for k, n in sorted(self.by_request.items())),
            f"slowest_answer_s: {self.slowest:.2f}",
            f"failures: {len(self.failures)}",
        ]
        for req, a in self.failures:
            out.append(f"failure: {req.caller} HTTP {a.status} {'; '.join(a.problems)}")
            out.append("  " + req.text.replace("\n", "\n  "))
        return out


def fuzz(
    url: str,
    cast: Cast,
    before_each: Callable[[], None],
    operations: int,
    negative: float = 0.2,
    seed_: int | None = None,
    stop_on_failure: bool = False,
) -> Tally:
    """Sends ``operations`` generated operations; each answer is judged and tallied. With
    ``stop_on_failure``, the first failure raises (and hypothesis shrinks it)."""
    tally = Tally()
    with httpx.Client() as client:

        @hypothesis_settings(
            max_examples=operations,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink] if stop_on_failure else [Phase.generate],
        )
        @given(requests(cast, negative))
        def run(req: Request) -> None:
            before_each()
            answer = send(client, url, cast, req)
            tally.add(req, answer)
            if stop_on_failure:
                assert not answer.problems, f"{req.caller}: {answer.problems}\n{req.text}"

        if seed_ is not None:
            run = seed(seed_)(run)
        run()
    return tally


# -- the benchmark ---------------------------------------------------------------------


def start_api(port: int, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("connectomedb")
    with log.open("wb") as f:
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=f,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API stopped: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the API did not start: {log.read_text()[-2000:]}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--operations", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--negative", type=float, default=0.2, help="share with one violation")
    args = ap.parse_args()

    from connectomedb.store.driver import make_driver

    settings = Settings()
    driver = make_driver(settings)
    print(f"machine: {platform.node()} {os.cpu_count()} cpus; python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp, prepared(driver, settings) as cast:
        port = free_port()
        log = Path(tmp) / "api.log"
        proc = start_api(port, log)
        try:
            t0 = time.perf_counter()
            tally = fuzz(
                f"http://127.0.0.1:{port}",
                cast,
                lambda: reset(driver, cast, settings.neo4j_database),
                args.operations,
                args.negative,
                args.seed,
            )
            wall = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(30)
        logged = [ln for ln in log.read_text().splitlines() if "internal error" in ln]
    driver.close()
    for line in tally.lines():
        print(line)
    print(f"wall_s: {wall:.1f}")
    print(f"operations_per_s: {tally.operations / wall:.1f}")
    print(f"internal_errors_logged: {len(logged)}")


if __name__ == "__main__":
    main()
