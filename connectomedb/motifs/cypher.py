"""A checked motif (:class:`MotifSpec`) as one parameterised Cypher query over a dataset's
neurons. Motif variable names never reach the text (nodes become ``n0, n1, ...``),
property names come from the whitelists of :mod:`connectomedb.motifs.language`, values
are parameters. Matches are injective (distinct neurons), as in DotMotif's executors."""

from __future__ import annotations

from typing import Any

from connectomedb.motifs.language import OPERATORS, Constraint, MotifSpec
from connectomedb.schema.graph import CONNECTS_TO, NEURON


def _condition(target: str, c: Constraint, param: str) -> str:
    if c.op in ("in", "!in") and isinstance(c.value, str):
        # DotMotif's `x in "text"` for a string: the property is part of the text
        test = f"{param} CONTAINS {target}"
        return f"NOT {test}" if c.op == "!in" else test
    return OPERATORS[c.op].format(a=target, b=param)


def motif_query(spec: MotifSpec, count_only: bool) -> tuple[str, dict[str, Any]]:
    """(text, params) finding the motif among ``$dataset``'s neurons; with ``count_only``
    it returns ``count(*) AS matches``, otherwise the neuron ids ``v0, v1, ...`` (in
    ``spec.nodes`` order) sorted, one page per ``$skip`` / ``$limit``."""
    var = {name: f"n{i}" for i, name in enumerate(spec.nodes)}
    params: dict[str, Any] = {}

    def param(value: Any) -> str:
        key = f"p{len(params)}"
        params[key] = value
        return f"${key}"

    patterns, where = [], []
    in_pattern: set[str] = set()
    for i, e in enumerate(spec.edges):
        a, b = var[e.pre], var[e.post]
        if e.exists:
            patterns.append(f"({a})-[e{i}:{CONNECTS_TO}]->({b})")
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
            patterns.append(f"({v})")
        where = [f"{v}:{NEURON}", f"{v}.dataset = $dataset", f"{v}.id IS NOT NULL", *where]
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
    head = f"MATCH {', '.join(patterns)}\nWHERE {' AND '.join(where)}\n"
    if count_only:
        return head + "RETURN count(*) AS matches", params
    cols = ", ".join(f"{v}.id AS v{i}" for i, v in enumerate(names))
    order = ", ".join(f"v{i}" for i in range(len(names)))
    return head + f"RETURN {cols}\nORDER BY {order} SKIP $skip LIMIT $limit", params
