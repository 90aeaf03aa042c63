"""Motif search: a checked motif (:class:`MotifSpec`) as one parameterised Cypher query
over a dataset's neurons, and its reads. Motif variable names never reach the text (nodes
become ``n0, n1, ...``), property names come from the whitelists of
:mod:`connectomedb.schema.motif`, values are parameters. Matches are injective (distinct
neurons), as in DotMotif's executors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectomedb.schema.graph import CONNECTS_TO, NEURON
from connectomedb.schema.motif import OPERATORS, Constraint, MotifSpec
from connectomedb.store.graphdb import Store

#: permutations of a motif's nodes (``p[i]``: the node that node ``i`` maps to)
Symmetries = Sequence[Sequence[int]]


def _condition(target: str, c: Constraint, param: str) -> str:
    if c.op in ("in", "!in") and isinstance(c.value, str):
        # DotMotif's `x in "text"` for a string: the property is part of the text
        test = f"{param} CONTAINS {target}"
        return f"NOT {test}" if c.op == "!in" else test
    return OPERATORS[c.op].format(a=target, b=param)


def motif_query(
    spec: MotifSpec, count_only: bool, symmetries: Symmetries = (), after: bool = False
) -> tuple[str, dict[str, Any]]:
    """(text, params) finding the motif among ``$dataset``'s neurons; with ``count_only``
    it returns ``count(*) AS matches``, otherwise ``matches``: one list of neuron ids per
    match (in ``spec.nodes`` order), sorted, the first ``$limit`` of them, or with
    ``after`` the first ``$limit`` that sort after the id list ``$after`` (a keyset page:
    the first variable's neurons are visited in id order from ``$after[0]`` and the
    matches sorted as they come, so a deep page costs what the first does).

    Given the motif's ``symmetries`` (its automorphisms,
    :func:`~connectomedb.motifs.language.automorphisms`), of each match and its
    relabellings by them only the one whose id list sorts first is kept."""
    var = {name: f"n{i}" for i, name in enumerate(spec.nodes)}
    params: dict[str, Any] = {}

    def param(value: Any) -> str:
        key = f"p{len(params)}"
        params[key] = value
        return f"${key}"

    # Relationships never leave a dataset, so one node per connected part of the motif
    # carries the dataset condition (an index seek) and the rest are reached from it.
    part = {v: v for v in var.values()}

    def root(v: str) -> str:
        while part[v] != v:
            v = part[v]
        return v

    for e in spec.edges:
        if e.exists:
            part[root(var[e.pre])] = root(var[e.post])
    anchors = {root(v): v for v in reversed(var.values())}

    patterns, where = [], []
    in_pattern: set[str] = set()
    for i, e in enumerate(spec.edges):
        a, b = var[e.pre], var[e.post]
        if e.exists:
            la = f":{NEURON}" if a not in in_pattern else ""
            lb = f":{NEURON}" if b not in in_pattern and b != a else ""
            patterns.append(f"({a}{la})-[e{i}:{CONNECTS_TO}]->({b}{lb})")
            in_pattern |= {a, b}
            where += [_condition(f"e{i}.`{c.prop}`", c, param(c.value)) for c in e.constraints]
        elif e.constraints:
            inner = " AND ".join(
                _condition(f"x.`{c.prop}`", c, param(c.value)) for c in e.constraints
            )
            where.append(f"NOT EXISTS {{ MATCH ({a})-[x:{CONNECTS_TO}]->({b}) WHERE {inner} }}")
        else:
            where.append(f"NOT ({a})-[:{CONNECTS_TO}]->({b})")
    for name, v in var.items():
        if v not in in_pattern:
            patterns.append(f"({v}:{NEURON})")
        if anchors[root(v)] == v:
            where = [f"{v}.dataset = $dataset", f"{v}.id IS NOT NULL", *where]
        where += [
            _condition(f"{v}.`{c.prop}`", c, param(c.value))
            for c in spec.node_constraints.get(name, ())
        ]
        where += [
            OPERATORS[c.op].format(a=f"{v}.`{c.prop}`", b=f"{var[c.other]}.`{c.other_prop}`")
            for c in spec.comparisons.get(name, ())
        ]
    names = list(var.values())
    where += [f"{a} <> {b}" for i, a in enumerate(names) for b in names[i + 1 :]]
    if symmetries:
        ids = ", ".join(f"{v}.id" for v in names)
        where += [f"[{ids}] < [{', '.join(f'{names[j]}.id' for j in p)}]" for p in symmetries]
    head = f"MATCH {', '.join(patterns)}\nWHERE {' AND '.join(where)}\n"
    if count_only:
        return head + "RETURN count(*) AS matches", params
    first = names[0]  # the anchor of its part of the motif: its dataset condition is there
    seek = f" AND {first}.id >= $after[0]" if after else ""
    start = (
        f"MATCH ({first}:{NEURON}) WHERE {first}.dataset = $dataset AND {first}.id IS NOT NULL"
        f"{seek}\nWITH {first} ORDER BY {first}.id\n"
    )
    cols = ", ".join(f"{v}.id AS v{i}" for i, v in enumerate(names))
    ids = ", ".join(f"v{i}" for i in range(len(names)))
    past = f"WHERE [{ids}] > $after\n" if after else ""
    # one record holding every row decodes far faster than one record per match
    return (
        start + head + f"WITH {cols}\n{past}ORDER BY {ids} LIMIT $limit\n"
        f"RETURN collect([{ids}]) AS matches",
        params,
    )


class MotifRepository:
    """Motif counts and matches among one dataset's neurons (async). The caller has
    checked access."""

    def __init__(self, store: Store, dataset: str) -> None:
        self.store = store
        self.dataset = dataset

    async def count(self, spec: MotifSpec, symmetries: Symmetries = ()) -> int:
        text, params = motif_query(spec, True, symmetries)
        recs = await self.store.read("motif_count", text, dataset=self.dataset, **params)
        return int(recs[0]["matches"])

    async def matches(
        self,
        spec: MotifSpec,
        after: Sequence[str] | None,
        limit: int,
        symmetries: Symmetries = (),
    ) -> list[list[str]]:
        """The first ``limit`` matches (after the match ``after``, if given) as neuron ids
        in ``spec.nodes`` order, sorted."""
        text, params = motif_query(spec, False, symmetries, after=after is not None)
        if after is not None:
            params["after"] = list(after)
        recs = await self.store.read(
            "motif_matches", text, dataset=self.dataset, limit=limit, **params
        )
        return [list(m) for m in recs[0]["matches"]] if recs else []
