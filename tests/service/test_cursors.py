"""Opaque page cursors in ``connectomedb.service.types`` (no server, no database)."""

from __future__ import annotations

import pytest

from connectomedb.errors import BadInput
from connectomedb.service.types import decode_cursor, decode_offset, encode_cursor

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
