"""``connectomedb load``: a connectome into the graph."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from connectomedb.cli._common import (
    RichProgress,
    connect,
    console,
    err,
    exit_on_error,
    load_settings,
)
from connectomedb.errors import BadInput

if TYPE_CHECKING:
    import neo4j

    from connectomedb.loaders.base import Source
    from connectomedb.loaders.writer import LoadResult
    from connectomedb.settings import Settings

#: Sources built from the command's options; the rest come from ``loaders.registry``.
_OPTION_SOURCES: Final = ("neuprint", "flywire", "synthetic", "weights", "arrow")
#: Functional data loaded onto a dataset (``--onto``): measurement sets.
_FUNCTIONAL_SOURCES: Final = ("randi2023", "bentley2016", "table")


def _bar(transient: bool) -> Progress:
    """One progress bar per load phase: what, how far, how long."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def _bundle(name: str, path: Path | None, dataset_id: str | None) -> Source:
    if path is None:
        raise BadInput(f"`load {name}` needs --path to the CSV bundle directory")
    if not dataset_id:
        raise BadInput(f"`load {name}` needs --id for the new dataset")
    if name == "neuprint":
        from connectomedb.loaders.csvbundle import NeuprintBundle

        return NeuprintBundle(path, dataset_id)
    from connectomedb.loaders.csvbundle import FlywireBundle

    return FlywireBundle(path, dataset_id)


def _source(
    name: str, path: Path | None, dataset_id: str | None, opts: dict[str, Any], data_cache: Path
) -> Source:
    if name in ("neuprint", "flywire"):
        return _bundle(name, path, dataset_id)
    if name == "arrow":
        if path is None:
            raise BadInput("`load arrow` needs --path to the export's .arrow.zip (or directory)")
        from connectomedb.loaders.arrowbundle import ArrowBundle

        return ArrowBundle(path, dataset_id)
    if name == "weights":
        if path is None or not dataset_id:
            raise BadInput("`load weights` needs --path to the .npz, .npy or .csv file and --id")
        from connectomedb.loaders.weights import WeightMatrixSource

        orientation = opts["orientation"]
        if orientation not in ("post_pre", "pre_post"):
            raise BadInput("--orientation must be post_pre or pre_post")
        return WeightMatrixSource(
            path, dataset_id, threshold=opts["threshold"], orientation=orientation
        )
    if name == "synthetic":
        from connectomedb.loaders.synthetic import SyntheticParams, SyntheticSource

        try:
            params = SyntheticParams(
                **{k: v for k, v in opts.items() if k not in ("threshold", "orientation")}
            )
        except ValueError as e:
            raise BadInput(str(e)) from e
        return SyntheticSource(params, dataset_id)
    from connectomedb.loaders.registry import SOURCES, make_source

    if name not in SOURCES:
        raise BadInput(
            f"unknown source {name!r}; choose one of "
            + ", ".join([*SOURCES, *_OPTION_SOURCES])
            + "; onto a dataset (--onto): "
            + ", ".join(_FUNCTIONAL_SOURCES)
        )
    src = make_source(name, data_cache)
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


def load(
    source: Annotated[
        str,
        typer.Argument(
            help="cook2019, witvliet2021-1..8, varshney2011, "
            "white1986, larva-mb-left/right, neuprint, "
            "flywire, synthetic, weights, arrow"
        ),
    ],
    path: Annotated[
        Path | None, typer.Option(help="CSV bundle directory; arrow: the export's .arrow.zip")
    ] = None,
    dataset_id: Annotated[
        str | None, typer.Option("--id", help="dataset id (arrow: default the exported one)")
    ] = None,
    replace: Annotated[bool, typer.Option(help="delete an existing dataset first")] = False,
    batch_size: Annotated[int | None, typer.Option(min=1, help="rows per transaction")] = None,
    writers: Annotated[int, typer.Option(min=1, max=16, help="concurrent transactions")] = 3,
    neurons: Annotated[int, typer.Option(help="synthetic: neurons")] = 1000,
    connections: Annotated[int, typer.Option(help="synthetic: connections")] = 20_000,
    types: Annotated[int, typer.Option(help="synthetic: cell types")] = 20,
    reciprocity: Annotated[float, typer.Option(help="synthetic: reciprocity factor")] = 3.0,
    synapses: Annotated[bool, typer.Option(help="synthetic: create synapse nodes")] = False,
    seed: Annotated[int, typer.Option(help="synthetic: random seed")] = 0,
    degree_sigma: Annotated[
        float,
        typer.Option(
            min=0, max=3, help="synthetic: heavy-tailed degrees (log-normal sigma; 0: uniform)"
        ),
    ] = 0.0,
    threshold: Annotated[
        float, typer.Option(min=0, help="weights: entries with |w| above this become connections")
    ] = 0.0,
    orientation: Annotated[
        str, typer.Option(help="weights: post_pre (W[post, pre], PyTorch's) or pre_post")
    ] = "post_pre",
    lab: Annotated[
        str | None, typer.Option(help="owner lab (created if missing; default: settings)")
    ] = None,
    public: Annotated[bool, typer.Option(help="make the dataset readable by everyone")] = False,
    warm: Annotated[
        bool,
        typer.Option(
            help="compute and store the dataset's whole-dataset statistics after the load "
            "(as `connectomedb dataset warm`)"
        ),
    ] = True,
    bulk: Annotated[
        bool,
        typer.Option(
            help="first load into an empty local store by Neo4j's offline importer "
            "(stops and restarts the server; much faster for large datasets)"
        ),
    ] = False,
    onto: Annotated[
        str | None, typer.Option(help="functional data: the dataset whose neurons it describes")
    ] = None,
    table: Annotated[
        str, typer.Option(help="table: 'pairwise' (stimulated, responder, ...) or 'neuron'")
    ] = "pairwise",
    name: Annotated[str | None, typer.Option(help="table: the set's name")] = None,
    condition: Annotated[str | None, typer.Option(help="table: strain or condition")] = None,
    citation: Annotated[str | None, typer.Option(help="table: where it was published")] = None,
) -> None:
    """Load a connectome as a dataset (resumes an interrupted load of the same input), or
    functional data onto one (--onto). --bulk: the first load into an empty local store,
    by Neo4j's offline importer."""
    if source in _FUNCTIONAL_SOURCES or onto is not None:
        meta = {"name": name, "condition": condition, "citation": citation}
        _load_functional(source, onto, path, dataset_id, table, meta, replace, batch_size)
        return
    from connectomedb.loaders.writer import DatasetWriter
    from connectomedb.store.access import check_id
    from connectomedb.store.driver import init_schema, missing_schema

    opts = {
        "n_neurons": neurons,
        "n_connections": connections,
        "n_types": types,
        "reciprocity": reciprocity,
        "synapses": synapses,
        "seed": seed,
        "degree_sigma": degree_sigma,
        "threshold": threshold,
        "orientation": orientation,
    }
    if bulk:
        _load_bulk(source, path, dataset_id, opts, replace, batch_size, lab, public, warm)
        return
    with connect() as (s, d), exit_on_error("run the same command again to resume the load"):
        owner = check_id("lab", lab or s.default_lab)  # before anything is written

        if missing_schema(d, s.neo4j_database):
            init_schema(d, s.neo4j_database)
        src = _source(source, path, dataset_id, opts, s.data_cache)
        t0 = time.perf_counter()
        with _bar(transient=False) as bar:
            writer = DatasetWriter(
                d, s.neo4j_database, batch_size or s.batch_size, RichProgress(bar), writers
            )
            try:
                res = writer.load(src, replace=replace)
            except KeyboardInterrupt:
                err.print(f"interrupted: run the same command again to resume {src.meta.id}")
                raise typer.Exit(130) from None
        _set_access(d, s.neo4j_database, res.dataset, owner, lab, public)
        dt = time.perf_counter() - t0
    _report(res, dt)
    _warm(s, res.dataset, warm)


def _set_access(
    d: neo4j.Driver, database: str, ds: str, owner: str, lab: str | None, public: bool
) -> None:
    """The owner lab (unless the dataset has one) and, with --public, the visibility."""
    from connectomedb.store.datasets import DatasetRepository

    datasets = DatasetRepository(d, database)
    if not datasets.set_owner_if_none(ds, owner) and lab is not None:
        err.print(f"{ds} already has an owner lab; --lab {lab} was not applied")
    if public:
        datasets.set_visibility(ds, "public")


def _load_bulk(
    source: str,
    path: Path | None,
    dataset_id: str | None,
    opts: dict[str, Any],
    replace: bool,
    batch_size: int | None,
    lab: str | None,
    public: bool,
    warm: bool,
) -> None:
    """``load --bulk``: BulkLoader into the empty database of the local server."""
    from connectomedb.loaders.bulk import BulkLoader
    from connectomedb.store.access import check_id

    s = load_settings()
    with exit_on_error():
        owner = check_id("lab", lab or s.default_lab)  # before anything is written
        if replace:
            raise BadInput("--bulk loads into an empty store: --replace does not apply")
        src = _source(source, path, dataset_id, opts, s.data_cache)
        t0 = time.perf_counter()
        with _bar(transient=False) as bar:
            try:
                res = BulkLoader(s, batch_size or s.batch_size, RichProgress(bar)).load(src)
            except KeyboardInterrupt:
                err.print("interrupted: nothing was loaded, the database is empty")
                raise typer.Exit(130) from None
    # a driver of its own, opened after the import (see connectomedb.loaders.bulk)
    with connect(s) as (_, d), exit_on_error():
        _set_access(d, s.neo4j_database, res.dataset, owner, lab, public)
    _report(res, time.perf_counter() - t0)
    _warm(s, res.dataset, warm)


def _warm(s: Settings, dataset: str, warm: bool) -> None:
    """The dataset's default whole-dataset statistics, stored for its users."""
    if not warm:
        return
    from connectomedb.cli.datasets import warm_dataset

    with exit_on_error():
        warm_dataset(s, dataset)


def _report(res: LoadResult, dt: float) -> None:
    verb = {
        "loaded": "loaded",
        "resumed": "resumed and finished",
        "unchanged": "already loaded (unchanged input)",
    }[res.status]
    console.print(f"[green]{res.dataset}[/green] {verb} in {dt:.1f} s")
    _print_counts(res.counts)


def _functional_sources(
    source: str,
    path: Path | None,
    set_id: str | None,
    table: str,
    meta: dict[str, str | None],
    data_cache: Path,
) -> list[Any]:
    from connectomedb.loaders import functional as fn
    from connectomedb.loaders.wheels import WORMNEUROATLAS, WORMNEUROATLAS_VERSION, fetch_wheel

    if source == "table":
        if path is None or not set_id:
            raise BadInput("`load table` needs --path to the CSV file and --id for the set")
        if table not in ("pairwise", "neuron"):
            raise BadInput("--table must be 'pairwise' or 'neuron'")
        cls = fn.PairTable if table == "pairwise" else fn.NeuronTable
        return [cls(path, set_id, **meta)]
    if source not in ("randi2023", "bentley2016"):
        raise BadInput(
            f"{source!r} is not functional data; choose one of {', '.join(_FUNCTIONAL_SOURCES)}"
        )
    if set_id:
        raise BadInput(f"`load {source}` names its sets itself; --id is for tables")
    wheel = fetch_wheel(WORMNEUROATLAS, WORMNEUROATLAS_VERSION, data_cache)
    if source == "randi2023":
        return [fn.RandiAtlasSource(wheel, strain) for strain in fn.RANDI_STRAINS]
    return [fn.BentleySource(wheel, family) for family in fn.BENTLEY_FILES]


def _load_functional(
    source: str,
    onto: str | None,
    path: Path | None,
    set_id: str | None,
    table: str,
    meta: dict[str, str | None],
    replace: bool,
    batch_size: int | None,
) -> None:
    from connectomedb.loaders.functional import MeasurementLoader
    from connectomedb.store.driver import init_schema, missing_schema

    with connect() as (s, d), exit_on_error():
        if not onto:
            raise BadInput(f"`load {source}` needs --onto: the dataset whose neurons it describes")
        sources = _functional_sources(source, path, set_id, table, meta, s.data_cache)
        if missing_schema(d, s.neo4j_database):
            init_schema(d, s.neo4j_database)
        for src in sources:
            t0 = time.perf_counter()
            with _bar(transient=True) as bar:
                loader = MeasurementLoader(
                    d, s.neo4j_database, batch_size or s.batch_size, RichProgress(bar)
                )
                res = loader.load(src, onto, replace=replace)
            dt = time.perf_counter() - t0
            verb = "loaded" if res.status == "loaded" else "already loaded (unchanged input)"
            console.print(
                f"[green]{res.set}[/green] onto {res.dataset} {verb} in {dt:.1f} s: "
                f"{res.count:,} {src.meta.kind} rows"
            )
            if res.unmatched:
                names = ", ".join(
                    f"{k} ({v} rows)" if v else k for k, v in sorted(res.unmatched.items())
                )
                err.print(
                    f"[yellow]{len(res.unmatched)} names match no neuron of {onto} "
                    f"(their rows were not loaded):[/yellow] {names}",
                    highlight=False,
                    soft_wrap=True,
                )


def _print_counts(counts: dict[str, int]) -> None:
    t = Table(show_header=False, box=None)
    for k, v in counts.items():
        t.add_row(k.replace("_", " "), f"{v:,}")
    console.print(t)
