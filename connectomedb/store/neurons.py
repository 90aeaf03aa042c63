"""Cypher and reads for neurons and their connectivity: filtered pages, partners (batched
for many neurons at once), connections, shortest paths, cell-type connectivity and the
edge list behind network statistics.

Builders return ``(text, params)``; property names come from whitelists, values only
from parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Final, Literal

from connectomedb.errors import BadInput
from connectomedb.schema.graph import (
    CONNECTS_TO,
    GAP_JUNCTION,
    LEVELS,
    NEURON,
    POSTSYNAPTIC,
    PRESYNAPTIC,
)
from connectomedb.store.graphdb import Store

Direction = Literal["upstream", "downstream"]

MAX_HOPS: Final = 6


@dataclass(frozen=True)
class NeuronFilter:
    """Which neurons of a dataset; every field left None does not filter."""

    ids: tuple[str, ...] | None = None
    name: str | None = None
    name_starts_with: str | None = None
    type: str | None = None
    cell_class: str | None = None
    superclass: str | None = None
    side: str | None = None
    neurotransmitter: str | None = None
    region: str | None = None
    min_in_degree: int | None = None
    max_in_degree: int | None = None
    min_out_degree: int | None = None
    max_out_degree: int | None = None


#: filter field -> (Cypher condition on ``{v}``, parameter name)
_CONDITIONS: Final = {
    "ids": ("{v}.id IN $ids", "ids"),
    "name": ("{v}.name = $name", "name"),
    "name_starts_with": ("{v}.name STARTS WITH $name_starts_with", "name_starts_with"),
    "type": ("{v}.type = $type", "type"),
    "cell_class": ("{v}.`class` = $cell_class", "cell_class"),
    "superclass": ("{v}.superclass = $superclass", "superclass"),
    "side": ("{v}.side = $side", "side"),
    "neurotransmitter": ("{v}.neurotransmitter = $neurotransmitter", "neurotransmitter"),
    "region": ("{v}.region = $region", "region"),
    "min_in_degree": ("{v}.in_degree >= $min_in_degree", "min_in_degree"),
    "max_in_degree": ("{v}.in_degree <= $max_in_degree", "max_in_degree"),
    "min_out_degree": ("{v}.out_degree >= $min_out_degree", "min_out_degree"),
    "max_out_degree": ("{v}.out_degree <= $max_out_degree", "max_out_degree"),
}


def filter_conditions(f: NeuronFilter | None, var: str = "n") -> tuple[list[str], dict[str, Any]]:
    """WHERE conditions and their parameters for a neuron filter on variable ``var``."""
    conds: list[str] = []
    params: dict[str, Any] = {}
    if f is None:
        return conds, params
    for fld in fields(f):
        value = getattr(f, fld.name)
        if value is None:
            continue
        cond, pname = _CONDITIONS[fld.name]
        conds.append(cond.format(v=var))
        params[pname] = list(value) if isinstance(value, tuple) else value
    return conds, params


def neurons_page(
    f: NeuronFilter | None, first: int, after: str | None
) -> tuple[str, dict[str, Any]]:
    """One page of neurons ordered by id (keyset: ids after ``after``); asks for
    ``first + 1`` rows so the caller knows whether another page follows. Sorting on the
    (constant) dataset too lets the (dataset, id) index hand out the page in order, so
    the query reads ``first + 1`` neurons, not every one after ``after``. The page comes
    back as one record (``rows``, in order): a record per neuron costs the driver a
    message and a socket read each, which at 1000 rows was most of the page's time."""
    conds, params = filter_conditions(f)
    where = ["n.dataset = $dataset", "n.id > $after" if after is not None else "n.id IS NOT NULL"]
    if after is not None:
        params["after"] = after
    params["limit"] = first + 1
    text = (
        f"MATCH (n:{NEURON}) WHERE {' AND '.join(where + conds)}\n"
        "WITH n ORDER BY n.dataset, n.id LIMIT $limit\n"
        "RETURN collect(n {.*}) AS rows"
    )
    return text, params


def neurons_count(f: NeuronFilter | None) -> tuple[str, dict[str, Any]]:
    conds, params = filter_conditions(f)
    where = " AND ".join(["n.dataset = $dataset", "n.id IS NOT NULL", *conds])
    return f"MATCH (n:{NEURON}) WHERE {where}\nRETURN count(n) AS total", params


#: Seeks past the last row of a list ordered by count descending, then partner id.
_AFTER_COUNT: Final = "({c} < $after_count OR ({c} = $after_count AND p.id > $after_id))"


def partners_query(direction: Direction, after: bool = False) -> str:
    """Partners of many cells at once, strongest first (ties by partner id), one page
    each: parameters ``ids``, ``min_weight``, ``limit`` and, with ``after``, the key of
    the last partner already seen (``after_count`` synapses, ``after_id``), which the
    page starts after. A neuron's connections have no index of their own, so a page
    reads all of them, but keeps only ``limit`` in its sort at any depth."""
    pattern = {
        "upstream": f"(n)<-[r:{CONNECTS_TO}]-(p)",
        "downstream": f"(n)-[r:{CONNECTS_TO}]->(p)",
    }[direction]
    seek = "\n    AND " + _AFTER_COUNT.format(c="r.synapse_count") if after else ""
    return f"""
UNWIND $ids AS nid
MATCH (n:Cell {{dataset: $dataset, id: nid}})
CALL (n) {{
  MATCH {pattern}
  WHERE r.synapse_count >= $min_weight{seek}
  WITH p, r ORDER BY r.synapse_count DESC, p.id
  LIMIT $limit
  RETURN collect({{cell: p {{.*}}, synapse_count: r.synapse_count, weight: r.weight,
                   psd_area_total: r.psd_area_total, nt_type: r.nt_type}}) AS partners
}}
RETURN nid, partners
"""


def gap_junctions_query(after: bool = False) -> str:
    """Gap-junction partners of many cells at once, most gap junctions first (ties by
    partner id), one page each; keyed as :func:`partners_query` (``after_count``
    gap junctions, ``after_id``)."""
    where = "\n  WHERE " + _AFTER_COUNT.format(c="g.count") if after else ""
    return f"""
UNWIND $ids AS nid
MATCH (n:Cell {{dataset: $dataset, id: nid}})
CALL (n) {{
  MATCH (n)-[g:{GAP_JUNCTION}]-(p){where}
  WITH p, g ORDER BY g.count DESC, p.id
  LIMIT $limit
  RETURN collect({{cell: p {{.*}}, count: g.count}}) AS partners
}}
RETURN nid, partners
"""


def synapses_query(direction: Direction, after: bool = False) -> str:
    """Synapse nodes of many cells at once, ordered by synapse id, one page each (with
    ``after``: the synapses whose id follows ``$after_id``)."""
    pattern = {
        "downstream": f"(n)-[:{PRESYNAPTIC}]->(s:Synapse)-[:{POSTSYNAPTIC}]->(p)",
        "upstream": f"(n)<-[:{POSTSYNAPTIC}]-(s:Synapse)<-[:{PRESYNAPTIC}]-(p)",
    }[direction]
    ends = {"downstream": "pre: n.id, post: p.id", "upstream": "pre: p.id, post: n.id"}[direction]
    seek = "\n  WHERE s.id > $after_id" if after else ""
    return f"""
UNWIND $ids AS nid
MATCH (n:Cell {{dataset: $dataset, id: nid}})
CALL (n) {{
  MATCH {pattern}{seek}
  WITH s, p ORDER BY s.id LIMIT $limit
  RETURN collect({{s: s {{.*}}, {ends}}}) AS synapses
}}
RETURN nid, synapses
"""


GET_CELLS: Final = """
UNWIND $ids AS nid
MATCH (n:Cell {dataset: $dataset, id: nid})
RETURN n {.*} AS n
"""


#: Orders a page of connections by (pre id, post id). Sorting on ``a.dataset`` too, a
#: constant, matches the order in which the (dataset, id) index hands out the cells, so
#: that over a whole dataset the planner streams cells in order and stops at the limit
#: (a partial sort); sorted on ``a.id`` alone it sorts every cell first.
_PAGE: Final = "WITH a, b, r ORDER BY a.dataset, a.id, b.id LIMIT $limit\n"

_COLUMNS: Final = (
    "RETURN collect(a.id) AS pre, collect(b.id) AS post, collect(r.synapse_count) AS synapse_count"
)

#: The page as one record of rows, in order (a record per connection costs the driver a
#: message and a socket read each).
_ROWS: Final = (
    "RETURN collect({pre: a.id, post: b.id, synapse_count: r.synapse_count, weight: r.weight,"
    " psd_area_total: r.psd_area_total, nt_type: r.nt_type, neuropils: r.neuropils}) AS rows"
)


def connections_query(pre: bool, post: bool, columns: bool = False) -> str:
    """Connections from cells ``$pre`` to cells ``$post`` (either side may be open) with at
    least ``$min_weight`` synapses, ordered by pre id then post id: the ``$limit`` after
    the pair (``$after_pre``, ``$after_post``) in that order (``("", "")``: from the
    first), as rows or, with ``columns``, as one record of three lists (pre, post,
    synapse_count). A keyset: over a whole dataset the presynaptic cells are sought from
    ``$after_pre`` on in the (dataset, id) index, so a deep page costs what the first does."""
    tail = _PAGE + (_COLUMNS if columns else _ROWS)
    if not pre and not post:
        return (
            "MATCH (a:Cell) WHERE a.dataset = $dataset AND a.id >= $after_pre\n"
            f"MATCH (a)-[r:{CONNECTS_TO}]->(b)\n"
            "WHERE r.synapse_count >= $min_weight"
            " AND (a.id > $after_pre OR b.id > $after_post)\n" + tail
        )
    if pre:
        head = (
            "MATCH (a:Cell) WHERE a.dataset = $dataset AND a.id IN $pre\n"
            f"MATCH (a)-[r:{CONNECTS_TO}]->(b)"
        )
    else:
        head = (
            "MATCH (b:Cell) WHERE b.dataset = $dataset AND b.id IN $post\n"
            f"MATCH (a)-[r:{CONNECTS_TO}]->(b)"
        )
    conds = ["r.synapse_count >= $min_weight"]
    if pre and post:
        conds.append("b.id IN $post")
    conds.append("(a.id > $after_pre OR (a.id = $after_pre AND b.id > $after_post))")
    return f"{head}\nWHERE {' AND '.join(conds)}\n" + tail


def paths_query(max_hops: int) -> str:
    """All shortest directed paths of at most ``max_hops`` connections, each with at least
    ``$min_weight`` synapses. The hop bound is an int checked here: Cypher cannot take
    a variable-length bound as a parameter."""
    if type(max_hops) is not int or not 1 <= max_hops <= MAX_HOPS:
        raise BadInput(f"maxHops must be between 1 and {MAX_HOPS}")
    return f"""
MATCH (a:Cell {{dataset: $dataset, id: $source}})
MATCH (b:Cell {{dataset: $dataset, id: $target}})
MATCH p = allShortestPaths((a)-[:{CONNECTS_TO}*1..{max_hops}]->(b))
WHERE all(r IN relationships(p) WHERE r.synapse_count >= $min_weight)
WITH p LIMIT $limit
RETURN [n IN nodes(p) | n.id] AS cells, [r IN relationships(p) | r.synapse_count] AS counts
"""


def type_connectivity_queries(level: str) -> tuple[str, str]:
    """(group sizes, group x group counts) among neurons at ``level`` (one of LEVELS)."""
    if level not in LEVELS:
        raise BadInput(f"level must be one of {', '.join(LEVELS)}")
    prop = level
    sizes = (
        f"MATCH (n:{NEURON}) WHERE n.dataset = $dataset AND n.id IS NOT NULL\n"
        f"RETURN n.`{prop}` AS grp, count(*) AS size"
    )
    pairs = (
        f"MATCH (a:{NEURON}) WHERE a.dataset = $dataset AND a.id IS NOT NULL\n"
        f"MATCH (a)-[r:{CONNECTS_TO}]->(b:{NEURON})\n"
        "WHERE r.synapse_count >= $min_weight\n"
        f"RETURN a.`{prop}` AS pre, b.`{prop}` AS post, sum(r.synapse_count) AS synapses,"
        " count(r) AS pairs"
    )
    return sizes, pairs


def _after_count(after: tuple[int, str] | None) -> dict[str, Any]:
    """The parameters of a (count, partner id) key, none for the first page."""
    return {} if after is None else {"after_count": after[0], "after_id": after[1]}


class NeuronRepository:
    """Reads of one dataset's cells and connectivity (async). The caller has checked access."""

    def __init__(self, store: Store, dataset: str) -> None:
        self.store = store
        self.dataset = dataset

    async def page(
        self, f: NeuronFilter | None, first: int, after: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        text, params = neurons_page(f, first, after)
        recs = await self.store.read("neurons_page", text, dataset=self.dataset, **params)
        rows: list[dict[str, Any]] = recs[0]["rows"]
        return rows[:first], len(rows) > first

    async def count(self, f: NeuronFilter | None) -> int:
        text, params = neurons_count(f)
        recs = await self.store.read("neurons_count", text, dataset=self.dataset, **params)
        return int(recs[0]["total"])

    async def cells(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        recs = await self.store.read("get_cells", GET_CELLS, dataset=self.dataset, ids=ids)
        return {r["n"]["id"]: r["n"] for r in recs}

    async def _per_neuron(
        self, name: str, text: str, key: str, ids: list[str], **params: Any
    ) -> dict[str, list[dict[str, Any]]]:
        """One page of a list per neuron (partners, synapses) for many neurons in one query:
        neuron id -> its page."""
        recs = await self.store.read(name, text, dataset=self.dataset, ids=ids, **params)
        return {r["nid"]: r[key] for r in recs}

    async def partners(
        self,
        direction: Direction,
        ids: list[str],
        min_weight: int,
        after: tuple[int, str] | None,
        limit: int,
    ) -> dict[str, list[dict[str, Any]]]:
        """A page of each cell's partners after the partner keyed ``after`` (synapse
        count, partner id), or from the strongest."""
        return await self._per_neuron(
            f"{direction}_partners",
            partners_query(direction, after is not None),
            "partners",
            ids,
            min_weight=min_weight,
            limit=limit,
            **_after_count(after),
        )

    async def gap_junctions(
        self, ids: list[str], after: tuple[int, str] | None, limit: int
    ) -> dict[str, list[dict[str, Any]]]:
        """A page of each cell's gap-junction partners after the one keyed ``after``
        (gap junctions, partner id)."""
        return await self._per_neuron(
            "gap_junctions",
            gap_junctions_query(after is not None),
            "partners",
            ids,
            limit=limit,
            **_after_count(after),
        )

    async def synapses(
        self, direction: Direction, ids: list[str], after: str | None, limit: int
    ) -> dict[str, list[dict[str, Any]]]:
        """A page of each cell's synapses whose id follows ``after``."""
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after_id"] = after
        return await self._per_neuron(
            f"{direction}_synapses",
            synapses_query(direction, after is not None),
            "synapses",
            ids,
            **params,
        )

    async def adjacency(
        self,
        pre: list[str] | None,
        post: list[str] | None,
        min_weight: int,
        after: tuple[str, str],
        limit: int,
    ) -> dict[str, list[Any]]:
        """Up to ``limit`` connections after the (pre, post) pair ``after`` (``("", "")``:
        from the first), as three columns: pre, post, synapse_count."""
        recs = await self.store.read(
            "adjacency",
            connections_query(pre is not None, post is not None, columns=True),
            dataset=self.dataset,
            pre=pre,
            post=post,
            min_weight=min_weight,
            after_pre=after[0],
            after_post=after[1],
            limit=limit,
        )
        return dict(recs[0])

    async def connections(
        self,
        pre: list[str] | None,
        post: list[str] | None,
        min_weight: int,
        after: tuple[str, str],
        limit: int,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` connections after the (pre, post) pair ``after`` (``("", "")``:
        from the first), with their properties."""
        recs = await self.store.read(
            "connections",
            connections_query(pre is not None, post is not None),
            dataset=self.dataset,
            pre=pre,
            post=post,
            min_weight=min_weight,
            after_pre=after[0],
            after_post=after[1],
            limit=limit,
        )
        rows: list[dict[str, Any]] = recs[0]["rows"]
        return rows

    async def paths(
        self, source: str, target: str, max_hops: int, min_weight: int, limit: int
    ) -> list[dict[str, Any]]:
        return await self.store.read(
            "paths",
            paths_query(max_hops),
            dataset=self.dataset,
            source=source,
            target=target,
            min_weight=min_weight,
            limit=limit,
        )

    async def type_connectivity(
        self, level: str, min_weight: int
    ) -> tuple[dict[str | None, int], list[dict[str, Any]]]:
        sizes_q, pairs_q = type_connectivity_queries(level)
        sizes = await self.store.read("type_sizes", sizes_q, dataset=self.dataset)
        pairs = await self.store.read(
            "type_pairs", pairs_q, dataset=self.dataset, min_weight=min_weight
        )
        return {r["grp"]: int(r["size"]) for r in sizes}, pairs
