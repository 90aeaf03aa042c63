"""Stream a Source into Neo4j in batched transactions, exactly once, resumably.

Every batch is written in one transaction together with its batch number
(``Dataset.done_<phase>``), so after an interruption a new run re-reads (and
re-validates) the input, skips the batches already committed and writes the rest
as new nodes and relationships: no duplicates, and no cost of matching existing ones. A dataset is ``loading`` until its final
transaction marks it ``ready``. Bad input raises ``LoaderError`` before the batch
holding it is written; the rows already written are then removed and the dataset
is marked ``failed`` with the message.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import neo4j
import numpy as np

from connectomedb.errors import BadInput, ConnectomeDBError, LoaderError
from connectomedb.loaders.base import CELL_KINDS, Row, Source, Where
from connectomedb.schema.graph import CELL_PROPERTIES, NEURON, NON_NEURONAL
from connectomedb.store import ingest
from connectomedb.store.datasets import (
    COUNT_FIELDS,
    counts_of,
    delete_dataset,
    delete_dataset_content,
)
from connectomedb.store.driver import READ, chained_session

_CELL_PROPS = frozenset(CELL_PROPERTIES)


class Progress(Protocol):
    def phase(self, name: str, total: int | None) -> None: ...
    def advance(self, n: int) -> None: ...


class NoProgress:
    def phase(self, name: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


@dataclass
class LoadResult:
    dataset: str
    status: str  # "loaded", "resumed", "unchanged"
    counts: dict[str, int] = field(default_factory=dict)


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _prefetch(it: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Run ``it`` in a thread so parsing overlaps with the database round trip.

    The thread ends whenever the consumer stops (normally, by an exception or by
    closing this generator): every put gives up once ``stop`` is set."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(msg: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(msg, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in it:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as e:  # handed to the consumer, re-raised there
            put(("error", e))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    t = threading.Thread(target=work, daemon=True, name="cdb-prefetch")
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                break
        t.join(timeout=30)


@dataclass
class _Cells:
    """The written cells, as the later phases need them: position by id, element id by
    position, per-cell counts (``stats``) and the dataset's totals, both added to."""

    index: dict[str, int]
    eids: list[str]
    stats: dict[str, np.ndarray]
    totals: dict[str, int]


class DatasetWriter:
    """Writes one Source as one dataset.

    Args:
        driver: a sync Neo4j driver.
        database: the Neo4j database name.
        batch_size: rows per transaction (a resumed load keeps the size it started with).
        writers: transactions written concurrently.
        progress: receives phase starts and row counts (e.g. a rich progress bar).
    """

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str = "neo4j",
        batch_size: int = 10_000,
        progress: Progress | None = None,
        writers: int = 3,
    ) -> None:
        if batch_size < 1 or writers < 1:
            raise ValueError("batch_size and writers must be at least 1")
        self.driver = driver
        self.database = database
        self.batch_size = self._requested_batch_size = batch_size
        self.writers = writers
        self.progress = progress or NoProgress()
        self._columns: dict[str, str] = {}
        self._checks = RowChecks({})

    # -- public ---------------------------------------------------------------

    def load(self, source: Source, *, replace: bool = False) -> LoadResult:
        meta = source.meta
        fp = source.fingerprint()
        self.batch_size = self._requested_batch_size
        self._columns = dict(getattr(source, "columns", {}) or {})
        self._checks = RowChecks(self._columns)
        existing = self._get_dataset(meta.id)
        status = "loaded"
        if existing is not None:
            same = existing.get("fingerprint") == fp
            if replace:
                delete_dataset(self.driver, meta.id, self.database)
                existing = None
            elif existing.get("status") == "ready" and same:
                return LoadResult(meta.id, "unchanged", counts_of(existing))
            elif existing.get("status") == "loading" and same:
                status = "resumed"
                self.batch_size = int(existing.get("batch_size") or self.batch_size)
            else:
                raise BadInput(
                    f"dataset {meta.id!r} already exists (status {existing.get('status')}"
                    f"{'' if same else ', loaded from different input'}); remove it with "
                    f"`connectomedb dataset delete {meta.id}` or load with --replace"
                )
        if existing is None:
            props = meta.model_dump(exclude={"id"})
            props["source_files"] = list(meta.source_files)
            props["fingerprint"] = fp
            props["visibility"] = "private"
            props["batch_size"] = self.batch_size
            self.driver.execute_query(
                ingest.NEW_DATASET, id=meta.id, props=props, database_=self.database
            )
            existing = {}
        try:
            result = self._write(source, existing)
        except LoaderError as e:
            self._fail(meta.id, str(e))
            raise
        result.status = status
        return result

    # -- phases ---------------------------------------------------------------

    def _write(self, source: Source, state: dict[str, Any]) -> LoadResult:
        ds = source.meta.id
        res = LoadResult(ds, "loaded")
        index: dict[str, int] = {}
        kinds: list[str] = []
        types: dict[str, list[int]] = {}
        self._write_cells(source, ds, _done(state, "neurons"), index, kinds, types)
        eids = self._element_ids(ds, index)
        n = len(index)
        stats = {
            k: np.zeros(n, dtype=np.int64)
            for k in ("in_degree", "out_degree", "pre_synapses", "post_synapses", "gj_degree")
        }
        totals = {
            "connections": 0,
            "chemical_synapse_total": 0,
            "gap_junctions": 0,
            "gap_junction_total": 0,
            "synapses": 0,
        }
        cells = _Cells(index, eids, stats, totals)
        self._write_connections(source, ds, _done(state, "connections"), cells)
        self._write_gap_junctions(source, ds, _done(state, "gap_junctions"), cells)
        self._write_synapses(source, ds, _done(state, "synapses"), cells)
        n_neurons = sum(1 for k in kinds if k == "neuron")
        res.counts = {
            "neurons": n_neurons,
            "non_neuronal": n - n_neurons,
            "connections": totals["connections"],
            "chemical_synapse_total": totals["chemical_synapse_total"],
            "gap_junctions": totals["gap_junctions"],
            "gap_junction_total": totals["gap_junction_total"],
            "synapses": totals["synapses"],
        }
        self._finish(ds, eids, types, stats, res.counts)
        return res

    def _run_batches(
        self,
        ds: str,
        phase: str,
        rows: Iterator[Row],
        done: frozenset[int],
        prepare: Callable[[list[Row]], list[tuple[str, dict[str, Any]]]],
        *,
        concurrent: bool = True,
        locate: Callable[[int, neo4j.exceptions.ConstraintError], Exception] | None = None,
    ) -> None:
        """Validate ``rows`` batch by batch, in order, and write the batches not in ``done``.

        Validation runs in a producer thread; writes run on up to ``self.writers``
        connections at once (relationship creation scales with concurrent
        transactions; Neo4j's deadlock detection plus ``execute_write``'s retry
        handle lock conflicts). Each batch commits together with its index in
        ``Dataset.done_<phase>``. A LoaderError stops the producer; batches already
        in flight are allowed to finish before it propagates.
        """
        self.progress.phase(phase, None)
        workers = self.writers if concurrent else 1

        def prepared() -> Iterator[tuple[int, int, list[tuple[str, dict[str, Any]]] | None]]:
            for i, batch in enumerate(_batches(rows, self.batch_size)):
                stmts = prepare(batch)  # validates; raises LoaderError before any write
                yield i, len(batch), (None if i in done else stmts)

        def write(i: int, stmts: list[tuple[str, dict[str, Any]]]) -> None:
            try:
                self._write_batch(ds, stmts, phase, i)
            except neo4j.exceptions.ConstraintError as e:
                if locate is None:
                    raise
                raise locate(i, e) from e

        if workers == 1:
            for i, n, stmts in _prefetch(prepared()):
                if stmts is not None:
                    write(i, stmts)
                self.progress.advance(n)
            return
        pending: set[Future[None]] = set()
        with ThreadPoolExecutor(workers, thread_name_prefix="cdb-writer") as pool:
            try:
                for i, n, stmts in _prefetch(prepared(), depth=workers):
                    if stmts is None:
                        self.progress.advance(n)
                        continue
                    while len(pending) >= workers:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for f in finished:
                            f.result()
                    fut = pool.submit(write, i, stmts)
                    fut.add_done_callback(partial(_advance, self.progress, n))
                    pending.add(fut)
            finally:
                finished, _ = wait(pending)
            for f in finished:
                f.result()

    def _write_batch(
        self, ds: str, stmts: list[tuple[str, dict[str, Any]]], phase: str, index: int
    ) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            for q, params in stmts:
                tx.run(q, params).consume()
            rec = tx.run(ingest.MARK_BATCH[phase], dataset=ds, index=index).single()
            if rec is None or rec["marked"] != 1:  # raising rolls the batch back
                raise ConnectomeDBError(
                    f"dataset {ds!r} stopped loading (deleted or failed) while being written"
                )

        with chained_session(self.driver, self.database) as s:
            s.execute_write(work)

    def _write_cells(
        self,
        source: Source,
        ds: str,
        done: frozenset[int],
        index: dict[str, int],
        kinds: list[str],
        types: dict[str, list[int]],
    ) -> None:
        first_row: dict[str, Where] = {}

        def prepare(batch: list[Row]) -> list[tuple[str, dict[str, Any]]]:
            neurons: list[dict[str, Any]] = []
            others: list[dict[str, Any]] = []
            for where, props in batch:
                cid = props.get("id")
                if not isinstance(cid, str) or not cid.strip():
                    raise where.error("missing cell id", self._checks.col(where, "id"))
                if cid in index:
                    prev = first_row[cid]
                    raise where.error(
                        f"duplicate id {cid!r} (first at row {prev.row})",
                        self._checks.col(where, "id"),
                    )
                kind = props.get("kind", "neuron")
                if kind not in CELL_KINDS:
                    raise where.error(f"unknown cell kind {kind!r}", "kind")
                unknown = set(props) - _CELL_PROPS
                if unknown:
                    raise where.error(f"unsupported cell properties {sorted(unknown)}")
                index[cid] = len(kinds)
                first_row[cid] = where
                kinds.append(kind)
                t = props.get("type")
                if t:
                    types.setdefault(str(t), []).append(index[cid])
                row = {k: v for k, v in props.items() if v is not None}
                row.setdefault("name", cid)
                row["kind"] = kind
                (neurons if kind == "neuron" else others).append(row)
            stmts = []
            for label, group in ((NEURON, neurons), (NON_NEURONAL, others)):
                if group:
                    keys = set().union(*group)  # only the properties this batch has
                    stmts.append((ingest.create_cells(label, keys), {"rows": group, "dataset": ds}))
            if not stmts:
                stmts.append((ingest.NOTHING, {"dataset": ds}))
            return stmts

        self._run_batches(ds, "neurons", iter(source.neurons()), done, prepare)

    def _element_ids(self, ds: str, index: dict[str, int]) -> list[str]:
        eids = [""] * len(index)
        # on a secondary of a cluster, once it holds the cells just written (bookmarks)
        recs, _, _ = self.driver.execute_query(
            ingest.CELL_ELEMENT_IDS, dataset=ds, database_=self.database, routing_=READ
        )
        for cid, eid in zip(recs[0]["ids"], recs[0]["eids"], strict=True):
            i = index.get(cid)
            if i is None:
                raise BadInput(
                    f"dataset {ds!r} holds cell {cid!r} that the input lacks; load with --replace"
                )
            eids[i] = eid
        missing = [cid for cid, i in index.items() if not eids[i]]
        if missing:
            raise BadInput(f"dataset {ds!r} is missing cells {missing[:5]}; load with --replace")
        return eids

    def _write_connections(
        self, source: Source, ds: str, done: frozenset[int], cells: _Cells
    ) -> None:
        index, eids, stats, totals = cells.index, cells.eids, cells.stats, cells.totals
        n = max(len(index), 1)
        seen_pairs: set[int] = set()
        aggregate = source.aggregate_connections
        pair = self._checks.pair
        query = ingest.ADD_CONNECTIONS if aggregate else ingest.NEW_CONNECTIONS

        def prepare(batch: list[Row]) -> list[tuple[str, dict[str, Any]]]:
            rows = []
            pre_idx = np.empty(len(batch), dtype=np.int64)
            post_idx = np.empty(len(batch), dtype=np.int64)
            counts = np.empty(len(batch), dtype=np.int64)
            new_pair = np.zeros(len(batch), dtype=bool)
            for k, (where, props) in enumerate(batch):
                a, b, c = pair(index, where, props, ("pre", "post"), "synapse_count")
                key = a * n + b
                if key in seen_pairs:
                    if not aggregate:
                        raise where.error(
                            f"duplicate connection {props['pre']!r} -> {props['post']!r}",
                            self._checks.col(where, "post"),
                        )
                else:
                    seen_pairs.add(key)
                    new_pair[k] = True
                pre_idx[k], post_idx[k], counts[k] = a, b, c
                row = {"a": eids[a], "b": eids[b], "n": c}
                w = props.get("weight")
                if w is not None:
                    row["w"] = w
                for opt in ("psd_area_total", "neuropil", "nt_type"):
                    if props.get(opt) is not None:
                        row[opt] = props[opt]
                rows.append(row)
            np.add.at(stats["out_degree"], pre_idx[new_pair], 1)
            np.add.at(stats["in_degree"], post_idx[new_pair], 1)
            np.add.at(stats["pre_synapses"], pre_idx, counts)
            np.add.at(stats["post_synapses"], post_idx, counts)
            totals["connections"] += int(new_pair.sum())
            totals["chemical_synapse_total"] += int(counts.sum())
            return [(query, {"rows": rows, "dataset": ds})]

        # adding to the same pair from two transactions at once could create it twice
        self._run_batches(
            ds, "connections", iter(source.connections()), done, prepare, concurrent=not aggregate
        )

    def _write_gap_junctions(
        self, source: Source, ds: str, done: frozenset[int], cells: _Cells
    ) -> None:
        seen: set[int] = set()  # unordered pairs already written
        index, eids, stats, totals = cells.index, cells.eids, cells.stats, cells.totals
        n, pair = max(len(index), 1), self._checks.pair

        def prepare(batch: list[Row]) -> list[tuple[str, dict[str, Any]]]:
            rows = []
            for where, props in batch:
                a, b, c = pair(index, where, props, ("a", "b"), "count")
                lo, hi = (a, b) if a <= b else (b, a)
                key = lo * n + hi
                if key in seen:
                    raise where.error(
                        f"duplicate gap junction {props['a']!r} -- {props['b']!r}",
                        self._checks.col(where, "b"),
                    )
                seen.add(key)
                stats["gj_degree"][a] += 1
                if b != a:
                    stats["gj_degree"][b] += 1
                totals["gap_junctions"] += 1
                totals["gap_junction_total"] += c
                rows.append({"a": eids[lo], "b": eids[hi], "count": c})
            return [(ingest.NEW_GAP_JUNCTIONS, {"rows": rows, "dataset": ds})]

        self._run_batches(ds, "gap_junctions", iter(source.gap_junctions()), done, prepare)

    def _write_synapses(self, source: Source, ds: str, done: frozenset[int], cells: _Cells) -> None:
        index, eids, totals = cells.index, cells.eids, cells.totals
        # Ids are checked for duplicates within a batch here and across batches by the
        # synapse_key constraint (a set of every id would grow with the file).
        batch_ids: dict[int, dict[str, Where]] = {}
        counter = iter(range(1 << 62))
        lookup = self._checks.lookup

        def prepare(batch: list[Row]) -> list[tuple[str, dict[str, Any]]]:
            i = next(counter)
            seen: dict[str, Where] = {}
            batch_ids[i] = seen
            batch_ids.pop(i - 4 * self.writers - 8, None)  # long since written
            rows = []
            for where, props in batch:
                sid = props.get("id")
                if not isinstance(sid, str) or not sid:
                    raise where.error(
                        "missing synapse id", self._checks.col(where, "synapse_id", "id")
                    )
                if sid in seen:
                    raise where.error(
                        f"duplicate synapse id {sid!r} (first at row {seen[sid].row})",
                        self._checks.col(where, "synapse_id", "id"),
                    )
                seen[sid] = where
                a = lookup(index, where, props, "pre")
                b = lookup(index, where, props, "post")
                row = {k: v for k, v in props.items() if v is not None and k not in ("pre", "post")}
                row["a"], row["b"] = eids[a], eids[b]
                rows.append(row)
            totals["synapses"] += len(rows)
            return [(ingest.NEW_SYNAPSES, {"rows": rows, "dataset": ds})]

        def locate(i: int, e: neo4j.exceptions.ConstraintError) -> Exception:
            # Concurrent batches may commit out of order, so the batch that failed may hold
            # the first occurrence: report the last one seen, naming the first when known.
            m = re.search(r"`id` = '((?:[^'\\]|\\.)*)'", e.message or "")
            if m is None or m.group(1) not in batch_ids.get(i, {}):
                return e
            sid = m.group(1)
            seen_at = sorted(
                (w for ids in list(batch_ids.values()) if (w := ids.get(sid)) is not None),
                key=lambda w: w.row or 0,
            )
            last = seen_at[-1]
            first = (
                f"first at row {seen_at[0].row}" if len(seen_at) > 1 else "also in an earlier row"
            )
            return last.error(
                f"duplicate synapse id {sid!r} ({first})",
                self._checks.col(last, "synapse_id", "id"),
            )

        self._run_batches(ds, "synapses", iter(source.synapses()), done, prepare, locate=locate)

    def _finish(
        self,
        ds: str,
        eids: list[str],
        types: dict[str, list[int]],
        stats: dict[str, np.ndarray],
        counts: dict[str, int],
    ) -> None:
        self.progress.phase("finishing", len(eids))
        with chained_session(self.driver, self.database) as s:
            for start in range(0, len(eids), self.batch_size):
                stop = min(start + self.batch_size, len(eids))
                cols = {k: v[start:stop].tolist() for k, v in stats.items()}
                chunk = [
                    {"eid": eids[i], **{k: cols[k][i - start] for k in cols}}
                    for i in range(start, stop)
                ]
                s.execute_write(_consume, ingest.SET_CELL_STATS, {"rows": chunk})
                self.progress.advance(len(chunk))
            # HAS_TYPE links in transactions of at most batch_size cells
            pending: list[dict[str, Any]] = []
            size = 0
            for t, idx in types.items():
                for start in range(0, len(idx), self.batch_size):
                    part = idx[start : start + self.batch_size]
                    pending.append({"name": t, "eids": [eids[i] for i in part]})
                    size += len(part)
                    if size >= self.batch_size:
                        s.execute_write(
                            _consume, ingest.LINK_CELL_TYPES, {"rows": pending, "dataset": ds}
                        )
                        pending, size = [], 0
            if pending:
                s.execute_write(_consume, ingest.LINK_CELL_TYPES, {"rows": pending, "dataset": ds})
            stored = {COUNT_FIELDS[k]: v for k, v in counts.items()}
            stored["cell_type_count"] = len(types)
            s.execute_write(_consume, ingest.FINISH_DATASET, {"dataset": ds, "counts": stored})

    # -- helpers --------------------------------------------------------------

    def _get_dataset(self, ds: str) -> dict[str, Any] | None:
        recs, _, _ = self.driver.execute_query(
            ingest.GET_DATASET, id=ds, database_=self.database, routing_=READ
        )
        return dict(recs[0]["d"]) if recs else None

    def _fail(self, ds: str, message: str) -> None:
        # Mark first (one transaction, progress cleared), delete after: a kill in between
        # leaves a 'failed' dataset that no later run would resume.
        self.driver.execute_query(
            ingest.FAIL_DATASET, dataset=ds, error=message, database_=self.database
        )
        delete_dataset_content(self.driver, ds, self.database)


def _consume(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> None:
    tx.run(query, params).consume()


def _advance(progress: Progress, n: int, _future: Future[None]) -> None:
    progress.advance(n)


def _done(state: dict[str, Any], phase: str) -> frozenset[int]:
    return frozenset(int(i) for i in state.get(f"done_{phase}") or ())


class RowChecks:
    """The checks of a row's cells and count, with the messages both load paths give
    (:class:`DatasetWriter` and the bulk loader)."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns

    def col(self, where: Where, prop: str, default: str | None = None) -> str:
        """The column to name in an error: the row's own, else the file's name for ``prop``."""
        return where.column or self.columns.get(prop, default or prop)

    def lookup(self, index: dict[str, int], where: Where, props: dict[str, Any], col: str) -> int:
        cid = props.get(col)
        i = index.get(cid) if isinstance(cid, str) else None
        if i is None:
            if cid is None or (isinstance(cid, str) and not cid.strip()):
                raise where.error("missing neuron id", self.col(where, col))
            raise where.error(f"unknown neuron {cid!r}", self.col(where, col))
        return i

    def pair(
        self,
        index: dict[str, int],
        where: Where,
        props: dict[str, Any],
        ends: tuple[str, str],
        count: str,
    ) -> tuple[int, int, int]:
        """The indices of a row's two cells and its count, checked in that order."""
        a = self.lookup(index, where, props, ends[0])
        b = self.lookup(index, where, props, ends[1])
        c = props.get(count)
        if not isinstance(c, int) or c < 0:
            raise where.error(
                f"{count} must be a non-negative integer, got {c!r}", self.col(where, count)
            )
        return a, b, c
