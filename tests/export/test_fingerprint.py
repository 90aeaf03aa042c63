"""The canonical fingerprint on hand-made rows: order, dataset id and int/float spelling
do not change it; content does; unsorted input is refused."""

from __future__ import annotations

import hashlib

import pytest

from connectomedb.errors import BadInput
from connectomedb.store.fingerprint import VERSION, Content, Fingerprint


def digest(cells: dict, chemical: dict, content: Content | None = None) -> str:
    fp = Fingerprint(content or Content(cells=("id", "name", "x"), connections=("weight",)))
    fp.add("cells", cells)
    fp.add("chemical", chemical)
    return fp.hexdigest()


CELLS = {"id": ["A", "B"], "name": ["a", None], "x": [1, 2.5]}
CHEM = {"pre": ["A", "B"], "post": ["B", "A"], "weight": [3, 0.5]}


def test_the_encoding_is_the_documented_one() -> None:
    expected = hashlib.sha256(
        (
            f"{VERSION}\n#cells\n"
            '[["id","A"],["name","a"],["x",1.0]]\n[["id","B"],["x",2.5]]\n'
            '#chemical\n[["pre","A"],["post","B"],["weight",3.0]]\n'
            '[["pre","B"],["post","A"],["weight",0.5]]\n#electrical\n#synapses\n'
        ).encode()
    ).hexdigest()
    assert digest(CELLS, CHEM) == expected


def test_a_changed_weight_or_property_changes_it() -> None:
    base = digest(CELLS, CHEM)
    assert digest(CELLS, {**CHEM, "weight": [4, 0.5]}) != base
    assert digest({**CELLS, "name": ["a", "b"]}, CHEM) != base
    # a property left out of the content does not count
    assert digest({**CELLS, "name": ["z", "b"]}, CHEM, Content(cells=("id",), connections=())) == (
        digest(CELLS, CHEM, Content(cells=("id",), connections=()))
    )


def test_unsorted_rows_are_refused() -> None:
    with pytest.raises(BadInput, match="out of order"):
        digest({"id": ["B", "A"], "name": [None, None], "x": [None, None]}, CHEM)
    fp = Fingerprint(Content(connections=("weight",)))
    with pytest.raises(BadInput, match="pre <= post"):
        fp.add("electrical", {"pre": ["B"], "post": ["A"], "synapse_count": [1], "weight": [1]})
