"""Motif text in the DotMotif language, parsed by the ``dotmotif`` package's parser and
checked here into a :class:`~connectomedb.schema.motif.MotifSpec` that holds only
whitelisted property names; and a motif's automorphisms.

Edges ``A -> B``, negative edges ``A !> B``, edge constraints
``A -> B [synapse_count >= 3]``, node constraints ``A.type = "AVA"`` and
``A.class in ["sensory"]``, comparisons between nodes ``A.type != B.type``. DotMotif's
grammar takes no underscore in an edge attribute name, so edge attribute names are
quoted before parsing and unquoted after.
"""

from __future__ import annotations

import ast
import itertools
import re
from typing import Any, Final

from connectomedb.errors import BadInput
from connectomedb.schema.motif import (
    EDGE_PROPERTIES,
    NODE_PROPERTIES,
    OPERATORS,
    Comparison,
    Constraint,
    MotifEdge,
    MotifSpec,
)

MAX_MOTIF_NODES: Final = 8
MAX_MOTIF_TEXT: Final = 5_000

_LIST_AFTER_IN: Final = re.compile(r"(!?in)\s*(\[[^\[\]]*\])")
_EDGE_MACRO: Final = re.compile(r"\[([^\[\]]*)\]")
_KEY_BEFORE_OP: Final = re.compile(
    r"(^|,)(\s*)([A-Za-z_][A-Za-z0-9_]*)(?=\s*(?:>=|<=|!=|==|=|>|<|!in\b|in\b|!contains\b|contains\b))"
)


def _lift_lists(text: str) -> tuple[str, dict[str, list[Any]]]:
    """``in [a, b]`` is not in DotMotif's grammar: each list becomes a placeholder string
    for the parser and comes back as a list afterwards (read as literals, never code)."""
    lists: dict[str, list[Any]] = {}

    def lift(m: re.Match[str]) -> str:
        try:
            value = ast.literal_eval(m[2])
        except (ValueError, SyntaxError) as e:
            raise BadInput(f"list {m[2]!r} is not a list of strings and numbers") from e
        key = f"\u2063list{len(lists)}\u2063"
        lists[key] = _value(value)
        return f'{m[1]} "{key}"'

    return _LIST_AFTER_IN.sub(lift, text), lists


def _quote_edge_keys(text: str) -> str:
    def fix(m: re.Match[str]) -> str:
        return "[" + _KEY_BEFORE_OP.sub(lambda k: f'{k[1]}{k[2]}"{k[3]}"', m[1]) + "]"

    return _EDGE_MACRO.sub(fix, text)


def _op(op: str) -> str:
    if op not in OPERATORS:
        raise BadInput(f"operator {op!r} is not supported (use one of {', '.join(OPERATORS)})")
    return op


def _value(v: Any) -> Any:
    if isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, list | tuple) and all(isinstance(x, str | int | float | bool) for x in v):
        return list(v)
    raise BadInput(f"constraint value {v!r} must be a string, a number or a list of them")


def _constraints(
    raw: dict[str, dict[str, list[Any]]],
    allowed: dict[str, str],
    what: str,
    lists: dict[str, list[Any]],
) -> tuple[Constraint, ...]:
    out = []
    for key, ops in raw.items():
        name = key.strip('"')
        if name not in allowed:
            raise BadInput(
                f"unknown {what} property {name!r} (known: {', '.join(sorted(allowed))})"
            )
        for op, values in ops.items():
            out += [
                Constraint(
                    allowed[name], _op(op), _value(lists.get(v, v) if isinstance(v, str) else v)
                )
                for v in values
            ]
    return tuple(out)


def parse_motif(text: str) -> MotifSpec:
    """Parse and check motif text; any problem is a BadInput naming it."""
    from dotmotif import Motif

    if len(text) > MAX_MOTIF_TEXT:
        raise BadInput(f"motif text is longer than {MAX_MOTIF_TEXT} characters")
    lifted, lists = _lift_lists(text)
    try:
        motif = Motif(_quote_edge_keys(lifted))
    except Exception as e:  # the parser raises lark and its own errors
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BadInput(f"motif text does not parse: {first}") from e
    if motif.list_dynamic_edge_constraints():
        raise BadInput("comparisons between edges are not supported")
    g = motif.to_nx()
    nodes = tuple(sorted(g.nodes))
    if not 1 <= len(nodes) <= MAX_MOTIF_NODES:
        raise BadInput(f"a motif has 1 to {MAX_MOTIF_NODES} nodes")
    edges = tuple(
        MotifEdge(
            str(a),
            str(b),
            bool(d.get("exists", True)),
            _constraints(d.get("constraints") or {}, EDGE_PROPERTIES, "edge", lists),
        )
        for a, b, d in sorted(g.edges(data=True), key=lambda e: (str(e[0]), str(e[1])))
    )
    if not any(e.exists for e in edges):
        raise BadInput("a motif needs at least one edge that exists (A -> B)")
    node_constraints = {
        str(n): _constraints(c, NODE_PROPERTIES, "node", lists)
        for n, c in motif.list_node_constraints().items()
    }
    comparisons: dict[str, tuple[Comparison, ...]] = {}
    for n, c in motif.list_dynamic_node_constraints().items():
        items = []
        for key, ops in c.items():
            if key not in NODE_PROPERTIES:
                raise BadInput(f"unknown node property {key!r}")
            for op, targets in ops.items():
                for other, other_key in targets:
                    if other_key not in NODE_PROPERTIES:
                        raise BadInput(f"unknown node property {other_key!r}")
                    if other not in g.nodes:
                        raise BadInput(f"{other!r} is not a node of the motif")
                    items.append(
                        Comparison(
                            NODE_PROPERTIES[key], _op(op), str(other), NODE_PROPERTIES[other_key]
                        )
                    )
        comparisons[str(n)] = tuple(items)
    for n in (*node_constraints, *comparisons):
        if n not in g.nodes:
            raise BadInput(f"{n!r} is constrained but takes part in no edge")
    return MotifSpec(nodes, edges, node_constraints, comparisons)


_MIRRORED: Final = {"=": "=", "==": "=", "!=": "!=", ">": "<", "<": ">", ">=": "<=", "<=": ">="}


def _key(c: Constraint) -> tuple[str, str, str]:
    return (c.prop, "=" if c.op == "==" else c.op, repr(c.value))


def automorphisms(spec: MotifSpec) -> list[tuple[int, ...]]:
    """The relabellings of the motif's nodes (``p[i]``: the index in ``spec.nodes`` that
    node ``i`` goes to) other than the identity that map the motif onto itself: edges and
    negative edges with their constraints, node constraints and comparisons between nodes
    (read both ways: ``A.x > B.x`` is ``B.x < A.x``). For each of them, a match ``M`` and
    ``M`` relabelled by it are the same neurons in the same circuit, so excluding
    automorphisms keeps one match per such group."""
    ix = {n: i for i, n in enumerate(spec.nodes)}
    k = len(spec.nodes)
    node_keys = [sorted(map(_key, spec.node_constraints.get(n, ()))) for n in spec.nodes]

    def edges(p: tuple[int, ...]) -> set[tuple[int, int, bool, tuple[Any, ...]]]:
        return {
            (p[ix[e.pre]], p[ix[e.post]], e.exists, tuple(sorted(map(_key, e.constraints))))
            for e in spec.edges
        }

    def comparisons(p: tuple[int, ...]) -> set[tuple[Any, ...]]:
        out = set()
        for n, cs in spec.comparisons.items():
            for c in cs:
                a, b = (p[ix[n]], c.prop), (p[ix[c.other]], c.other_prop)
                op = "=" if c.op == "==" else c.op
                if op in _MIRRORED and b < a:  # one spelling for A.x op B.y and its mirror
                    a, b, op = b, a, _MIRRORED[op]
                out.add((a, op, b))
        return out

    identity = tuple(range(k))
    want_edges, want_comparisons = edges(identity), comparisons(identity)
    return [
        p
        for p in itertools.permutations(range(k))
        if p != identity
        and all(node_keys[i] == node_keys[p[i]] for i in range(k))
        and edges(p) == want_edges
        and comparisons(p) == want_comparisons
    ]
