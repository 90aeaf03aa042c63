"""Cypher and reads for bulk export: a dataset, or the subgraph of selected cells, as
column batches streamed in keyset pages (by id, never SKIP), so that memory stays
bounded by one page whatever the dataset's size.

Four streams, each in a canonical order that depends neither on load order nor on the
dataset id (Neo4j orders strings by code point, as Python does):

- cells, by id;
- chemical connections (``CONNECTS_TO``), by (pre, post), read a page of presynaptic
  cells at a time;
- gap junctions (``GAP_JUNCTION``, stored once per unordered pair), as ``pre`` <= ``post``
  by id (the stored direction is the writer's and carries no meaning), by (pre, post);
- synapses, by synapse id.

The subgraph of a :class:`Selection` is its cells and the connections (and synapses)
among them with at least ``min_weight`` synapses (gap junctions: ``count``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from connectomedb.errors import BadInput, NotFound
from connectomedb.schema.graph import (
    CELL,
    CELL_PROPERTIES,
    CONNECTS_TO,
    DATASET,
    GAP_JUNCTION,
    LEVELS,
    POSTSYNAPTIC,
    PRESYNAPTIC,
    SYNAPSE,
)
from connectomedb.store.graphdb import Store

#: A batch: column name -> values, every column the same length.
Columns = dict[str, list[Any]]

#: Cell columns: every property the graph model defines for a cell.
CELL_COLUMNS: Final[tuple[str, ...]] = CELL_PROPERTIES
#: Connection columns, chemical and electrical alike (``kind``: chemical or electrical;
#: a gap junction's ``synapse_count`` and ``weight`` are its ``count``).
CONNECTION_COLUMNS: Final = (
    "pre",
    "post",
    "kind",
    "synapse_count",
    "weight",
    "psd_area_total",
    "neuropils",
    "nt_type",
)
#: Synapse columns (``x``, ``y``, ``z``: the stored point ``location``).
SYNAPSE_COLUMNS: Final = (
    "id",
    "pre",
    "post",
    "kind",
    "x",
    "y",
    "z",
    "confidence",
    "psd_area",
    "neurotransmitter",
    "region",
)
#: Cells per page of the cell stream and of presynaptic cells per connection page.
PAGE_SIZE: Final = 5_000
MAX_SELECTED_IDS: Final = 100_000


@dataclass(frozen=True)
class Selection:
    """Which cells to export: those with ``ids``, and/or whose property ``level`` holds
    one of ``values``; everything when neither is given. Connections and synapses are
    those among the selected cells with at least ``min_weight`` synapses."""

    ids: tuple[str, ...] | None = None
    level: str | None = None
    values: tuple[str, ...] | None = None
    min_weight: int = 1

    def __post_init__(self) -> None:
        if self.min_weight < 1:
            raise BadInput("min_weight must be at least 1")
        if (self.level is None) != (self.values is None):
            raise BadInput("a level and its values go together (e.g. level=type, values=...)")
        if self.level is not None and self.level not in LEVELS:
            raise BadInput(f"level must be one of {', '.join(LEVELS)}")
        if self.values is not None and not self.values:
            raise BadInput(f"give at least one {self.level} to select")
        if self.ids is not None and not self.ids:
            raise BadInput("give at least one neuron id to select")
        if self.ids is not None and len(self.ids) > MAX_SELECTED_IDS:
            raise BadInput(f"select at most {MAX_SELECTED_IDS} neuron ids")

    @property
    def everything(self) -> bool:
        return self.ids is None and self.level is None and self.min_weight == 1

    def conditions(self, var: str) -> tuple[list[str], dict[str, Any]]:
        """WHERE conditions on the cell variable ``var`` and their parameters (the level
        is whitelisted; values go in parameters)."""
        conds: list[str] = []
        params: dict[str, Any] = {}
        if self.ids is not None:
            conds.append(f"{var}.id IN $ids")
            params["ids"] = list(self.ids)
        if self.level is not None and self.values is not None:
            conds.append(f"{var}.`{self.level}` IN $values")
            params["values"] = list(self.values)
        return conds, params


DATASET_PROPS: Final = f"MATCH (d:{DATASET} {{id: $dataset}}) RETURN d {{.*}} AS d"

_CELL_MAP: Final = ", ".join(f"n.`{p}`" for p in CELL_COLUMNS)


def cells_query(sel: Selection) -> str:
    """A page of selected cells after ``$after`` (by id), each as a list of
    :data:`CELL_COLUMNS` values."""
    conds, _ = sel.conditions("n")
    where = " AND ".join(["n.dataset = $dataset", "n.id > $after", *conds])
    return (
        f"MATCH (n:{CELL}) WHERE {where}\n"
        "WITH n ORDER BY n.id LIMIT $limit\n"
        f"RETURN count(n) AS cells, collect(n.id)[-1] AS last, collect([{_CELL_MAP}]) AS rows"
    )


def _pair_page(sel: Selection, pattern: str, keep: str, columns: str) -> str:
    """A page of presynaptic cells after ``$after`` and, for them, the relationships of
    ``pattern`` (between ``a`` and ``b``) that pass ``keep``, ordered by (a.id, b.id)."""
    a_conds, _ = sel.conditions("a")
    b_conds, _ = sel.conditions("b")
    where_a = " AND ".join(["a.dataset = $dataset", "a.id > $after", *a_conds])
    where_b = " AND ".join([keep, *b_conds])
    return (
        f"MATCH (a:{CELL}) WHERE {where_a}\n"
        "WITH a ORDER BY a.id LIMIT $limit\n"
        "WITH collect(a) AS page\n"
        "CALL (page) {\n"
        "  UNWIND page AS a\n"
        f"  MATCH {pattern} WHERE {where_b}\n"
        "  WITH a, b, r ORDER BY a.id, b.id\n"
        f"  RETURN collect([{columns}]) AS rows\n"
        "}\n"
        "RETURN size(page) AS cells, page[-1].id AS last, rows"
    )


def chemical_query(sel: Selection) -> str:
    keep = "r.synapse_count >= $min_weight" if sel.min_weight > 1 else "true"
    return _pair_page(
        sel,
        f"(a)-[r:{CONNECTS_TO}]->(b)",
        keep,
        "a.id, b.id, 'chemical', r.synapse_count, r.weight, r.psd_area_total, "
        "r.neuropils, r.nt_type",
    )


def electrical_query(sel: Selection) -> str:
    # An undirected match finds each pair from both ends (a self-loop once): keep the end
    # whose id sorts first.
    keep = "a.id <= b.id" + (" AND r.count >= $min_weight" if sel.min_weight > 1 else "")
    return _pair_page(
        sel,
        f"(a)-[r:{GAP_JUNCTION}]-(b)",
        keep,
        "a.id, b.id, 'electrical', r.count, r.count, null, null, null",
    )


def synapses_query(sel: Selection) -> str:
    """A page of synapses after ``$after`` (by id) and those of them among the selected
    cells, each as a list of :data:`SYNAPSE_COLUMNS` values."""
    conds = [*sel.conditions("a")[0], *sel.conditions("b")[0]]
    if sel.min_weight > 1:
        conds.append(
            "CASE s.kind WHEN 'electrical' "
            f"THEN EXISTS {{ MATCH (a)-[g:{GAP_JUNCTION}]-(b) WHERE g.count >= $min_weight }} "
            f"ELSE EXISTS {{ MATCH (a)-[c:{CONNECTS_TO}]->(b) "
            "WHERE c.synapse_count >= $min_weight } END"
        )
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    return (
        f"MATCH (s:{SYNAPSE}) WHERE s.dataset = $dataset AND s.id > $after\n"
        "WITH s ORDER BY s.id LIMIT $limit\n"
        "WITH collect(s) AS page\n"
        "CALL (page) {\n"
        "  UNWIND page AS s\n"
        f"  MATCH (a)-[:{PRESYNAPTIC}]->(s)-[:{POSTSYNAPTIC}]->(b){where}\n"
        "  WITH s, a, b ORDER BY s.id\n"
        "  RETURN collect([s.id, a.id, b.id, s.kind, s.location.x, s.location.y, s.location.z,"
        " s.confidence, s.psd_area, s.neurotransmitter, s.region]) AS rows\n"
        "}\n"
        "RETURN size(page) AS cells, page[-1].id AS last, rows"
    )


def to_columns(rows: list[list[Any]], names: tuple[str, ...]) -> Columns:
    """Rows (lists in the order of ``names``) as columns."""
    if not rows:
        return {n: [] for n in names}
    return {n: list(col) for n, col in zip(names, zip(*rows, strict=True), strict=True)}


class ExportRepository:
    """Streams one dataset (or the subgraph of a selection) in pages of ``page_size``.

    Args:
        store: the async store (its per-request query budget should be off: an export
            runs one query per page).
        dataset: the dataset id (read-checked by the caller).
        selection: which cells; everything by default.
        page_size: cells (or synapses) per query.
    """

    def __init__(
        self,
        store: Store,
        dataset: str,
        selection: Selection | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if page_size < 1:
            raise BadInput("page_size must be at least 1")
        self.store = store
        self.dataset = dataset
        self.selection = selection or Selection()
        self.page_size = page_size

    async def check_ready(self) -> dict[str, Any]:
        """The dataset's properties (counts among them). NotFound for a missing dataset;
        BadInput while it is loading or failed (a page-by-page read of a changing graph
        would not be one consistent export)."""
        recs = await self.store.read("export_dataset", DATASET_PROPS, dataset=self.dataset)
        if not recs:
            raise NotFound(f"dataset {self.dataset!r} not found")
        props: dict[str, Any] = recs[0]["d"]
        if props.get("status") != "ready":
            raise BadInput(
                f"dataset {self.dataset!r} is {props.get('status')}, not ready; "
                "export it once it is loaded"
            )
        return props

    def totals(self, props: dict[str, Any]) -> dict[str, int | None]:
        """Rows each stream will give, from the dataset's stored counts (unknown for a
        selection)."""
        if not self.selection.everything:
            return {"cells": None, "connections": None, "synapses": None}

        def n(*keys: str) -> int:
            return sum(int(props.get(k) or 0) for k in keys)

        return {
            "cells": n("neuron_count", "non_neuronal_count"),
            "connections": n("connection_count", "gap_junction_count"),
            "synapses": n("synapse_count"),
        }

    def _params(self) -> dict[str, Any]:
        _, p1 = self.selection.conditions("n")
        return {
            "dataset": self.dataset,
            "min_weight": self.selection.min_weight,
            "limit": self.page_size,
            **p1,
        }

    async def _pages(
        self, name: str, text: str, columns: tuple[str, ...]
    ) -> AsyncIterator[Columns]:
        """Keyset pages of ``text``; the next page's query runs while the caller works on
        the current one (the cursor is known as soon as a page arrives)."""
        params = self._params()

        async def fetch(after: str) -> dict[str, Any] | None:
            recs = await self.store.read(name, text, **params, after=after)
            return recs[0] if recs else None

        page = await fetch("")
        while page is not None and page["cells"]:
            nxt = (
                asyncio.ensure_future(fetch(page["last"]))
                if page["cells"] >= self.page_size
                else None
            )
            try:
                if page["rows"]:
                    yield to_columns(page["rows"], columns)
            except BaseException:
                if nxt is not None:
                    nxt.cancel()
                raise
            page = await nxt if nxt is not None else None

    def cells(self) -> AsyncIterator[Columns]:
        return self._pages("export_cells", cells_query(self.selection), CELL_COLUMNS)

    def chemical(self) -> AsyncIterator[Columns]:
        return self._pages("export_chemical", chemical_query(self.selection), CONNECTION_COLUMNS)

    def electrical(self) -> AsyncIterator[Columns]:
        return self._pages(
            "export_electrical", electrical_query(self.selection), CONNECTION_COLUMNS
        )

    async def connections(self) -> AsyncIterator[Columns]:
        """Chemical connections, then gap junctions."""
        async for b in self.chemical():
            yield b
        async for b in self.electrical():
            yield b

    def synapses(self) -> AsyncIterator[Columns]:
        return self._pages("export_synapses", synapses_query(self.selection), SYNAPSE_COLUMNS)
