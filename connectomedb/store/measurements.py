"""Measurement sets: the Cypher that writes functional data beside the wiring and reads
it back (per neuron for the API, as columns for the jobs).

A set is written while its node says ``loading`` and marked ``ready`` by the last
statement; a failed or interrupted write is removed by :func:`delete_set` before a new
one starts, so a reader that asks for ready sets never sees half of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import neo4j
import numpy as np

from connectomedb.errors import BadInput, NotFound
from connectomedb.schema.functional import (
    EVOKES,
    EXTRASYNAPTIC,
    MEASURED,
    MEASUREMENT_SET,
    MeasurementSet,
    check_property_name,
)
from connectomedb.schema.graph import DATASET, NEURON
from connectomedb.store.driver import READ, chained_session
from connectomedb.store.graph import PACK, Graph, key_index
from connectomedb.store.graphdb import Store

# -- writing ---------------------------------------------------------------------------
#: the dataset's neurons as three columns, for matching input names to neurons
NEURON_NAMES: Final = f"""
MATCH (n:{NEURON}) WHERE n.dataset = $dataset AND n.id IS NOT NULL
RETURN collect(n.id) AS ids, collect(coalesce(n.name, n.id)) AS names,
       collect(elementId(n)) AS eids
"""

DATASET_STATUS: Final = f"MATCH (d:{DATASET} {{id: $dataset}}) RETURN d.status AS status"

GET_SET: Final = f"MATCH (m:{MEASUREMENT_SET} {{dataset: $dataset, id: $set}}) RETURN m {{.*}} AS m"

NEW_SET: Final = f"""
CREATE (m:{MEASUREMENT_SET} {{dataset: $dataset, id: $set}})
SET m += $props, m.status = 'loading', m.created_at = datetime(), m.count = 0
"""

WRITE_PAIRS: Final = f"""
UNWIND $rows AS row
MATCH (s) WHERE elementId(s) = row.s
MATCH (r) WHERE elementId(r) = row.r
CREATE (s)-[:{EVOKES} {{set: $set, amplitude: row.amplitude, q: row.q, q_eq: row.q_eq,
                        trials: row.trials}}]->(r)
"""

WRITE_EXTRASYNAPTIC: Final = f"""
UNWIND $rows AS row
MATCH (s) WHERE elementId(s) = row.s
MATCH (r) WHERE elementId(r) = row.r
CREATE (s)-[:{EXTRASYNAPTIC} {{set: $set, transmitter: row.transmitter,
                               receptor: row.receptor, family: $family}}]->(r)
"""

#: ``row.values`` maps checked property names to numbers or lists of numbers: a map
#: parameter, so no name is ever written into the query text
WRITE_PROPERTIES: Final = f"""
MATCH (m:{MEASUREMENT_SET} {{dataset: $dataset, id: $set}})
UNWIND $rows AS row
MATCH (n) WHERE elementId(n) = row.n
CREATE (m)-[r:{MEASURED} {{set: $set}}]->(n)
SET r += row.values
"""

FINISH_SET: Final = f"""
MATCH (m:{MEASUREMENT_SET} {{dataset: $dataset, id: $set}})
SET m.status = 'ready', m.count = $count, m.unmatched = $unmatched, m.loaded_at = datetime()
"""

#: auto-commit ``CALL {} IN TRANSACTIONS``: a set of any size goes in bounded transactions
DELETE_SET_PAIRS: Final = f"""
MATCH (n:{NEURON})-[r:{EVOKES}|{EXTRASYNAPTIC}]->()
WHERE n.dataset = $dataset AND n.id IS NOT NULL AND r.set = $set
CALL (r) {{ DELETE r }} IN TRANSACTIONS OF 20000 ROWS
"""

DELETE_SET_PROPERTIES: Final = f"""
MATCH (:{MEASUREMENT_SET} {{dataset: $dataset, id: $set}})-[r:{MEASURED}]->()
CALL (r) {{ DELETE r }} IN TRANSACTIONS OF 20000 ROWS
"""

DELETE_SET_NODE: Final = (
    f"MATCH (m:{MEASUREMENT_SET} {{dataset: $dataset, id: $set}}) DETACH DELETE m"
)


def to_model(props: dict[str, Any]) -> MeasurementSet:
    p = dict(props)
    for k in ("created_at",):
        if p.get(k) is not None and hasattr(p[k], "to_native"):
            p[k] = p[k].to_native()
    p["source_files"] = tuple(p.get("source_files") or ())
    p["properties"] = tuple(p.get("properties") or ())
    p["unmatched"] = tuple(p.get("unmatched") or ())
    return MeasurementSet.model_validate(p)


@dataclass(frozen=True)
class NeuronIndex:
    """A dataset's neurons: element id by neuron id, and neuron id by name (names that
    several neurons share map to none of them: they are ambiguous)."""

    eid: dict[str, str]
    by_name: dict[str, str]

    def resolve(self, key: str) -> str | None:
        """The neuron id that ``key`` names (an id first, then a unique name)."""
        if key in self.eid:
            return key
        return self.by_name.get(key)


class MeasurementWriter:
    """Writes measurement sets with the sync driver (the CLI's loaders)."""

    def __init__(self, driver: neo4j.Driver, database: str = "neo4j") -> None:
        self.driver = driver
        self.database = database

    def dataset_status(self, dataset: str) -> str:
        recs, _, _ = self.driver.execute_query(
            DATASET_STATUS, dataset=dataset, database_=self.database, routing_=READ
        )
        if not recs:
            raise NotFound(f"dataset {dataset!r} not found")
        return str(recs[0]["status"])

    def neurons(self, dataset: str) -> NeuronIndex:
        recs, _, _ = self.driver.execute_query(
            NEURON_NAMES, dataset=dataset, database_=self.database, routing_=READ
        )
        r = recs[0]
        eid = dict(zip(r["ids"], r["eids"], strict=True))
        seen: dict[str, str | None] = {}
        for nid, name in zip(r["ids"], r["names"], strict=True):
            seen[name] = None if name in seen and seen[name] != nid else nid
        return NeuronIndex(eid, {k: v for k, v in seen.items() if v is not None})

    def get(self, dataset: str, set_id: str) -> MeasurementSet | None:
        recs, _, _ = self.driver.execute_query(
            GET_SET, dataset=dataset, set=set_id, database_=self.database, routing_=READ
        )
        return to_model({"dataset": dataset, **recs[0]["m"]}) if recs else None

    def create(self, dataset: str, set_id: str, props: dict[str, Any]) -> None:
        self.driver.execute_query(
            NEW_SET, dataset=dataset, set=set_id, props=props, database_=self.database
        )

    def write(
        self, text: str, dataset: str, set_id: str, rows: list[dict[str, Any]], **extra: Any
    ) -> None:
        self.driver.execute_query(
            text, dataset=dataset, set=set_id, rows=rows, database_=self.database, **extra
        )

    def finish(self, dataset: str, set_id: str, count: int, unmatched: list[str]) -> None:
        self.driver.execute_query(
            FINISH_SET,
            dataset=dataset,
            set=set_id,
            count=count,
            unmatched=unmatched,
            database_=self.database,
        )

    def delete(self, dataset: str, set_id: str) -> bool:
        """Remove a set and everything it wrote; False when there was none."""
        existed = self.get(dataset, set_id) is not None
        with chained_session(self.driver, self.database) as s:
            for q in (DELETE_SET_PAIRS, DELETE_SET_PROPERTIES):
                s.run(q, dataset=dataset, set=set_id).consume()
        self.driver.execute_query(
            DELETE_SET_NODE, dataset=dataset, set=set_id, database_=self.database
        )
        return existed


# -- reading: the API ------------------------------------------------------------------
LIST_SETS: Final = f"""
MATCH (m:{MEASUREMENT_SET}) WHERE m.dataset = $dataset AND m.id IS NOT NULL
  AND m.status = 'ready'
RETURN m {{.*}} AS m ORDER BY m.id
"""

READY_SET: Final = f"""
MATCH (m:{MEASUREMENT_SET} {{dataset: $dataset, id: $set}}) WHERE m.status = 'ready'
RETURN m {{.*}} AS m
"""


def responses_query(direction: str) -> str:
    """Responses of many neurons at once, one page each, lowest q first (ties by the
    partner's id; pairs without a q last). ``to``: the neuron's responses to the
    stimulation of others; ``from``: the responses that stimulating it evoked."""
    pattern = {"to": f"(n)<-[e:{EVOKES}]-(p)", "from": f"(n)-[e:{EVOKES}]->(p)"}[direction]
    return f"""
UNWIND $ids AS nid
MATCH (n:{NEURON} {{dataset: $dataset, id: nid}})
CALL (n) {{
  MATCH {pattern}
  WHERE e.set = $set AND ($max_q IS NULL OR e.q <= $max_q)
  WITH p, e ORDER BY e.q, p.id
  SKIP $skip LIMIT $limit
  RETURN collect({{cell: p {{.*}}, amplitude: e.amplitude, q: e.q, q_eq: e.q_eq,
                   trials: e.trials}}) AS rows
}}
RETURN nid, rows
"""


PROPERTIES_OF: Final = f"""
UNWIND $ids AS nid
MATCH (n:{NEURON} {{dataset: $dataset, id: nid}})
CALL (n) {{
  MATCH (m:{MEASUREMENT_SET})-[r:{MEASURED}]->(n)
  WHERE m.status = 'ready' AND ($set IS NULL OR m.id = $set)
  WITH m, r ORDER BY m.id
  RETURN collect({{set: m.id, names: m.properties, values: properties(r)}}) AS rows
}}
RETURN nid, rows
"""

EXTRASYNAPTIC_OF: Final = {
    d: f"""
UNWIND $ids AS nid
MATCH (n:{NEURON} {{dataset: $dataset, id: nid}})
CALL (n) {{
  MATCH {pattern}
  WHERE $set IS NULL OR e.set = $set
  WITH p, e ORDER BY p.id, e.transmitter, e.receptor, e.set
  SKIP $skip LIMIT $limit
  RETURN collect({{cell: p {{.*}}, set: e.set, transmitter: e.transmitter,
                   receptor: e.receptor, family: e.family}}) AS rows
}}
RETURN nid, rows
"""
    for d, pattern in (
        ("upstream", f"(n)<-[e:{EXTRASYNAPTIC}]-(p)"),
        ("downstream", f"(n)-[e:{EXTRASYNAPTIC}]->(p)"),
    )
}


class MeasurementRepository:
    """Reads of one dataset's measurement sets (async). The caller has checked access."""

    def __init__(self, store: Store, dataset: str) -> None:
        self.store = store
        self.dataset = dataset

    async def sets(self) -> list[MeasurementSet]:
        recs = await self.store.read("measurement_sets", LIST_SETS, dataset=self.dataset)
        return [to_model({"dataset": self.dataset, **r["m"]}) for r in recs]

    async def get(self, set_id: str) -> MeasurementSet:
        recs = await self.store.read("measurement_set", READY_SET, dataset=self.dataset, set=set_id)
        if not recs:
            raise NotFound(f"measurement set {set_id!r} not found in {self.dataset!r}")
        return to_model({"dataset": self.dataset, **recs[0]["m"]})

    async def pairs(self, g: Graph, set_id: str) -> Pairs:
        """A pairwise set's pairs among ``g``'s neurons (read right after ``g``)."""
        recs = await self.store.read("measured_pairs", READ_PAIRS, dataset=g.dataset, set=set_id)
        return pairs_of(g, recs[0])

    async def responses(
        self,
        direction: str,
        set_id: str,
        ids: list[str],
        max_q: float | None,
        skip: int,
        limit: int,
    ) -> dict[str, list[dict[str, Any]]]:
        recs = await self.store.read(
            f"responses_{direction}",
            responses_query(direction),
            dataset=self.dataset,
            set=set_id,
            ids=ids,
            max_q=max_q,
            skip=skip,
            limit=limit,
        )
        return {r["nid"]: r["rows"] for r in recs}

    async def properties(
        self, set_id: str | None, ids: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        recs = await self.store.read(
            "neuron_properties", PROPERTIES_OF, dataset=self.dataset, set=set_id, ids=ids
        )
        return {r["nid"]: r["rows"] for r in recs}

    async def extrasynaptic(
        self, direction: str, set_id: str | None, ids: list[str], skip: int, limit: int
    ) -> dict[str, list[dict[str, Any]]]:
        recs = await self.store.read(
            f"extrasynaptic_{direction}",
            EXTRASYNAPTIC_OF[direction],
            dataset=self.dataset,
            set=set_id,
            ids=ids,
            skip=skip,
            limit=limit,
        )
        return {r["nid"]: r["rows"] for r in recs}


# -- reading: the jobs, as columns -------------------------------------------------------
#: collect() skips nulls, which would shift the columns: a missing value reads as NaN
READ_PAIRS: Final = f"""
MATCH (s:{NEURON})-[e:{EVOKES}]->(r)
WHERE s.dataset = $dataset AND s.id IS NOT NULL AND e.set = $set
RETURN collect(id(s) * {PACK} + id(r)) AS pair,
       collect(coalesce(toFloat(e.amplitude), toFloat('NaN'))) AS amplitude,
       collect(coalesce(toFloat(e.q), toFloat('NaN'))) AS q,
       collect(coalesce(toFloat(e.q_eq), toFloat('NaN'))) AS q_eq,
       collect(coalesce(e.trials, 0)) AS trials
"""

READ_PROPERTY: Final = f"""
MATCH (m:{MEASUREMENT_SET} {{dataset: $dataset, id: $set}})-[r:{MEASURED}]->(n)
WHERE r[$name] IS NOT NULL
RETURN collect(id(n)) AS key, collect(r[$name]) AS value
"""


@dataclass(frozen=True)
class Pairs:
    """A pairwise set's measured pairs among a graph's neurons, as indices into its
    ``ids``: stimulated -> responder, with NaN where a value is missing.

    Shapes:
        stim, resp, trials: (k,) int64; amplitude, q, q_eq: (k,) float64.
    """

    stim: np.ndarray
    resp: np.ndarray
    amplitude: np.ndarray
    q: np.ndarray
    q_eq: np.ndarray
    trials: np.ndarray
    #: pairs with a neuron outside the graph (dropped)
    outside: int = 0


def ready_set(driver: neo4j.Driver, database: str, dataset: str, set_id: str) -> MeasurementSet:
    """The ready set ``set_id`` of ``dataset``; NotFound otherwise."""
    recs, _, _ = driver.execute_query(
        READY_SET,
        dataset=dataset,
        set=set_id,
        database_=database,
        routing_=neo4j.RoutingControl.READ,
    )
    if not recs:
        raise NotFound(f"measurement set {set_id!r} not found in {dataset!r}")
    return to_model({"dataset": dataset, **recs[0]["m"]})


def pairs_of(g: Graph, rec: dict[str, Any]) -> Pairs:
    """The pairs of a :data:`READ_PAIRS` record among ``g``'s neurons (matched by its
    internal ids)."""
    if g.keys is None:
        raise BadInput("this graph carries no internal ids")
    pair = np.asarray(rec["pair"], dtype=np.int64)
    index_of = key_index(g.keys)
    s, t = index_of(pair // PACK), index_of(pair % PACK)
    keep = (s >= 0) & (t >= 0)
    col = lambda name: np.asarray(rec[name], dtype=np.float64)[keep]  # noqa: E731
    return Pairs(
        s[keep],
        t[keep],
        col("amplitude"),
        col("q"),
        col("q_eq"),
        np.asarray(rec["trials"], dtype=np.int64)[keep],
        int((~keep).sum()),
    )


def read_pairs(driver: neo4j.Driver, database: str, g: Graph, set_id: str) -> Pairs:
    """A pairwise set's pairs among ``g``'s neurons (read right after ``g``)."""
    recs, _, _ = driver.execute_query(
        READ_PAIRS,
        dataset=g.dataset,
        set=set_id,
        database_=database,
        routing_=neo4j.RoutingControl.READ,
    )
    return pairs_of(g, dict(recs[0]))


def read_property(
    driver: neo4j.Driver, database: str, g: Graph, set_id: str, name: str
) -> np.ndarray:
    """A neuron set's property per neuron of ``g``: (n,) for numbers, (n, d) for vectors
    of one length d; NaN (rows) where a neuron has no value."""
    check_property_name(name)
    if g.keys is None:
        raise BadInput("this graph carries no internal ids")
    recs, _, _ = driver.execute_query(
        READ_PROPERTY,
        dataset=g.dataset,
        set=set_id,
        name=name,
        database_=database,
        routing_=neo4j.RoutingControl.READ,
    )
    keys = np.asarray(recs[0]["key"], dtype=np.int64)
    values = list(recs[0]["value"])
    at = key_index(g.keys)(keys)
    shape: tuple[int, ...] = (g.n,)
    if any(isinstance(v, list) for v in values):
        dims = {len(v) if isinstance(v, list) else 1 for v in values}
        if len(dims) != 1:
            raise BadInput(f"property {name!r} holds vectors of different lengths {sorted(dims)}")
        shape = (g.n, dims.pop())
    out = np.full(shape, np.nan)
    for i, v in zip(at, values, strict=True):
        if i >= 0:
            out[i] = v
    return out
