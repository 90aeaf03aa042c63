"""Relay pagination: opaque cursors, page sizes and one generic ``Connection``/``Edge``.

Lists are paged two ways. Keyset lists (neurons by id) carry the last key in the cursor,
so a deep page costs what the first does. Offset lists (partners, connections, jobs, ...)
carry the offset of the last row and fetch one row more than the page, which only says
whether another page follows."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry

from connectomedb.errors import BadInput
from connectomedb.settings import Settings

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")
EdgeT = TypeVar("EdgeT")

#: The kind of offset cursors (keyset lists name their own kind).
OFFSET = "o"


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


#: The kind of (pre, post) keyset cursors.
PAIR = "p"


def encode_pair(pre: str, post: str) -> str:
    """A keyset cursor after the connection ``pre -> post``."""
    return encode_cursor(PAIR, json.dumps([pre, post]))


def decode_pair(cursor: str | None) -> tuple[str, str]:
    """The (pre, post) pair a keyset cursor continues after (``("", "")``: the start)."""
    v = decode_cursor(PAIR, cursor)
    if v is None:
        return "", ""
    try:
        pair = json.loads(v)
    except ValueError:
        pair = None
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
        raise BadInput(f"malformed cursor {cursor!r}")
    return pair[0], pair[1]


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
