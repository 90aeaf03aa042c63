"""Annotations: who said what about a cell, when. Never overwritten: a newer annotation
with the same key supersedes the current one, and the history stays readable."""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

from connectomedb.errors import BadInput, NotFound
from connectomedb.store.graphdb import Store

_KEY_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.:\-]{0,63}$")
MAX_VALUE_LENGTH: Final = 10_000

#: Step 1 takes the cell's write lock (a counter on the cell), so concurrent annotations
#: of one cell run one after the other and each sees the one before as current.
LOCK_CELL: Final = """
MATCH (n:Cell {dataset: $dataset, id: $neuron})
SET n.annotation_seq = coalesce(n.annotation_seq, 0) + 1
RETURN n.annotation_seq AS seq
"""

ANNOTATE: Final = """
MATCH (n:Cell {dataset: $dataset, id: $neuron})
OPTIONAL MATCH (old:Annotation {key: $key})-[:ANNOTATES]->(n)
WHERE old.superseded_by IS NULL
WITH n, collect(old) AS olds
CREATE (a:Annotation {id: $id, dataset: $dataset, neuron: $neuron, key: $key, value: $value,
                      author: $author, created_at: datetime(), seq: n.annotation_seq})-[:ANNOTATES]->(n)
FOREACH (o IN olds | SET o.superseded_by = $id, o.superseded_at = a.created_at)
RETURN a {.*} AS a
"""

ANNOTATIONS: Final = """
UNWIND $ids AS nid
MATCH (n:Cell {dataset: $dataset, id: nid})
RETURN nid, [(a:Annotation)-[:ANNOTATES]->(n) WHERE $history OR a.superseded_by IS NULL
             | a {.*}] AS annotations
"""


def check_annotation(key: str, value: str) -> None:
    if not _KEY_RE.match(key):
        raise BadInput(
            f"annotation key {key!r} is not valid: a letter, then letters, digits, "
            "'_', '.', ':', '-' (max 64)"
        )
    if len(value) > MAX_VALUE_LENGTH:
        raise BadInput(f"annotation value is longer than {MAX_VALUE_LENGTH} characters")


def _native(a: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to_native() if hasattr(v, "to_native") else v for k, v in a.items()}


class AnnotationRepository:
    def __init__(self, store: Store, dataset: str) -> None:
        self.store = store
        self.dataset = dataset

    async def annotate(self, neuron: str, key: str, value: str, author: str) -> dict[str, Any]:
        check_annotation(key, value)
        params = {"dataset": self.dataset, "neuron": neuron}
        lock, created = await self.store.write_tx(
            "annotate",
            [
                (LOCK_CELL, params),
                (
                    ANNOTATE,
                    {
                        **params,
                        "id": str(uuid.uuid4()),
                        "key": key,
                        "value": value,
                        "author": author,
                    },
                ),
            ],
        )
        if not lock:
            raise NotFound(f"neuron {neuron!r} not found in dataset {self.dataset!r}")
        return _native(created[0]["a"])

    async def of(self, ids: list[str], history: bool) -> dict[str, list[dict[str, Any]]]:
        recs = await self.store.read(
            "annotations", ANNOTATIONS, dataset=self.dataset, ids=ids, history=history
        )
        return {
            r["nid"]: sorted(map(_native, r["annotations"]), key=lambda a: (a["key"], a["seq"]))
            for r in recs
        }
