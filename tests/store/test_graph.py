"""The graph reader: its pure parts exactly, and reads of a tiny hand-made dataset against
a hand count (real Neo4j)."""

from __future__ import annotations

from connectomedb.schema.graph import LEVELS
from connectomedb.store.graph import PACK, TOTALS, assemble


def testassemble_maps_internal_ids_and_drops_targets_outside() -> None:
    """Two edge parts; node keys 70, 10, 40 are neurons a, b, c (in id order); 99 is a
    target outside the selection; a source the node query did not see means the dataset
    changed between the queries."""
    cols = {p: ["", "x", ""] for p in LEVELS} | {t: [1, 2, 3] for t in TOTALS}
    nodes = {"key": [70, 10, 40], "id": ["a", "b", "c"], **cols}
    parts = [
        {"pair": [70 * PACK + 10, 70 * PACK + 99], "w": [5, 6]},
        {"pair": [40 * PACK + 70], "w": [7]},
    ]
    g = assemble("d", nodes, parts, None)
    assert g is not None and g.ids == ["a", "b", "c"]
    assert list(zip(g.pre.tolist(), g.post.tolist(), g.weight.tolist(), strict=True)) == [
        (0, 1, 5.0),
        (2, 0, 7.0),
    ]
    assert g.props["type"] == [None, "x", None] and g.props["in_degree"] == [1, 2, 3]
    stale = [{"pair": [55 * PACK + 10], "w": [1]}]
    assert assemble("d", nodes, stale, None) is None
