"""Relay pagination: opaque cursors, page sizes and one generic ``Connection``/``Edge``.

Lists are paged two ways. Keyset lists (neurons, connections, partners, gap junctions,
synapses) carry the sort key of the last row in the cursor and the query seeks past it,
so a deep page costs what the first does. Offset lists (jobs, model runs, responses, ...)
carry the offset of the last row. Both fetch one row more than the page, which only says
whether another page follows."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import strawberry

from connectomedb.errors import BadInput
from connectomedb.settings import Settings

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")
EdgeT = TypeVar("EdgeT")

#: The kind of offset cursors (keyset lists name their own kind).
OFFSET = "o"
#: The kind of neuron cursors: a keyset on the neuron id, which follows the kind as is.
NEURON = "n"


def encode_cursor(kind: str, value: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"malformed cursor {cursor!r}") from e
    prefix, sep, value = raw.partition(":")
    if prefix != kind or not sep:
        raise BadInput(f"cursor {cursor!r} does not belong to this list")
    return value


def decode_offset(cursor: str | None) -> int:
    """The first row after an offset cursor (0 without one)."""
    v = decode_cursor(OFFSET, cursor)
    if v is None:
        return 0
    if not (v.isascii() and v.isdigit()) or len(v) > 12:
        raise BadInput(f"malformed cursor {cursor!r}")
    return int(v) + 1


#: The largest integer a key may hold: Neo4j's integers are 64-bit.
_MAX_INT: Final = 2**63 - 1


def encode_key(kind: str, key: Sequence[str | int]) -> str:
    """A keyset cursor after the row whose sort key is ``key``."""
    return encode_cursor(kind, json.dumps(list(key)))


def decode_key(
    kind: str, cursor: str | None, types: tuple[type[str] | type[int], ...]
) -> tuple[Any, ...] | None:
    """The sort key a keyset cursor continues after (None: the start), checked against the
    types of the list's key, one per part."""
    v = decode_cursor(kind, cursor)
    if v is None:
        return None
    try:
        key = json.loads(v)
    except ValueError:
        key = None
    if not (isinstance(key, list) and len(key) == len(types)):
        raise BadInput(f"malformed cursor {cursor!r}")
    for part, t in zip(key, types, strict=True):
        # bool is an int to Python, and JSON would let any size of integer through
        if type(part) is not t or (isinstance(part, int) and abs(part) > _MAX_INT):
            raise BadInput(f"malformed cursor {cursor!r}")
    return tuple(key)


#: The kind of (pre, post) keyset cursors: connections and adjacency.
PAIR = "p"


def encode_pair(pre: str, post: str) -> str:
    """A keyset cursor after the connection ``pre -> post``."""
    return encode_key(PAIR, (pre, post))


def decode_pair(cursor: str | None) -> tuple[str, str]:
    """The (pre, post) pair a keyset cursor continues after (``("", "")``: the start)."""
    key = decode_key(PAIR, cursor, (str, str))
    return ("", "") if key is None else (key[0], key[1])


def page_size(settings: Settings, first: int) -> int:
    """``first``, if it is a page size the server allows (GraphQL and /rest alike)."""
    if not 0 <= first <= settings.max_page_size:
        raise BadInput(f"first must be between 0 and {settings.max_page_size}")
    return first


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, edges: Sequence[Any], more: bool) -> PageInfo:
        """The page info of a list of edges (each with a ``cursor``)."""
        return cls(has_next_page=more, end_cursor=edges[-1].cursor if edges else None)


@strawberry.type
class Edge(Generic[NodeT]):
    """GraphQL names each specialisation after its node: ``Edge[Job]`` is ``JobEdge``."""

    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    """A Relay connection; ``Connection[Job]`` is ``JobConnection`` in the schema."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo


@dataclass(frozen=True)
class OffsetPage:
    """One page of an offset list: ``size`` rows after the first ``skip``."""

    skip: int
    size: int

    @classmethod
    def of(cls, settings: Settings, first: int, after: str | None) -> OffsetPage:
        return cls(skip=decode_offset(after), size=page_size(settings, first))

    @property
    def limit(self) -> int:
        """Rows to fetch: the page and one more, which says that another page follows."""
        return self.size + 1

    def edges(
        self, rows: Sequence[RowT], edge: Callable[[str, RowT], EdgeT]
    ) -> tuple[list[EdgeT], PageInfo]:
        """Edges built by ``edge(cursor, row)`` from up to :attr:`limit` fetched rows."""
        edges = [
            edge(encode_cursor(OFFSET, self.skip + i), r) for i, r in enumerate(rows[: self.size])
        ]
        return edges, PageInfo.of(edges, len(rows) > self.size)

    def connection(self, rows: Sequence[RowT], node: Callable[[RowT], NodeT]) -> Connection[NodeT]:
        """The connection whose edges hold ``node(row)`` for each row of the page."""
        edges, page_info = self.edges(rows, lambda c, r: Edge(cursor=c, node=node(r)))
        return Connection(edges=edges, page_info=page_info)


@dataclass(frozen=True)
class Keyset:
    """A keyset-paged list: its cursor kind and the type of each part of its sort key.

    A cursor of one list offered to another is refused (its kind differs), even where
    the keys have the same shape."""

    kind: str
    types: tuple[type[str] | type[int], ...]

    def cursor(self, key: Sequence[str | int]) -> str:
        """The cursor after the row whose sort key is ``key``."""
        return encode_key(self.kind, key)

    def page(self, settings: Settings, first: int, after: str | None) -> KeysetPage:
        return KeysetPage(
            keyset=self,
            after=decode_key(self.kind, after, self.types),
            size=page_size(settings, first),
        )


@dataclass(frozen=True)
class KeysetPage:
    """One page of a keyset list: ``size`` rows after the row whose sort key is ``after``
    (None: from the first row)."""

    keyset: Keyset
    after: tuple[Any, ...] | None
    size: int

    @property
    def limit(self) -> int:
        """Rows to fetch: the page and one more, which says that another page follows."""
        return self.size + 1

    def edges(
        self,
        rows: Sequence[RowT],
        key: Callable[[RowT], Sequence[str | int]],
        edge: Callable[[str, RowT], EdgeT],
    ) -> tuple[list[EdgeT], PageInfo]:
        """Edges built by ``edge(cursor, row)`` from up to :attr:`limit` fetched rows; each
        cursor holds ``key(row)``."""
        edges = [edge(self.keyset.cursor(key(r)), r) for r in rows[: self.size]]
        return edges, PageInfo.of(edges, len(rows) > self.size)

    def connection(
        self,
        rows: Sequence[RowT],
        key: Callable[[RowT], Sequence[str | int]],
        node: Callable[[RowT], NodeT],
    ) -> Connection[NodeT]:
        """The connection whose edges hold ``node(row)`` for each row of the page."""
        edges, page_info = self.edges(rows, key, lambda c, r: Edge(cursor=c, node=node(r)))
        return Connection(edges=edges, page_info=page_info)
