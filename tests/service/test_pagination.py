"""Cursors, page sizes and the generic connection of ``connectomedb.service.pagination``
(no server, no database)."""

from __future__ import annotations

import asyncio
import base64

import pytest
import strawberry

from connectomedb.errors import BadInput
from connectomedb.service.pagination import (
    Connection,
    Keyset,
    OffsetPage,
    decode_cursor,
    decode_key,
    decode_offset,
    decode_pair,
    encode_cursor,
    encode_key,
    encode_pair,
    page_size,
)
from connectomedb.settings import Settings

# -- encode_cursor: url-safe base64 of "<kind>:<value>", worked out by hand ------------------


def test_encode_cursor_known_values() -> None:
    assert encode_cursor("o", 4) == "bzo0"  # b"o:4"
    assert encode_cursor("n", "AVAL") == "bjpBVkFM"  # b"n:AVAL"
    assert encode_cursor("o", 10) == "bzoxMA=="  # b"o:10"


def test_encode_cursor_is_url_safe() -> None:
    # b"n:??>" has the 6-bit group 63, "/" in standard base64 and "_" here.
    c = encode_cursor("n", "??>")
    assert "+" not in c and "/" not in c
    assert c == "bjo_Pz4="


# -- decode_cursor ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["AVAL", "", "a:b:c", "ñ-名前", "x" * 300, "  spaced  "])
def test_cursor_round_trip_strings(value: str) -> None:
    assert decode_cursor("n", encode_cursor("n", value)) == value


@pytest.mark.parametrize("value", [0, 1, 42, 10**12])
def test_cursor_round_trip_ints_come_back_as_text(value: int) -> None:
    assert decode_cursor("o", encode_cursor("o", value)) == str(value)


def test_decode_cursor_hand_written() -> None:
    assert decode_cursor("n", "bjpBVkFM") == "AVAL"
    assert decode_cursor("o", "bzoxMA==") == "10"


def test_decode_cursor_none_is_none() -> None:
    assert decode_cursor("n", None) is None
    assert decode_cursor("o", None) is None


@pytest.mark.parametrize(
    ("kind", "cursor"),
    [
        ("n", "bzo0"),  # an "o" cursor offered to an "n" list
        ("o", "bjpBVkFM"),  # an "n" cursor offered to an "o" list
        ("on", "bzo0"),  # prefix must match exactly
        ("O", "bzo0"),  # and case-sensitively
        ("o", "bw=="),  # b"o": no separator
        ("o", "OjQ="),  # b":4": empty kind
        ("o", ""),  # empty cursor decodes to empty text
    ],
)
def test_decode_cursor_wrong_kind(kind: str, cursor: str) -> None:
    with pytest.raises(BadInput, match="does not belong to this list"):
        decode_cursor(kind, cursor)


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",  # bad padding
        "a",
        "_w==",  # b"\xff": not UTF-8
        "gA==",  # b"\x80": not UTF-8
    ],
)
def test_decode_cursor_garbage_is_malformed(cursor: str) -> None:
    with pytest.raises(BadInput, match="malformed cursor"):
        decode_cursor("o", cursor)


@pytest.mark.parametrize("cursor", ["!!!", "%%%%", "éé", "not a cursor at all"])
def test_decode_cursor_garbage_raises_bad_input(cursor: str) -> None:
    with pytest.raises(BadInput):
        decode_cursor("o", cursor)


# -- decode_offset ------------------------------------------------------------------------------


def test_decode_offset_none_is_zero() -> None:
    assert decode_offset(None) == 0


def test_decode_offset_is_one_past_the_cursor() -> None:
    assert decode_offset(encode_cursor("o", 4)) == 5
    assert decode_offset("bzo0") == 5
    assert decode_offset(encode_cursor("o", 0)) == 1
    assert decode_offset("bzoxMA==") == 11


@pytest.mark.parametrize("value", ["", "-1", "1.5", " 3", "3 ", "+3", "0x10", "abc", "1e3"])
def test_decode_offset_rejects_non_digits(value: str) -> None:
    with pytest.raises(BadInput, match="malformed cursor"):
        decode_offset(encode_cursor("o", value))


def test_decode_offset_rejects_other_kinds() -> None:
    with pytest.raises(BadInput, match="does not belong to this list"):
        decode_offset(encode_cursor("n", "4"))


@pytest.mark.parametrize("garbage", ["abc", "_w==", "!!!"])
def test_decode_offset_rejects_garbage(garbage: str) -> None:
    with pytest.raises(BadInput):
        decode_offset(garbage)


def test_decode_offset_rejects_superscript_digit() -> None:
    with pytest.raises(BadInput):
        decode_offset(encode_cursor("o", "²"))


# -- page sizes -------------------------------------------------------------------------------


def test_page_size_allows_zero_to_the_limit() -> None:
    settings = Settings(max_page_size=5)
    assert page_size(settings, 0) == 0
    assert page_size(settings, 5) == 5
    for first in (-1, 6):
        with pytest.raises(BadInput, match="first must be between 0 and 5"):
            page_size(settings, first)


# -- the generic connection over an offset list -----------------------------------------------

LETTERS = ["a", "b", "c"]


def _fetch(page: OffsetPage) -> list[str]:
    """What a store query with SKIP page.skip LIMIT page.limit returns."""
    return LETTERS[page.skip : page.skip + page.limit]


def test_offset_page_walks_a_tiny_list() -> None:
    settings = Settings(max_page_size=10)
    first = OffsetPage.of(settings, 2, None)
    assert (first.skip, first.limit) == (0, 3)
    c1 = first.connection(_fetch(first), str.upper)
    assert [(e.cursor, e.node) for e in c1.edges] == [("bzow", "A"), ("bzox", "B")]  # o:0, o:1
    assert c1.page_info.has_next_page is True
    assert c1.page_info.end_cursor == "bzox"

    second = OffsetPage.of(settings, 2, c1.page_info.end_cursor)
    assert second.skip == 2
    c2 = second.connection(_fetch(second), str.upper)
    assert [(e.cursor, e.node) for e in c2.edges] == [("bzoy", "C")]  # o:2
    assert c2.page_info.has_next_page is False
    assert c2.page_info.end_cursor == "bzoy"


def test_offset_page_that_ends_exactly_has_no_next_page() -> None:
    page = OffsetPage.of(Settings(max_page_size=10), 3, None)
    c = page.connection(_fetch(page), str.upper)
    assert [e.node for e in c.edges] == ["A", "B", "C"]
    assert c.page_info.has_next_page is False


def test_empty_offset_page_has_no_end_cursor() -> None:
    page = OffsetPage.of(Settings(max_page_size=10), 0, None)
    c = page.connection(_fetch(page), str.upper)
    assert c.edges == []
    assert c.page_info.has_next_page is True  # rows remain after an empty page
    assert c.page_info.end_cursor is None


@strawberry.type
class Letter:
    name: str


@strawberry.type
class Query:
    @strawberry.field
    def letters(self, first: int, after: str | None = None) -> Connection[Letter]:
        page = OffsetPage.of(Settings(max_page_size=10), first, after)
        return page.connection(_fetch(page), lambda s: Letter(name=s))


def test_connection_specialisations_are_named_after_their_node() -> None:
    sdl = strawberry.Schema(query=Query).as_str()
    assert "type LetterConnection {\n  edges: [LetterEdge!]!\n  pageInfo: PageInfo!\n}" in sdl
    assert "type LetterEdge {\n  cursor: String!\n  node: Letter!\n}" in sdl


def test_connection_pages_through_graphql() -> None:
    schema = strawberry.Schema(query=Query)
    q = """query($after: String) { letters(first: 2, after: $after) {
        edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }"""
    seen, after, pages = [], None, 0
    while True:
        r = asyncio.run(schema.execute(q, variable_values={"after": after}))
        assert r.errors is None, r.errors
        assert r.data is not None
        page = r.data["letters"]
        seen += [e["node"]["name"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["a", "b", "c"] and pages == 2


def test_pair_cursors() -> None:
    assert decode_pair(None) == ("", "")
    c = encode_pair("AVAL", 'ÅB,"x"')
    assert base64.urlsafe_b64decode(c).decode() == 'p:["AVAL", "\\u00c5B,\\"x\\""]'
    assert decode_pair(c) == ("AVAL", 'ÅB,"x"')
    for raw in ('p:["a"]', "p:[1, 2]", "p:{}", "p:nope", 'o:["a", "b"]'):
        with pytest.raises(BadInput):
            decode_pair(base64.urlsafe_b64encode(raw.encode()).decode())


# -- keyset cursors: the JSON list of the last row's sort key after the kind ------------------


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


def test_encode_key_known_values() -> None:
    assert base64.urlsafe_b64decode(encode_key("u", (4, "AVAL"))).decode() == 'u:[4, "AVAL"]'
    assert encode_key("u", (4, "AVAL")) == _b64('u:[4, "AVAL"]') == "dTpbNCwgIkFWQUwiXQ=="
    assert encode_key("sd", ("s1",)) == _b64('sd:["s1"]')


def test_decode_key_round_trip() -> None:
    for key in [(0, ""), (7, 'x"y,]'), (2**63 - 1, "ñ"), (-3, "a")]:
        assert decode_key("u", encode_key("u", key), (int, str)) == key
    assert decode_key("u", None, (int, str)) is None


@pytest.mark.parametrize(
    "raw",
    [
        'u:["4", "AVAL"]',  # a count as text
        'u:[true, "AVAL"]',  # a bool is no count
        'u:[4.0, "AVAL"]',
        "u:[4, 5]",
        "u:[4]",
        'u:[4, "AVAL", 1]',
        'u:{"count": 4}',
        'u:[9223372036854775808, "AVAL"]',  # one past Neo4j's largest integer
        'u:[4, "AVAL"',
        "u:",
        "u:null",
    ],
)
def test_decode_key_malformed(raw: str) -> None:
    with pytest.raises(BadInput, match="malformed cursor"):
        decode_key("u", _b64(raw), (int, str))


def test_decode_key_foreign_kind() -> None:
    for raw in ('d:[4, "AVAL"]', 'p:["a", "b"]', "o:4", "n:AVAL", 'uu:[4, "AVAL"]'):
        with pytest.raises(BadInput, match="does not belong to this list"):
            decode_key("u", _b64(raw), (int, str))


def test_keyset_page_walks_a_tiny_list_with_ties() -> None:
    """Rows (count, name) strongest first, ties by name; the store's part (seeking past
    the key) is done here by hand."""
    rows = [(5, "b"), (3, "a"), (3, "c"), (3, "d"), (1, "a")]
    ks = Keyset("t", (int, str))
    settings = Settings(max_page_size=10)

    def fetch(after: tuple | None, limit: int) -> list[tuple[int, str]]:
        rest = [r for r in rows if after is None or (-r[0], r[1]) > (-after[0], after[1])]
        return rest[:limit]

    seen, after, pages = [], None, 0
    while True:
        page = ks.page(settings, 2, after)
        c = page.connection(fetch(page.after, page.limit), lambda r: r, lambda r: r[1])
        seen += [e.node for e in c.edges]
        pages += 1
        assert c.page_info.end_cursor == (c.edges[-1].cursor if c.edges else None)
        if not c.page_info.has_next_page:
            break
        after = c.page_info.end_cursor
    assert seen == ["b", "a", "c", "d", "a"] and pages == 3
    assert ks.page(settings, 2, ks.cursor((3, "c"))).after == (3, "c")
    with pytest.raises(BadInput, match="first must be between 0 and 10"):
        ks.page(settings, 11, None)
