"""The motif Cypher builder: the exclusion of symmetric matches it writes."""

from __future__ import annotations

from connectomedb.motifs.language import automorphisms, parse_motif
from connectomedb.store.motifs import motif_query


def test_exclusion_adds_one_ordering_per_symmetry() -> None:
    spec = parse_motif("A -> B\nB -> C\nC -> A")
    text, _ = motif_query(spec, count_only=True, symmetries=automorphisms(spec))
    assert "[n0.id, n1.id, n2.id] < [n1.id, n2.id, n0.id]" in text
    assert "[n0.id, n1.id, n2.id] < [n2.id, n0.id, n1.id]" in text
    plain, _ = motif_query(spec, count_only=True)
    assert "] < [" not in plain
