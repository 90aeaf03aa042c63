"""The first load of a dataset into an empty local store, through Neo4j's offline importer.

:class:`BulkLoader` writes a Source as CSV files in ``neo4j-admin``'s header format,
stops the local server, replaces the (empty) database by ``neo4j-admin database import
full``, starts the server again and finishes as :class:`~connectomedb.loaders.writer.
DatasetWriter` does: schema, the Dataset node with its counts and batch marks, cell
statistics (written into the node files), cell types. The store then holds what a
transactional load of the same source leaves. Rows are checked as the writer checks them,
with the same messages, before the server is touched; any failure after it was stopped
leaves the database empty again, with the cause.

The import starts the database's transaction ids afresh, so a driver that ran queries
before it holds bookmarks the new database never reaches: the loader opens its own
drivers, and a caller's driver used before the load must be replaced after it.
"""

from __future__ import annotations

import math
import numbers
import tempfile
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import neo4j
import numpy as np

from connectomedb import localneo4j
from connectomedb.errors import BadInput, ConfigError, ConnectomeDBError
from connectomedb.loaders.base import CELL_KINDS, Row, Source, Where
from connectomedb.loaders.writer import LoadResult, NoProgress, Progress, RowChecks
from connectomedb.localneo4j import ARRAY_DELIMITER, ImportFiles
from connectomedb.schema.graph import (
    CELL,
    CELL_PROPERTIES,
    CELL_TYPE,
    CONNECTS_TO,
    GAP_JUNCTION,
    HAS_TYPE,
    NEURON,
    NON_NEURONAL,
    POSTSYNAPTIC,
    PRESYNAPTIC,
    SYNAPSE,
    expected_names,
)
from connectomedb.settings import Settings
from connectomedb.store import ingest
from connectomedb.store.bulk import LOOKUP_INDEXES, MARK_ALL_DONE, STORE_CONTENTS
from connectomedb.store.datasets import COUNT_FIELDS
from connectomedb.store.driver import existing_schema_names, init_schema, make_driver

_CELL_PROPS = frozenset(CELL_PROPERTIES)
#: cell statistics, as ``ingest.SET_CELL_STATS`` names them, last in every cell row
CELL_STATS: Final = ("in_degree", "out_degree", "pre_synapses", "post_synapses")
STAT_COLUMNS: Final = (*CELL_STATS, "gap_junction_degree")
CELL_COLUMNS: Final = ("dataset", *CELL_PROPERTIES)
CONNECTION_COLUMNS: Final = (
    "synapse_count",
    "weight",
    "psd_area_total",
    "neuropils",
    "nt_type",
    "rows",
)
SYNAPSE_COLUMNS: Final = (
    "dataset",
    "id",
    "kind",
    "confidence",
    "psd_area",
    "neurotransmitter",
    "region",
    "location",
)
#: the CSV type of a 3-d cartesian point (``point({x, y, z})`` in Cypher)
POINT: Final = "point{crs:cartesian-3d}"
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_PROGRESS_EVERY = 10_000


class BulkLoadFailed(ConnectomeDBError):
    """The import or what follows it failed; the database was emptied again."""

    code = "LOAD_FAILED"


@dataclass(frozen=True)
class Point3:
    """A point in 3-d cartesian space, written as neo4j-admin reads points."""

    x: float
    y: float
    z: float


# -- CSV values -------------------------------------------------------------------------

_SCALAR_TYPES: Final[dict[type, str]] = {
    str: "string",
    bool: "boolean",
    int: "long",
    float: "double",
    Point3: POINT,
}


def csv_type(value: Any) -> str:
    """The neo4j-admin header type that stores ``value`` as the Python driver would
    (``int`` -> long, ``float`` -> double, a list -> an array of its one element type).
    BadInput for what a CSV cannot carry: an empty list, mixed lists, nested lists."""
    t = _SCALAR_TYPES.get(type(value))
    if t is not None:
        return t
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, numbers.Integral):
        return "long"
    if isinstance(value, numbers.Real):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        if not value:
            raise BadInput("an empty list cannot be bulk loaded; load without --bulk")
        kinds = {csv_type(v) for v in value}
        kind = kinds.pop()
        if kinds or kind.endswith("[]") or kind == POINT:
            raise BadInput(f"a list of {sorted([kind, *kinds])} cannot be a property")
        return kind + "[]"
    raise BadInput(f"a value of type {type(value).__name__} cannot be bulk loaded")


def quote(text: str) -> str:
    """A CSV string field: always quoted (an empty unquoted field is no value), inner
    quotes doubled."""
    return '"' + text.replace('"', '""') + '"'


def double_text(value: float) -> str:
    """A float as Java's ``Double.parseDouble`` reads it back to the same double."""
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def long_text(value: int) -> str:
    v = int(value)
    if not _LONG_MIN <= v <= _LONG_MAX:
        raise BadInput(f"integer {v} does not fit in a 64-bit property")
    return str(v)


def _element(value: Any, kind: str) -> str:
    if kind == "string":
        if ARRAY_DELIMITER in value:
            raise BadInput(f"{value!r} holds the array delimiter U+001F")
        return str(value)
    return _SCALAR_ENCODERS[kind](value)


def array_text(values: Sequence[Any], kind: str) -> str:
    """An array field (``kind`` is the element type): elements joined by the array
    delimiter, quoted. A list whose text is empty would read back as no value."""
    text = ARRAY_DELIMITER.join(_element(v, kind) for v in values)
    if not text:
        raise BadInput(f"{list(values)!r} cannot be bulk loaded; load without --bulk")
    return quote(text)


_SCALAR_ENCODERS: Final[dict[str, Callable[[Any], str]]] = {
    "string": lambda v: quote(str(v)),
    "long": long_text,
    "double": double_text,
    "boolean": lambda v: "true" if v else "false",
    POINT: lambda p: quote(f"{{x:{double_text(p.x)},y:{double_text(p.y)},z:{double_text(p.z)}}}"),
}


def csv_field(value: Any, kind: str) -> str:
    """``value`` as a field of a column of type ``kind``; None is the empty field."""
    if value is None:
        return ""
    encode = _SCALAR_ENCODERS.get(kind)
    if encode is None:
        return array_text(value, kind[:-2])
    return encode(value)


def header_line(keys: Sequence[str], columns: Sequence[tuple[str, str]]) -> str:
    """A header: the id columns (``:ID(Cell)``, ``:START_ID(Cell)``...) then ``name:type``."""
    return ",".join([*keys, *(f"{name}:{kind}" for name, kind in columns)]) + "\n"


# -- CSV files --------------------------------------------------------------------------


@dataclass
class _Group:
    """One data file of a table: the rows whose property types agree."""

    kinds: list[str | None]
    data: Path
    header: Path
    lines: list[tuple[int, str]] = field(default_factory=list)
    out: Any = None


class CsvTable:
    """The rows of one node label set or relationship type as neo4j-admin CSV files.

    A property's type shows only in its values, and a source may give a property as an
    integer in one row and a float in another (the driver stores each as given): each
    assignment of types gets its own data file, and every header, in its own file, is
    written at the end, when the types are known. ``buffered`` tables keep their lines
    until :meth:`close` appends a tail to each (the cells' statistics, known only after
    the connections).

    Args:
        directory: where the files go.
        name: file name stem.
        labels: node labels, or the relationship type.
        keys: the id columns' headers, e.g. ``(":ID(Cell)",)``.
        columns: property names, in order.
        tail: ``(name, type)`` of the columns :meth:`close` appends (buffered tables).
    """

    def __init__(
        self,
        directory: Path,
        name: str,
        labels: tuple[str, ...],
        keys: tuple[str, ...],
        columns: tuple[str, ...],
        *,
        tail: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.directory = directory
        self.name = name
        self.labels = labels
        self.keys = keys
        self.columns = columns
        self.tail = tail
        self.buffered = bool(tail)
        self.rows = 0
        self.multiline = False
        self._groups: list[_Group] = []
        self._by_kinds: dict[tuple[str | None, ...], _Group] = {}

    def _group(self, kinds: tuple[str | None, ...]) -> _Group:
        for g in self._groups:
            if all(k is None or g.kinds[i] in (None, k) for i, k in enumerate(kinds)):
                for i, k in enumerate(kinds):
                    if k is not None:
                        g.kinds[i] = k
                return g
        n = len(self._groups)
        g = _Group(
            list(kinds),
            self.directory / f"{self.name}_{n}.csv",
            self.directory / f"{self.name}_{n}.header.csv",
        )
        if not self.buffered:
            g.out = g.data.open("w", encoding="utf-8", newline="")
        self._groups.append(g)
        return g

    def add(self, ids: Sequence[int], props: Mapping[str, Any], tag: int = 0) -> None:
        """One row: its ids and its properties (None, or a key not in ``columns``, is no
        value); ``tag`` identifies the row to :meth:`close`'s tail."""
        values = [props.get(c) for c in self.columns]
        # the common scalar types by a dict lookup: this runs once per row
        kinds = tuple(
            [None if v is None else (_SCALAR_TYPES.get(type(v)) or csv_type(v)) for v in values]
        )
        g = self._by_kinds.get(kinds)
        if g is None:
            g = self._by_kinds[kinds] = self._group(kinds)
        fields = [str(i) for i in ids]
        for v, k in zip(values, kinds, strict=True):
            fields.append("" if k is None else csv_field(v, k))
        line = ",".join(fields)
        if "\n" in line or "\r" in line:
            self.multiline = True
        if self.buffered:
            g.lines.append((tag, line))
        else:
            g.out.write(line + "\n")
        self.rows += 1

    def close(self, tail: Callable[[int], str] | None = None) -> list[ImportFiles]:
        """Write the headers (and a buffered table's lines, each followed by
        ``tail(tag)``); the files to import, one group per data file."""
        out = []
        for g in self._groups:
            if self.buffered:
                if tail is None:
                    raise ValueError(f"{self.name}: a buffered table needs its tail")
                with g.data.open("w", encoding="utf-8", newline="") as f:
                    for tag, line in g.lines:
                        f.write(line + "," + tail(tag) + "\n")
                g.lines = []
            else:
                g.out.close()
            columns = [(c, k or "string") for c, k in zip(self.columns, g.kinds, strict=True)]
            g.header.write_text(header_line(self.keys, [*columns, *self.tail]), encoding="utf-8")
            out.append(ImportFiles(self.labels, (g.header, g.data)))
        return out

    def discard(self) -> None:
        for g in self._groups:
            if g.out is not None and not g.out.closed:
                g.out.close()


# -- the load ---------------------------------------------------------------------------


@dataclass
class ImportPlan:
    """CSV files written from one source, and what the load reports and records."""

    nodes: list[ImportFiles]
    relationships: list[ImportFiles]
    multiline: bool
    counts: dict[str, int]
    cell_types: int
    #: source rows per phase (the Dataset node records their batches)
    rows: dict[str, int]


def _counted(rows: Iterator[Row], progress: Progress) -> Iterator[Row]:
    n = 0
    for r in rows:
        yield r
        n += 1
        if n == _PROGRESS_EVERY:
            progress.advance(n)
            n = 0
    progress.advance(n)


class BulkLoader:
    """Loads one Source into the empty database of the local server by an offline import.

    Args:
        settings: the local server's settings (its home, ports, memory, database); the
            loader connects with them itself (see the module docstring).
        batch_size: recorded on the Dataset node as a transactional load records it.
        progress: receives phase starts and row counts (e.g. a rich progress bar).
        workdir: where the temporary CSV directory goes (default: the system's).
    """

    def __init__(
        self,
        settings: Settings,
        batch_size: int = 10_000,
        progress: Progress | None = None,
        workdir: Path | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.settings = settings
        self.database = settings.neo4j_database
        self.batch_size = batch_size
        self.progress = progress or NoProgress()
        self.workdir = workdir

    # -- public -----------------------------------------------------------------

    def load(self, source: Source) -> LoadResult:
        """Check that the store is empty, write the CSV files, import them, finish."""
        self.check_store()
        fp = source.fingerprint()
        with tempfile.TemporaryDirectory(prefix="connectomedb-bulk-", dir=self.workdir) as tmp:
            work = Path(tmp)
            plan = self.write_csv(source, work)
            try:
                self._import(plan, work)
                self._finish(source, fp, plan)
            except BaseException as e:
                self._empty_again(e, work)
                if isinstance(e, Exception):
                    raise BulkLoadFailed(
                        f"bulk load of {source.meta.id!r} failed and the database was emptied "
                        f"again: {e}"
                    ) from e
                raise
        return LoadResult(source.meta.id, "loaded", plan.counts)

    def check_store(self) -> None:
        """Refuse unless this is the local server and its database holds nothing an
        import would destroy: no node, no index or constraint the model lacks."""
        s = self.settings
        if not s.local:
            raise ConfigError(
                f"--bulk runs Neo4j's offline importer on the local server's files; "
                f"CONNECTOMEDB_NEO4J_URI names another server ({s.neo4j_uri}): load without --bulk"
            )
        st = localneo4j.status(s)
        if not st["running"]:
            raise ConfigError(
                f"the local Neo4j under {st['home']} is not running (another may answer on "
                f"{st['uri']}); start it with `connectomedb neo4j start`"
            )
        with make_driver(s) as driver:
            self._check_empty(driver)

    def _check_empty(self, driver: neo4j.Driver) -> None:
        recs, _, _ = driver.execute_query(STORE_CONTENTS, database_=self.database)
        r = recs[0]
        n = r["nodes"]
        if n:
            held = f"labels {', '.join(r['labels'])}"
            if r["datasets"]:
                held += f"; datasets {', '.join(r['datasets'])}"
            raise BadInput(
                f"the store already holds {n:,} node{'' if n == 1 else 's'} ({held}); --bulk "
                "loads only into an empty store: load without --bulk"
            )
        recs, _, _ = driver.execute_query(LOOKUP_INDEXES, database_=self.database)
        lookups = {rec["name"] for rec in recs}
        extra = existing_schema_names(driver, self.database) - expected_names() - lookups
        if extra:
            raise BadInput(
                f"the database has indexes or constraints the model does not define "
                f"({', '.join(sorted(extra))}); an import would drop them: load without --bulk"
            )

    def write_csv(self, source: Source, directory: Path) -> ImportPlan:
        """Check every row as the transactional writer does and write the CSV files."""
        tables: list[CsvTable] = []

        def table(*args: Any, **kw: Any) -> CsvTable:
            t = CsvTable(directory, *args, **kw)
            tables.append(t)
            return t

        try:
            return _Writer(self, source, table).run()
        finally:
            for t in tables:
                t.discard()

    # -- the server ----------------------------------------------------------------

    def _import(self, plan: ImportPlan, work: Path) -> None:
        s = self.settings
        self.progress.phase("stop neo4j", 1)
        localneo4j.stop(s)
        self.progress.advance(1)
        self.progress.phase("import", None)
        localneo4j.import_full(
            s,
            plan.nodes,
            plan.relationships,
            report_file=work / "import.report",
            multiline=plan.multiline,
            on_stage=lambda _stage: self.progress.advance(1),
        )
        self.progress.phase("start neo4j", 1)
        localneo4j.start(s)
        self.progress.advance(1)

    def _finish(self, source: Source, fp: str, plan: ImportPlan) -> None:
        """Schema, then the Dataset node as DatasetWriter leaves it, in one transaction."""
        self.progress.phase("finishing", 2)
        with make_driver(self.settings) as driver:
            self._write_dataset(driver, source, fp, plan)
        self.progress.advance(1)

    def _write_dataset(
        self, driver: neo4j.Driver, source: Source, fp: str, plan: ImportPlan
    ) -> None:
        init_schema(driver, self.database)
        self.progress.advance(1)
        meta = source.meta
        props = meta.model_dump(exclude={"id"})
        props["source_files"] = list(meta.source_files)
        props["fingerprint"] = fp
        props["visibility"] = "private"
        props["batch_size"] = self.batch_size
        batches = {p: -(-n // self.batch_size) for p, n in plan.rows.items()}
        stored: dict[str, Any] = {COUNT_FIELDS[k]: v for k, v in plan.counts.items()}
        stored["cell_type_count"] = plan.cell_types

        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run(ingest.NEW_DATASET, id=meta.id, props=props).consume()
            tx.run(MARK_ALL_DONE, dataset=meta.id, batches=batches).consume()
            tx.run(ingest.FINISH_DATASET, dataset=meta.id, counts=stored).consume()

        with driver.session(database=self.database) as session:
            session.execute_write(work)

    def _empty_again(self, cause: BaseException, work: Path) -> None:
        """After a failure past the server's stop: an empty database with the schema."""
        s = self.settings
        try:
            localneo4j.stop(s)
            localneo4j.empty_database(s, work)
            localneo4j.start(s)
            with make_driver(s) as driver:
                init_schema(driver, self.database)
        except Exception as e:
            raise BulkLoadFailed(
                f"bulk load failed ({cause}), and emptying the database again failed too "
                f"({e}); stop Neo4j and remove {localneo4j.layout(s).data} to start afresh"
            ) from cause


class _Writer:
    """One pass over a source into CSV tables, with the writer's checks and counts."""

    def __init__(self, loader: BulkLoader, source: Source, table: Callable[..., CsvTable]) -> None:
        self.source = source
        self.ds = source.meta.id
        self.progress = loader.progress
        self.table = table
        self.check = RowChecks(dict(getattr(source, "columns", {}) or {}))
        self.index: dict[str, int] = {}
        self.kinds: list[str] = []
        self.types: dict[str, list[int]] = {}
        self.rows: dict[str, int] = dict.fromkeys(ingest.PHASES, 0)
        self.totals = dict.fromkeys(
            (
                "connections",
                "chemical_synapse_total",
                "gap_junctions",
                "gap_junction_total",
                "synapses",
            ),
            0,
        )

    def _rows(self, phase: str, rows: Iterator[Row]) -> Iterator[Row]:
        self.progress.phase(phase, None)
        for r in _counted(rows, self.progress):
            self.rows[phase] += 1
            yield r

    def run(self) -> ImportPlan:
        neurons = self.table(
            "neurons", (CELL, NEURON), (":ID(Cell)",), CELL_COLUMNS, tail=_stat_tail()
        )
        others = self.table(
            "non_neuronal", (CELL, NON_NEURONAL), (":ID(Cell)",), CELL_COLUMNS, tail=_stat_tail()
        )
        self.cells(neurons, others)
        n = len(self.index)
        stats = {k: [0] * n for k in STAT_COLUMNS}
        chemical = self.table(
            "connects_to", (CONNECTS_TO,), (":START_ID(Cell)", ":END_ID(Cell)"), CONNECTION_COLUMNS
        )
        self.connections(chemical, stats)
        electrical = self.table(
            "gap_junction", (GAP_JUNCTION,), (":START_ID(Cell)", ":END_ID(Cell)"), ("count",)
        )
        self.gap_junctions(electrical, stats)
        synapses = self.table("synapses", (SYNAPSE,), (":ID(Synapse)",), SYNAPSE_COLUMNS)
        pre = self.table("presynaptic", (PRESYNAPTIC,), (":START_ID(Cell)", ":END_ID(Synapse)"), ())
        post = self.table(
            "postsynaptic", (POSTSYNAPTIC,), (":START_ID(Synapse)", ":END_ID(Cell)"), ()
        )
        self.synapses(synapses, pre, post)
        cell_types = self.table(
            "cell_types", (CELL_TYPE,), (":ID(CellType)",), ("dataset", "name", "level")
        )
        has_type = self.table("has_type", (HAS_TYPE,), (":START_ID(Cell)", ":END_ID(CellType)"), ())
        for j, (name, members) in enumerate(self.types.items()):
            cell_types.add((j,), {"dataset": self.ds, "name": name, "level": "type"})
            for i in members:
                has_type.add((i, j), {})

        cols = [stats[k] for k in STAT_COLUMNS]

        def tail(i: int) -> str:
            return ",".join(str(c[i]) for c in cols)

        node_files = neurons.close(tail) + others.close(tail)
        node_files += synapses.close() + cell_types.close()
        rel_files: list[ImportFiles] = []
        for t in (chemical, electrical, pre, post, has_type):
            rel_files += t.close()
        n_neurons = sum(1 for k in self.kinds if k == "neuron")
        counts = {
            "neurons": n_neurons,
            "non_neuronal": n - n_neurons,
            **{
                k: self.totals[k]
                for k in (
                    "connections",
                    "chemical_synapse_total",
                    "gap_junctions",
                    "gap_junction_total",
                    "synapses",
                )
            },
        }
        if not node_files:  # the importer needs one node group, even an empty one
            node_files = [_empty_cells(neurons)]
        multiline = any(t.multiline for t in (neurons, others, chemical, synapses, cell_types))
        return ImportPlan(node_files, rel_files, multiline, counts, len(self.types), self.rows)

    def cells(self, neurons: CsvTable, others: CsvTable) -> None:
        """As ``DatasetWriter._write_cells``: the same checks, the same properties."""
        index, kinds, types = self.index, self.kinds, self.types
        first_row: dict[str, Where] = {}
        col = self.check.col
        for where, props in self._rows("neurons", iter(self.source.neurons())):
            cid = props.get("id")
            if not isinstance(cid, str) or not cid.strip():
                raise where.error("missing cell id", col(where, "id"))
            if cid in index:
                prev = first_row[cid]
                raise where.error(
                    f"duplicate id {cid!r} (first at row {prev.row})", col(where, "id")
                )
            kind = props.get("kind", "neuron")
            if kind not in CELL_KINDS:
                raise where.error(f"unknown cell kind {kind!r}", "kind")
            unknown = set(props) - _CELL_PROPS
            if unknown:
                raise where.error(f"unsupported cell properties {sorted(unknown)}")
            i = index[cid] = len(kinds)
            first_row[cid] = where
            kinds.append(kind)
            t = props.get("type")
            if t:
                types.setdefault(str(t), []).append(i)
            row = {k: v for k, v in props.items() if v is not None}
            row.setdefault("name", cid)
            row["kind"] = kind
            row["dataset"] = self.ds
            (neurons if kind == "neuron" else others).add((i,), row, tag=i)

    def connections(self, table: CsvTable, stats: dict[str, list[int]]) -> None:
        """As ``DatasetWriter._write_connections``; a source that sums rows per pair
        (``aggregate_connections``) is summed here as ``ingest.ADD_CONNECTIONS`` sums."""
        index, pair = self.index, self.check.pair
        n = max(len(index), 1)
        seen: set[int] = set()
        aggregate = self.source.aggregate_connections
        summed: dict[int, list[Any]] = {}
        out_deg, in_deg = stats["out_degree"], stats["in_degree"]
        pre_syn, post_syn = stats["pre_synapses"], stats["post_synapses"]
        totals = self.totals
        for where, props in self._rows("connections", iter(self.source.connections())):
            a, b, c = pair(index, where, props, ("pre", "post"), "synapse_count")
            key = a * n + b
            if key in seen:
                if not aggregate:
                    raise where.error(
                        f"duplicate connection {props['pre']!r} -> {props['post']!r}",
                        self.check.col(where, "post"),
                    )
            else:
                seen.add(key)
                out_deg[a] += 1
                in_deg[b] += 1
                totals["connections"] += 1
            pre_syn[a] += c
            post_syn[b] += c
            totals["chemical_synapse_total"] += c
            psd, neuropil, nt = (props.get(k) for k in ("psd_area_total", "neuropil", "nt_type"))
            if not aggregate:
                w = props.get("weight")
                rel = {
                    "synapse_count": c,
                    "weight": c if w is None else w,
                    "psd_area_total": psd,
                    "neuropils": None if neuropil is None else [neuropil],
                    "nt_type": nt,
                }
                table.add((a, b), rel)
                continue
            # [a, b, synapse_count, rows, psd_area_total, neuropils, nt_type]
            s = summed.get(key)
            if s is None:
                s = summed[key] = [a, b, c, 1, None, None, None]
            else:
                s[2] += c
                s[3] += 1
            if psd is not None:
                s[4] = (0.0 if s[4] is None else s[4]) + psd
            if neuropil is not None:
                if s[5] is None:
                    s[5] = [neuropil]
                elif neuropil not in s[5]:
                    s[5].append(neuropil)
            if nt is not None:
                s[6] = nt
        for a, b, c, rows, psd, neuropils, nt in summed.values():
            rel = {
                "synapse_count": c,
                "rows": rows,
                "weight": c,
                "psd_area_total": psd,
                "neuropils": neuropils,
                "nt_type": nt,
            }
            table.add((a, b), rel)

    def gap_junctions(self, table: CsvTable, stats: dict[str, list[int]]) -> None:
        """As ``DatasetWriter._write_gap_junctions``: one relationship per unordered pair,
        from the cell listed first in the cells to the other."""
        index, pair = self.index, self.check.pair
        n = max(len(index), 1)
        seen: set[int] = set()
        degree = stats["gap_junction_degree"]
        for where, props in self._rows("gap_junctions", iter(self.source.gap_junctions())):
            a, b, c = pair(index, where, props, ("a", "b"), "count")
            lo, hi = (a, b) if a <= b else (b, a)
            key = lo * n + hi
            if key in seen:
                raise where.error(
                    f"duplicate gap junction {props['a']!r} -- {props['b']!r}",
                    self.check.col(where, "b"),
                )
            seen.add(key)
            degree[a] += 1
            if b != a:
                degree[b] += 1
            self.totals["gap_junctions"] += 1
            self.totals["gap_junction_total"] += c
            table.add((lo, hi), {"count": c})

    def synapses(self, nodes: CsvTable, pre: CsvTable, post: CsvTable) -> None:
        """As ``DatasetWriter._write_synapses``: (pre)-[:PRESYNAPTIC]->(:Synapse)
        -[:POSTSYNAPTIC]->(post). Duplicate ids, which the writer learns from the
        synapse_key constraint, are found from the ids' hashes (8 bytes a synapse) and
        located by a second pass only when two hashes agree."""
        index, lookup, col = self.index, self.check.lookup, self.check.col
        hashes = array("q")
        k = 0
        for where, props in self._rows("synapses", iter(self.source.synapses())):
            sid = props.get("id")
            if not isinstance(sid, str) or not sid:
                raise where.error("missing synapse id", col(where, "synapse_id", "id"))
            a = lookup(index, where, props, "pre")
            b = lookup(index, where, props, "post")
            hashes.append(hash(sid))
            x, y, z = props.get("x"), props.get("y"), props.get("z")
            # point() of a null coordinate is null
            loc = None if x is None or y is None or z is None else Point3(x, y, z)
            kind = props.get("kind")
            row = {
                "dataset": self.ds,
                "id": sid,
                "kind": "chemical" if kind is None else kind,
                "confidence": props.get("confidence"),
                "psd_area": props.get("psd_area"),
                "neurotransmitter": props.get("neurotransmitter"),
                "region": props.get("region"),
                "location": loc,
            }
            nodes.add((k,), row)
            pre.add((a, k), {})
            post.add((k, b), {})
            k += 1
        self.totals["synapses"] = k
        h = np.frombuffer(hashes, dtype=np.int64)
        values, counts = np.unique(h, return_counts=True)
        twice = set(values[counts > 1].tolist())
        if twice:
            self._duplicate_synapse(twice)

    def _duplicate_synapse(self, hashes: set[int]) -> None:
        """Raise at the second row of the first id that occurs twice (hashes may also
        agree by chance: then nothing is raised)."""
        first: dict[str, Where] = {}
        col = self.check.col
        for where, props in self.source.synapses():
            sid = props.get("id")
            if not isinstance(sid, str) or hash(sid) not in hashes:
                continue
            if sid in first:
                raise where.error(
                    f"duplicate synapse id {sid!r} (first at row {first[sid].row})",
                    col(where, "synapse_id", "id"),
                )
            first[sid] = where


def _stat_tail() -> tuple[tuple[str, str], ...]:
    return tuple((c, "long") for c in STAT_COLUMNS)


def _empty_cells(table: CsvTable) -> ImportFiles:
    """A header and no rows: what the importer needs when a source has no cells."""
    header = table.directory / "no_cells.header.csv"
    data = table.directory / "no_cells.csv"
    header.write_text(header_line(table.keys, [(c, "string") for c in table.columns]))
    data.write_text("")
    return ImportFiles(table.labels, (header, data))
