"""Whole-dataset statistics computed once per dataset version and kept in the store
(:mod:`connectomedb.store.aggregates`): network statistics, reciprocity by group,
cell-type connectivity, motif censuses against their nulls, and the triad census that
answers structural motif counts.

A request whose answer is stored gets it in one indexed read. Otherwise the answer is
computed (one at a time per answer in a process: concurrent requests for the same
statistic wait for the first) and stored for the next request; before computing, a cost
estimate from the stored degrees refuses a selection that could not be read and computed
within the request's time limit (``TOO_EXPENSIVE``, with the estimate and how to ask for
less). ``connectomedb dataset warm`` computes the default answers of a dataset ahead of
its users (``connectomedb load`` does it after each load).

The answers are the same whether computed or read back: the values are those the
analytics functions return, stored as JSON (a test compares both paths)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from connectomedb.analytics.statistics import NetworkStatistics, network_statistics
from connectomedb.errors import ConnectomeDBError, TooExpensive
from connectomedb.motifs.census import (
    TRIAD_CLASSES,
    CensusResult,
    ClassStatistics,
    census_against_null,
    motif_connections,
    triad_census,
)
from connectomedb.motifs.named import reciprocity_by_group
from connectomedb.settings import Settings
from connectomedb.store.aggregates import (
    GET_AGGREGATE,
    PUT_AGGREGATE,
    aggregate_key,
    selection_size_query,
)
from connectomedb.store.graph import Graph, GraphReader
from connectomedb.store.graphdb import Store
from connectomedb.store.neurons import NeuronFilter, NeuronRepository

log = logging.getLogger("connectomedb.api")

#: one lock per (event loop, dataset, key): concurrent requests compute an answer once
_LOCKS: dict[tuple[int, str, str], asyncio.Lock] = {}


def _lock(dataset: str, key: str) -> asyncio.Lock:
    k = (id(asyncio.get_running_loop()), dataset, key)
    if k not in _LOCKS:
        if len(_LOCKS) > 1024:  # forget idle locks; a held one stays referenced by its holder
            for old in [x for x, v in _LOCKS.items() if not v.locked()]:
                del _LOCKS[old]
        _LOCKS[k] = asyncio.Lock()
    return _LOCKS[k]


def _filter_args(f: NeuronFilter | None) -> dict[str, Any] | None:
    return None if f is None else {k: v for k, v in asdict(f).items() if v is not None}


class Aggregates:
    """The stored whole-dataset answers of one dataset (its read check done by the
    caller).

    Args:
        store: the request's (or the CLI's) store; its time limit applies to each query.
        settings: the cost estimate's rate and the limits it is held against.
        dataset: the dataset id.
        estimate: refuse computations estimated past their limit (off for an operator's
            ``warm``, which has no limit but its store's per-query time).
    """

    def __init__(
        self, store: Store, settings: Settings, dataset: str, estimate: bool = True
    ) -> None:
        self.store = store
        self.settings = settings
        self.dataset = dataset
        self.estimate = estimate
        #: whether the last answer was read back (True) or computed (False)
        self.hit: bool | None = None
        # what this instance read and computed, for the next answer over the same
        # selection (``warm`` computes several from one read)
        self._graphs: dict[str, Graph] = {}
        self._stats: dict[str, dict[str, Any]] = {}
        self._rows: dict[tuple[int, str | None], list[dict[str, Any]]] = {}
        self._kept: list[Graph] = []  # every graph read, so that no id() is reused

    async def cached(
        self,
        kind: str,
        arguments: dict[str, Any],
        compute: Callable[[], Awaitable[Any]],
    ) -> Any:
        """The stored answer of ``kind`` with ``arguments`` at the dataset's current
        version, else ``compute()``'s (a JSON-able value), stored before it is returned."""
        key, canonical = aggregate_key(kind, arguments)
        async with _lock(self.dataset, key):
            recs = await self.store.read("aggregate", GET_AGGREGATE, dataset=self.dataset, key=key)
            version = recs[0]["version"] if recs else None
            if version is not None and recs[0]["stored_version"] == version:
                self.hit = True
                return json.loads(recs[0]["value"])
            self.hit = False
            started = time.perf_counter()
            value = await compute()
            seconds = time.perf_counter() - started
            if version is not None:
                try:
                    await self.store.write(
                        "aggregate_put",
                        PUT_AGGREGATE,
                        dataset=self.dataset,
                        key=key,
                        kind=kind,
                        arguments=canonical,
                        value=json.dumps(value, separators=(",", ":")),
                        seconds=seconds,
                        version=version,
                    )
                except ConnectomeDBError as e:  # the answer stands; the next request retries
                    log.warning("could not store aggregate %s of %s: %s", kind, self.dataset, e)
            return value

    async def check_cost(self, what: str, f: NeuronFilter | None, limit_s: float) -> None:
        """Refuse (``TOO_EXPENSIVE``) a computation over the selection whose estimated time
        (its connections at ``settings.analysis_edges_per_s``) is past ``limit_s``."""
        if not self.estimate:
            return
        text, params = selection_size_query(f)
        recs = await self.store.read("selection_size", text, dataset=self.dataset, **params)
        edges = int(recs[0]["connections"] or 0) if recs else 0
        estimate = edges / self.settings.analysis_edges_per_s
        if estimate > limit_s:
            raise TooExpensive(
                f"{what} over this selection reads and analyses up to {edges:,} connections, "
                f"estimated {estimate:.0f} s, past the {limit_s:g} s limit; narrow the filter "
                "(or raise minWeight, which the estimate does not see), or ask an operator "
                f"to compute it ahead with `connectomedb dataset warm {self.dataset}`"
            )

    async def _graph(self, f: NeuronFilter | None, min_weight: int, level: str | None) -> Graph:
        """The selection's graph, read once per instance: a graph read with groups at one
        level serves requests that need none."""
        key = json.dumps([_filter_args(f), min_weight])
        g = self._graphs.get(key)
        if g is None or (level is not None and g.level != level):
            g = await GraphReader(self.store).read(self.dataset, f, min_weight, level)
            self._graphs[key] = g
            self._kept.append(g)
        return g

    async def _statistics(self, g: Graph, key: str) -> dict[str, Any]:
        if key not in self._stats:
            s = await asyncio.to_thread(network_statistics, g.n, g.pre, g.post)
            self._stats[key] = asdict(s)
        return self._stats[key]

    async def network_statistics(
        self, f: NeuronFilter | None, min_weight: int, level: str | None
    ) -> dict[str, Any]:
        """``{"stats": NetworkStatistics fields, "by_group": reciprocity rows or None}``."""
        args = {"filter": _filter_args(f), "min_weight": min_weight, "level": level}

        async def compute() -> dict[str, Any]:
            await self.check_cost("networkStatistics", f, self.settings.query_timeout_s)
            g = await self._graph(f, min_weight, level)
            stats = await self._statistics(g, json.dumps([_filter_args(f), min_weight]))
            rows = await self._reciprocity_rows(g) if level else None
            return {"stats": stats, "by_group": rows}

        return dict(await self.cached("network_statistics", args, compute))

    async def reciprocity(
        self, f: NeuronFilter | None, min_weight: int, level: str
    ) -> list[dict[str, Any]]:
        """Reciprocity by group rows (:class:`~connectomedb.motifs.named.GroupReciprocity`
        fields with ``group_a`` and ``group_b`` named)."""
        args = {"filter": _filter_args(f), "min_weight": min_weight, "level": level}

        async def compute() -> list[dict[str, Any]]:
            await self.check_cost("reciprocityByGroup", f, self.settings.query_timeout_s)
            return await self._reciprocity_rows(await self._graph(f, min_weight, level))

        return list(await self.cached("reciprocity_by_group", args, compute))

    async def _reciprocity_rows(self, g: Graph) -> list[dict[str, Any]]:
        # every graph read is kept while this instance lives, so its id is its own
        key = (id(g), g.level)
        if key not in self._rows:
            rows = await asyncio.to_thread(reciprocity_by_group, g.n, g.pre, g.post, g.groups)
            names = g.group_names
            self._rows[key] = [
                {**asdict(r), "group_a": names[r.a], "group_b": names[r.b]} for r in rows
            ]
        return self._rows[key]

    async def cell_type_connectivity(self, level: str, min_weight: int) -> dict[str, Any]:
        """``{"sizes": [[group, size], ...], "pairs": [{pre, post, synapses, pairs}]}``."""

        async def compute() -> dict[str, Any]:
            repo = NeuronRepository(self.store, self.dataset)
            sizes, pairs = await repo.type_connectivity(level, min_weight)
            return {"sizes": [[k, v] for k, v in sizes.items()], "pairs": pairs}

        args = {"level": level, "min_weight": min_weight}
        return dict(await self.cached("cell_type_connectivity", args, compute))

    async def hubs(self, min_weight: int, level: str, k: int = 15) -> list[dict[str, Any]]:
        """The ``k`` neurons with the most partners (in + out, connections of at least
        ``min_weight`` synapses): ``{id, in_degree, out_degree, group}`` each."""
        import numpy as np

        async def compute() -> list[dict[str, Any]]:
            await self.check_cost("the hub list", None, self.settings.query_timeout_s)
            g = await self._graph(None, min_weight, level)
            keep = g.pre != g.post
            indeg = np.bincount(g.post[keep], minlength=g.n)
            outdeg = np.bincount(g.pre[keep], minlength=g.n)
            top = np.argsort(-(indeg + outdeg), kind="stable")[:k]
            groups = g.props.get(level)
            return [
                {
                    "id": g.ids[i],
                    "in_degree": int(indeg[i]),
                    "out_degree": int(outdeg[i]),
                    "group": groups[i] if groups is not None else None,
                }
                for i in top
            ]

        args = {"min_weight": min_weight, "level": level, "k": k}
        return list(await self.cached("hubs", args, compute))

    async def census(
        self,
        f: NeuronFilter | None,
        min_weight: int,
        *,
        null_model: str,
        samples: int,
        seed: int,
        size: int,
        type_level: str | None,
        budget_s: float,
    ) -> dict[str, Any]:
        """``{"neurons", "connections", "result": CensusResult fields}``; the whole
        computation (the read included) within ``budget_s`` or ``Timeout``."""
        deadline = time.monotonic() + budget_s
        args = {
            "filter": _filter_args(f),
            "min_weight": min_weight,
            "null_model": null_model,
            "samples": samples,
            "seed": seed,
            "size": size,
            "type_level": type_level,
        }

        async def compute() -> dict[str, Any]:
            await self.check_cost("motifCensus", f, budget_s)
            g = await self._graph(f, min_weight, type_level)
            r = await asyncio.to_thread(
                census_against_null,
                g.n,
                g.pre,
                g.post,
                null_model=null_model,
                samples=samples,
                seed=seed,
                types=g.groups if type_level else None,
                deadline=deadline,
                size=size,
            )
            return {
                "neurons": g.n,
                "connections": motif_connections(g.pre, g.post),
                "result": asdict(r),
            }

        return dict(await self.cached("motif_census", args, compute))

    async def triad_census(self) -> dict[str, int]:
        """The 16 triad class counts among all the dataset's neurons (connections of any
        weight), the basis of structural motif counts."""

        async def compute() -> dict[str, int]:
            await self.check_cost("the triad census", None, self.settings.query_timeout_s)
            g = await self._graph(None, 1, None)
            c = await asyncio.to_thread(triad_census, g.n, g.pre, g.post)
            return {k: int(c[k]) for k in TRIAD_CLASSES}

        return dict(await self.cached("triad_census", {}, compute))


def statistics_from(value: dict[str, Any]) -> NetworkStatistics:
    """The :class:`NetworkStatistics` of a stored (or just computed) answer."""
    s = dict(value["stats"])
    for k in ("in_degree_distribution", "out_degree_distribution"):
        s[k] = [(int(d), int(c)) for d, c in s[k]]
    return NetworkStatistics(**s)


def census_result_from(value: dict[str, Any]) -> CensusResult:
    """The :class:`CensusResult` of a stored (or just computed) census answer."""
    classes = tuple(ClassStatistics(**c) for c in value["classes"])
    return CensusResult(**{**value, "classes": classes})


async def warm(store: Store, settings: Settings, dataset: str) -> dict[str, float]:
    """Compute and store the default whole-dataset answers of ``dataset`` (what the
    dashboard and most users ask first); seconds per answer."""
    a = Aggregates(store, settings, dataset, estimate=False)
    out: dict[str, float] = {}
    # one read of the graph (groups by class) serves every answer but the Cypher ones
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("networkStatistics(groupLevel: CLASS)", lambda: a.network_statistics(None, 1, "class")),
        ("networkStatistics", lambda: a.network_statistics(None, 1, None)),
        ("reciprocityByGroup(CLASS)", lambda: a.reciprocity(None, 1, "class")),
        ("hubs", lambda: a.hubs(1, "class")),
        ("triad census", a.triad_census),
        ("cellTypeConnectivity(CLASS)", lambda: a.cell_type_connectivity("class", 1)),
        ("cellTypeConnectivity(TYPE)", lambda: a.cell_type_connectivity("type", 1)),
    ]
    for name, step in steps:
        t = time.perf_counter()
        await step()
        out[name] = time.perf_counter() - t
    return out
