"""The ``connectomedb`` command line."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from connectomedb.errors import BadInput, ConnectomeDBError, NotFound

app = typer.Typer(help="connectomedb: connectomes in Neo4j.", no_args_is_help=True)
neo4j_app = typer.Typer(help="Manage the local Neo4j server.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
dataset_app = typer.Typer(help="Inspect, share or remove one dataset.", no_args_is_help=True)
user_app = typer.Typer(help="Users of the API.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
lab_app = typer.Typer(help="Labs and their members.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
job_app = typer.Typer(help="Analytics jobs (run by `connectomedb worker`).", no_args_is_help=True)
app.add_typer(neo4j_app, name="neo4j")
app.add_typer(db_app, name="db")
app.add_typer(dataset_app, name="dataset")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(lab_app, name="lab")
app.add_typer(schema_app, name="schema")
app.add_typer(job_app, name="job")

console = Console()
err = Console(stderr=True)


def _settings() -> Any:
    from connectomedb.settings import Settings

    try:
        return Settings()
    except ValueError as e:
        err.print(f"[red]error:[/red] invalid settings: {e}")
        raise typer.Exit(2) from e


@contextmanager
def _errors() -> Any:
    """Turn our errors into one red line and exit code 1."""
    try:
        yield
    except ConnectomeDBError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from e


@contextmanager
def _driver() -> Any:
    from connectomedb.store.driver import check_connectivity, make_driver

    s = _settings()
    d = make_driver(s)
    try:
        with _errors():
            check_connectivity(d)
        yield s, d
    finally:
        d.close()


# -- neo4j --------------------------------------------------------------------


@neo4j_app.command("start")
def neo4j_start() -> None:
    """Build (first time) and start the local Neo4j; waits until Bolt answers."""
    from connectomedb import localneo4j

    s = _settings()
    if not s.local:
        err.print(f"CONNECTOMEDB_NEO4J_URI is set ({s.uri}); nothing to start")
        return
    with _errors():
        localneo4j.start(s, console=console)


@neo4j_app.command("stop")
def neo4j_stop() -> None:
    """Stop the local Neo4j cleanly."""
    from connectomedb import localneo4j

    s = _settings()
    with _errors():
        localneo4j.stop(s)


@neo4j_app.command("status")
def neo4j_status() -> None:
    """Is the local Neo4j running and answering?"""
    from connectomedb import localneo4j

    s = _settings()
    if not s.local:
        from connectomedb.store.driver import make_driver

        d = make_driver(s)
        try:
            d.verify_connectivity()
            st: dict[str, Any] = {"uri": s.uri, "external": True, "answering": True}
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            st = {"uri": s.uri, "external": True, "answering": False}
        finally:
            d.close()
    else:
        with _errors():
            st = localneo4j.status(s)
    for k, v in st.items():
        console.print(f"{k}: {v}")
    if not st.get("answering"):
        raise typer.Exit(3)


# -- db -----------------------------------------------------------------------


@db_app.command("init")
def db_init() -> None:
    """Create every constraint and index (idempotent)."""
    from connectomedb.store.driver import init_schema

    with _driver() as (s, d), _errors():
        res = init_schema(d, s.neo4j_database)
    console.print(
        f"schema ready: {len(res['present'])} constraints and indexes, "
        f"{len(res['created'])} created now"
    )


# -- load ---------------------------------------------------------------------


class _RichProgress:
    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.task: Any = None

    def phase(self, name: str, total: int | None) -> None:
        if self.task is not None:
            self.p.update(self.task, total=self.p.tasks[self.task].completed)
        self.task = self.p.add_task(name, total=total)

    def advance(self, n: int) -> None:
        self.p.advance(self.task, n)


def _source(name: str, path: Path | None, dataset_id: str | None, opts: dict[str, Any]) -> Any:
    from connectomedb.errors import BadInput

    if name in ("neuprint", "flywire"):
        if path is None:
            raise BadInput(f"`load {name}` needs --path to the CSV bundle directory")
        if not dataset_id:
            raise BadInput(f"`load {name}` needs --id for the new dataset")
        if name == "neuprint":
            from connectomedb.loaders.csvbundle import NeuprintBundle

            return NeuprintBundle(path, dataset_id)
        from connectomedb.loaders.csvbundle import FlywireBundle

        return FlywireBundle(path, dataset_id)
    if name == "synthetic":
        from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource

        try:
            params = SyntheticParams(**opts)
        except ValueError as e:
            raise BadInput(str(e)) from e
        return SyntheticSource(params, dataset_id)
    from connectomedb.loaders.registry import SOURCES

    if name not in SOURCES:
        raise BadInput(
            f"unknown source {name!r}; choose one of "
            + ", ".join([*SOURCES, "neuprint", "flywire", "synthetic"])
        )
    src = SOURCES[name](_settings().data_cache)
    if dataset_id:
        from pydantic import ValidationError

        from connectomedb.schema.models import DatasetMeta

        try:
            src.meta = DatasetMeta.model_validate({**src.meta.model_dump(), "id": dataset_id})
        except ValidationError as e:
            raise BadInput(
                f"invalid dataset id {dataset_id!r}: letters, digits, '_', '.', '-'"
            ) from e
    return src


@app.command("load")
def load(
    source: Annotated[
        str,
        typer.Argument(
            help="cook2019, witvliet2021-1..8, varshney2011, "
            "white1986, larva-mb-left/right, neuprint, "
            "flywire, synthetic"
        ),
    ],
    path: Annotated[Path | None, typer.Option(help="CSV bundle directory")] = None,
    dataset_id: Annotated[str | None, typer.Option("--id", help="dataset id")] = None,
    replace: Annotated[bool, typer.Option(help="delete an existing dataset first")] = False,
    batch_size: Annotated[int | None, typer.Option(min=1, help="rows per transaction")] = None,
    writers: Annotated[int, typer.Option(min=1, max=16, help="concurrent transactions")] = 3,
    neurons: Annotated[int, typer.Option(help="synthetic: neurons")] = 1000,
    connections: Annotated[int, typer.Option(help="synthetic: connections")] = 20_000,
    types: Annotated[int, typer.Option(help="synthetic: cell types")] = 20,
    reciprocity: Annotated[float, typer.Option(help="synthetic: reciprocity factor")] = 3.0,
    synapses: Annotated[bool, typer.Option(help="synthetic: create synapse nodes")] = False,
    seed: Annotated[int, typer.Option(help="synthetic: random seed")] = 0,
    lab: Annotated[
        str | None, typer.Option(help="owner lab (created if missing; default: settings)")
    ] = None,
    public: Annotated[bool, typer.Option(help="make the dataset readable by everyone")] = False,
) -> None:
    """Load a connectome as a dataset (resumes an interrupted load of the same input)."""
    from connectomedb.loaders.writer import DatasetWriter

    opts = {
        "n_neurons": neurons,
        "n_connections": connections,
        "n_types": types,
        "reciprocity": reciprocity,
        "synapses": synapses,
        "seed": seed,
    }
    with _driver() as (s, d), _errors():
        from connectomedb.store.access import SET_OWNER_IF_NONE, SET_VISIBILITY, check_id
        from connectomedb.store.driver import init_schema, missing_schema

        owner = check_id("lab", lab or s.default_lab)  # before anything is written

        if missing_schema(d, s.neo4j_database):
            init_schema(d, s.neo4j_database)
        src = _source(source, path, dataset_id, opts)
        t0 = time.perf_counter()
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            writer = DatasetWriter(
                d, s.neo4j_database, batch_size or s.batch_size, _RichProgress(bar), writers
            )
            try:
                res = writer.load(src, replace=replace)
            except KeyboardInterrupt:
                err.print(f"interrupted: run the same command again to resume {src.meta.id}")
                raise typer.Exit(130) from None
        recs, _, _ = d.execute_query(
            SET_OWNER_IF_NONE, lab=owner, dataset=res.dataset, database_=s.neo4j_database
        )
        if not recs and lab is not None:
            err.print(f"{res.dataset} already has an owner lab; --lab {lab} was not applied")
        if public:
            d.execute_query(
                SET_VISIBILITY, dataset=res.dataset, visibility="public", database_=s.neo4j_database
            )
        dt = time.perf_counter() - t0
    verb = {
        "loaded": "loaded",
        "resumed": "resumed and finished",
        "unchanged": "already loaded (unchanged input)",
    }[res.status]
    console.print(f"[green]{res.dataset}[/green] {verb} in {dt:.1f} s")
    _print_counts(res.counts)


def _print_counts(counts: dict[str, int]) -> None:
    t = Table(show_header=False, box=None)
    for k, v in counts.items():
        t.add_row(k.replace("_", " "), f"{v:,}")
    console.print(t)


# -- datasets -----------------------------------------------------------------


@app.command("datasets")
def datasets() -> None:
    """List datasets."""
    from connectomedb.store.datasets import DatasetRepository

    with _driver() as (s, d), _errors():
        rows = DatasetRepository(d, s.neo4j_database).list()
    cells = [
        (
            ds.id,
            ds.status,
            f"{ds.neuron_count:,}",
            f"{ds.connection_count:,}",
            f"{ds.chemical_synapse_total:,}",
            ds.name,
        )
        for ds in rows
    ]
    heads = ("id", "status", "neurons", "connections", "synapses", "name")
    t = Table(box=None, padding=(0, 2, 0, 0))
    for i, head in enumerate(heads):
        width = max([len(head), *(len(c[i]) for c in cells)])
        if head == "name":  # the only column that gives way on a narrow terminal
            t.add_column(head, overflow="ellipsis", no_wrap=True)
        else:
            t.add_column(head, no_wrap=True, min_width=width, justify="left" if i < 2 else "right")
    for c in cells:
        t.add_row(*c)
    console.print(t)


@dataset_app.command("show")
def dataset_show(dataset_id: str) -> None:
    """Show a dataset's provenance, status and counts."""
    from connectomedb.store.datasets import DatasetRepository

    with _driver() as (s, d), _errors():
        ds = DatasetRepository(d, s.neo4j_database).get(dataset_id)
    t = Table(show_header=False, box=None)
    for k, v in ds.model_dump().items():
        if v not in (None, "", ()):
            t.add_row(k, str(v))
    console.print(t)


@dataset_app.command("delete")
def dataset_delete(dataset_id: str) -> None:
    """Remove a dataset and everything in it."""
    from connectomedb.store.datasets import DatasetRepository

    with _driver() as (s, d), _errors():
        DatasetRepository(d, s.neo4j_database).delete(dataset_id)
    console.print(f"deleted {dataset_id}")


# -- the API ------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default: settings)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default: settings)")] = None,
    example: Annotated[
        str | None, typer.Option(help="print an example query against this dataset")
    ] = None,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql in a browser)."""
    import uvicorn

    from connectomedb.service.app import create_app

    s = _settings()
    with _driver():
        pass  # fail early, in one line, when Neo4j is not there
    h, p = host or s.api_host, port or s.api_port
    url = f"http://{h}:{p}/graphql"
    console.print(f"GraphQL API on [bold]{url}[/bold] (open it in a browser for GraphiQL)")
    if example is not None:
        q = (
            f'{{ neuron(dataset: \\"{example}\\", id: \\"AVAL\\") {{ name class '
            "upstream(minWeight: 3, first: 5) { edges { node { synapseCount neuron { id } } } } } }"
        )
        console.print("Try:", style="bold")
        console.print(
            f"curl -s {url} -H 'content-type: application/json' -d '{{\"query\": \"{q}\"}}'",
            highlight=False,
            soft_wrap=True,
        )
    uvicorn.run(create_app(s), host=h, port=p, log_level="info")


@schema_app.command("export")
def schema_export(
    output: Annotated[Path, typer.Option(help="where to write the SDL")] = Path("schema.graphql"),
) -> None:
    """Write the GraphQL schema (SDL) that clients can read and diff."""
    from connectomedb.service.schema import schema_sdl

    output.write_text(schema_sdl(), encoding="utf-8")
    console.print(f"wrote {output}")


def _access(fn: Any) -> Any:
    """Run ``fn(AccessRepository)`` as the local operator, on an async driver."""
    import asyncio

    from connectomedb.store.access import AccessRepository
    from connectomedb.store.graphdb import Store, make_async_driver

    s = _settings()
    with _driver():
        pass

    async def run() -> Any:
        driver = make_async_driver(s)
        try:
            return await fn(AccessRepository(Store(driver, s.neo4j_database, s.query_timeout_s)))
        finally:
            await driver.close()

    with _errors():
        return asyncio.run(run())


@user_app.command("create")
def user_create(
    user_id: str,
    name: Annotated[str, typer.Option(help="display name")] = "",
    admin: Annotated[bool, typer.Option(help="site admin (may create labs and users)")] = False,
    lab: Annotated[
        str | None, typer.Option(help="also add to this lab (created if missing)")
    ] = None,
    role: Annotated[str, typer.Option(help="role in --lab: viewer, editor, admin")] = "admin",
) -> None:
    """Create a user and print their first API token (shown once)."""

    from connectomedb.store.access import ROLES, check_id

    with _errors():
        check_id("user", user_id)
        if lab is not None:
            check_id("lab", lab)
        if role not in ROLES:
            raise BadInput(f"--role must be one of {', '.join(ROLES)}")

    async def fn(repo: Any) -> Any:
        await repo.create_user(None, user_id, name, admin)
        if lab is not None:
            await repo.store.write("ensure_lab", ENSURE_LAB, id=lab)
            await repo.add_member(None, lab, user_id, role)
        return await repo.create_token(None, "cli", user_id)

    from connectomedb.store.access import ENSURE_LAB

    t = _access(fn)
    console.print(f"created user [bold]{user_id}[/bold]" + (" (site admin)" if admin else ""))
    console.print(f"API token (shown once, keep it secret): [bold]{t['token']}[/bold]")


@token_app.command("create")
def token_create(
    user_id: str, name: Annotated[str, typer.Option(help="what the token is for")] = ""
) -> None:
    """Create an API token for a user (shown once)."""
    t = _access(lambda repo: repo.create_token(None, name, user_id))
    console.print(f"token id {t['id']}")
    console.print(f"API token (shown once, keep it secret): [bold]{t['token']}[/bold]")


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke an API token by its id (the 16 hex digits after cdb_)."""
    _access(lambda repo: repo.revoke_token(None, token_id))
    console.print(f"revoked {token_id}")


@lab_app.command("create")
def lab_create(lab_id: str, name: Annotated[str, typer.Option()] = "") -> None:
    """Create a lab."""
    _access(lambda repo: repo.create_lab(None, lab_id, name))
    console.print(f"created lab {lab_id}")


@lab_app.command("add-member")
def lab_add_member(
    lab_id: str,
    user_id: str,
    role: Annotated[str, typer.Option(help="viewer, editor, admin")] = "viewer",
) -> None:
    """Add a user to a lab (or change their role)."""
    _access(lambda repo: repo.add_member(None, lab_id, user_id, role))
    console.print(f"{user_id} is {role} of {lab_id}")


@dataset_app.command("visibility")
def dataset_visibility(
    dataset_id: str, visibility: Annotated[str, typer.Argument(help="private or public")]
) -> None:
    """Make a dataset public (anyone, anonymous included) or private (its labs only)."""
    from connectomedb.errors import NotFound
    from connectomedb.store.access import SET_VISIBILITY

    with _driver() as (s, d), _errors():
        if visibility not in ("private", "public"):
            raise BadInput("visibility must be private or public")
        recs, _, _ = d.execute_query(
            SET_VISIBILITY, dataset=dataset_id, visibility=visibility, database_=s.neo4j_database
        )
        if not recs:
            raise NotFound(f"dataset {dataset_id!r} not found")
    console.print(f"{dataset_id} is {visibility}")


if __name__ == "__main__":
    app()


# -- jobs and workers -----------------------------------------------------------


@app.command("worker")
def worker(
    worker_id: Annotated[str | None, typer.Option("--id", help="default: host:pid")] = None,
    lease: Annotated[float, typer.Option(help="lease length in seconds")] = 30.0,
    poll: Annotated[float, typer.Option(help="seconds between polls when idle")] = 1.0,
    max_jobs: Annotated[int | None, typer.Option(help="stop after this many jobs")] = None,
    exit_when_idle: Annotated[bool, typer.Option(help="stop when no job is free")] = False,
    queue: Annotated[str, typer.Option(help="the queue to serve")] = "default",
) -> None:
    """Claim and run jobs until stopped (SIGTERM or Ctrl-C finish the current job first)."""
    import logging

    from connectomedb.workers.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with _driver() as (s, d), _errors():
        w = Worker(d, s.neo4j_database, worker_id, lease, poll, queue, s.artifacts)
        err.print(
            f"worker {w.id} serving queue {queue!r}, polling every {poll} s (lease {lease} s)"
        )
        n = w.run(max_jobs, exit_when_idle)
        err.print(f"worker {w.id} stopped after {n} jobs")


@app.command("scheduler")
def scheduler(
    tick: Annotated[float, typer.Option(help="seconds between ticks")] = 1.0,
    once: Annotated[bool, typer.Option(help="one tick, then exit")] = False,
) -> None:
    """Enqueue the due runs of every schedule (run one or several: each due time is
    enqueued once)."""
    import logging
    import signal
    import threading

    from connectomedb.store.jobs import JobQueue
    from connectomedb.workers.schedules import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with _driver() as (s, d), _errors():
        q = JobQueue(d, s.neo4j_database)
        if once:
            console.print(f"enqueued {q.enqueue_due()} jobs")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        run_scheduler(q, tick, stop)


@job_app.command("submit")
def job_submit(
    dataset_id: str,
    kind: str,
    params: Annotated[
        str, typer.Option(help="parameters as JSON, or @FILE to read them from a file")
    ] = "{}",
    max_attempts: Annotated[int, typer.Option(min=1, max=20)] = 3,
    queue: Annotated[str, typer.Option(help="the queue workers take it from")] = "default",
) -> None:
    """Queue a job (as the operator; over the API a user's editor role is checked)."""
    import json

    from connectomedb.store.jobs import JobQueue
    from connectomedb.workers.kinds import check_params

    with _driver() as (s, d), _errors():
        where = "--params"
        if params.startswith("@"):
            where = params[1:]
            try:
                params = Path(where).read_text()
            except OSError as e:
                raise BadInput(f"cannot read {where}: {e.strerror or e}") from e
        try:
            raw = json.loads(params)
        except json.JSONDecodeError as e:
            raise BadInput(
                f"{where} is not JSON: line {e.lineno}, column {e.colno}: {e.msg}"
            ) from e
        checked = check_params(kind, raw)
        _dataset_exists(d, s, dataset_id)
        j = JobQueue(d, s.neo4j_database).submit(
            dataset_id, kind, checked, None, max_attempts, queue
        )
        console.print(j["id"])


@job_app.command("show")
def job_show(job_id: str) -> None:
    """A job's status, progress, attempts and error."""
    from connectomedb.store.jobs import JobQueue

    with _driver() as (s, d), _errors():
        j = JobQueue(d, s.neo4j_database).job(job_id)
        for k in sorted(j):
            if k not in ("claim", "lock_seq"):
                console.print(f"{k}: {j[k]}", highlight=False)


@job_app.command("cancel")
def job_cancel(job_id: str) -> None:
    """Cancel a queued job, or stop a running one at its next progress point."""
    from connectomedb.store.jobs import JobQueue

    with _driver() as (s, d), _errors():
        j = JobQueue(d, s.neo4j_database).cancel(job_id)
        console.print(f"{j['id']}: {j['status']} (cancel requested: {j['cancel_requested']})")


def _dataset_exists(d: Any, s: Any, dataset_id: str) -> None:
    recs, _, _ = d.execute_query(
        "MATCH (x:Dataset {id: $id}) RETURN x.id AS id", id=dataset_id, database_=s.neo4j_database
    )
    if not recs:
        raise NotFound(f"dataset {dataset_id!r} not found")
