"""Motif symmetries counted by hand."""

from __future__ import annotations

import pytest

from connectomedb.motifs.language import automorphisms, parse_motif

#: motif text -> size of its symmetry group, counted by hand (identity included)
GROUPS = {
    "A -> B": 1,
    "A -> B\nB -> A": 2,  # swap
    "A -> B\nB -> C\nC -> A": 3,  # rotations
    "A -> B\nB -> C\nA -> C": 1,  # feed-forward loop
    "A -> B\nA -> C": 2,  # fan-out: swap B, C
    "A -> B [weight >= 3]\nA -> C": 1,  # a constraint on one branch breaks it
    "A -> B [weight >= 3]\nA -> C [weight >= 3]": 2,
    'A -> B\nA -> C\nB.class = "x"': 1,
    'A -> B\nA -> C\nB.class = "x"\nC.class = "x"': 2,
    "A -> B\nA -> C\nB.class != C.class": 2,  # reads the same both ways
    "A -> B\nA -> C\nB.in_degree > C.in_degree": 1,  # swapped it says C > B
    "A -> B\nB -> C\nC -> D\nD -> A": 4,  # rotations of a 4-cycle
    "A -> B\nB -> A\nB -> C\nC -> B\nA -> C\nC -> A": 6,  # all of S3
    "A -> B\nB -> C\nA !> C": 1,
    "A -> B\nA -> C\nB !> C\nC !> B": 2,
    "A -> B\nA -> C\nB !> C\nC !> B\nB -> A": 1,
    "A -> C\nB -> C\nA -> D\nB -> D": 4,  # swap A, B and swap C, D independently
}


@pytest.mark.parametrize(("text", "size"), GROUPS.items())
def test_symmetry_groups_counted_by_hand(text: str, size: int) -> None:
    autos = automorphisms(parse_motif(text))
    assert len(autos) + 1 == size
    assert len(set(autos)) == len(autos)
